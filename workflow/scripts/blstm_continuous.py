"""Adapter: rule blstm_continuous -> emorepro.pipeline.blstm_step."""

from emorepro.pipeline import blstm_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    blstm_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        frames=snakemake.input.frames,
        sheet=snakemake.input.sheet,
        sheet_meta=snakemake.input.sheet_meta,
        loss=snakemake.wildcards.loss,
        feature_set=snakemake.wildcards.audio_set,
        model=dict(snakemake.params.model),
        execution=dict(snakemake.params.execution),
        checkpoint=snakemake.params.checkpoint,
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
    )
