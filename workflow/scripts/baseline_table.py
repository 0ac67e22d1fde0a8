"""Adapter: rule baseline_table -> emorepro.pipeline.baseline_table_step."""

from emorepro.pipeline import baseline_table_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    baseline_table_step(
        list(snakemake.input.results), out_md=snakemake.output.md, out_csv=snakemake.output.csv
    )
