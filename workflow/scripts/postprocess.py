"""Adapter: rule postprocess -> emorepro.steps.postprocess.postprocess_step."""

from emorepro.runlog import job_log
from emorepro.steps.postprocess import postprocess_step

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
