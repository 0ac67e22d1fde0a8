"""Adapter: rule index_corpus -> emorepro.pipeline.index_step."""

from emorepro.pipeline import index_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    index_step(snakemake.wildcards.corpus, snakemake.input.root, snakemake.output.index)
