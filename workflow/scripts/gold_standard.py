"""Adapter: rule gold_standard -> emorepro.steps.data.gold_standard_step."""

from emorepro.runlog import job_log
from emorepro.steps.data import gold_standard_step

with job_log(snakemake.log[0]):
    gold_standard_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.labels,
    )
