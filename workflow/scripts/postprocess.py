"""Adapter: rule postprocess -> emorepro.pipeline.postprocess_step."""

from emorepro.pipeline import postprocess_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    postprocess_step(
        predictions=snakemake.input.predictions,
        metrics=snakemake.input.metrics,
        labels=snakemake.input.labels,
        sheet=snakemake.input.sheet,
        grid=snakemake.wildcards.grid,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
    )
