"""Adapter: rule confusion_figure -> emorepro.reporting.confusion_figure_step."""

from emorepro.reporting import confusion_figure_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    confusion_figure_step(snakemake.input.metrics, snakemake.output.png)
