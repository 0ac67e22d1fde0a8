"""Adapter: rule cross_corpus_table -> emorepro.steps.reporting.cross_corpus_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import cross_corpus_step

with job_log(snakemake.log[0]):
    cross_corpus_step(
        list(snakemake.input.results), out_md=snakemake.output.md, out_csv=snakemake.output.csv
    )
