"""Adapter: rule tzirakis_speech -> emorepro.endtoend.speech_step."""

from emorepro.endtoend import speech_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    speech_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        root=snakemake.input.root,
        index_csv=snakemake.input.index,
        sheet=snakemake.input.sheet,
        sheet_meta=snakemake.input.sheet_meta,
        version=snakemake.wildcards.version,
        loss=snakemake.wildcards.loss,
        profile=snakemake.params.profile,
        settings=dict(snakemake.params.settings),
        execution=dict(snakemake.params.execution),
        checkpoint=snakemake.params.checkpoint,
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
    )
