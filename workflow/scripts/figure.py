"""Adapter: rule figures -> emorepro.steps.reporting.figures_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import figures_step

with job_log(snakemake.log[0]):
    figures_step(snakemake.params.figures, snakemake.output.figures)
