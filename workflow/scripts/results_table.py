"""Adapter: rule results_table -> emorepro.steps.reporting.results_table_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import results_table_step

with job_log(snakemake.log[0]):
    results_table_step(
        list(snakemake.input.results), out_md=snakemake.output.md, out_csv=snakemake.output.csv
    )
