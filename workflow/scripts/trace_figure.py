"""Adapter: rule trace_figure -> emorepro.reporting.trace_figure_step."""

from emorepro.reporting import trace_figure_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    trace_figure_step(snakemake.input.metrics, snakemake.input.predictions, snakemake.output.png)
