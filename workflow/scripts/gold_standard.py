"""Adapter: rule gold_standard -> emorepro.pipeline.gold_standard_step."""

from emorepro.pipeline import gold_standard_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    gold_standard_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.labels,
    )
