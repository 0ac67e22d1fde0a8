"""Adapter: rule index_corpus -> emorepro.steps.data.index_step."""

from emorepro.runlog import job_log
from emorepro.steps.data import index_step

with job_log(snakemake.log[0]):
    index_step(snakemake.wildcards.corpus, snakemake.input.root, snakemake.output.index)
