"""Adapter: rules confusion_figure, trace_figure, family_figure -> emorepro.steps.reporting."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import figure_step

with job_log(snakemake.log[0]):
    figure_step(
        snakemake.params.kind,
        snakemake.input.metrics,
        snakemake.input.predictions,
        snakemake.output.png,
    )
