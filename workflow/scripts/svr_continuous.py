"""Adapter: rule svr_continuous -> emorepro.pipeline.svr_step."""

from emorepro.pipeline import svr_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    svr_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        frames=snakemake.input.frames,
        sheet=snakemake.input.sheet,
        sheet_meta=snakemake.input.sheet_meta,
        C_grid=snakemake.params.C_grid,
        epsilon=snakemake.params.epsilon,
        train_frame_step=snakemake.params.train_frame_step,
        window_s=snakemake.params.window_s,
        feature_set=snakemake.wildcards.feature_set,
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
    )
