"""Adapter: rule index_page -> emorepro.steps.reporting.index_page_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import index_page_step

with job_log(snakemake.log[0]):
    index_page_step(
        list(snakemake.input.cards),
        table_dirs=list(snakemake.input.tables),
        figures=list(snakemake.params.figures),
        results_root=snakemake.params.results_root,
        out_md=snakemake.output.md,
        other_tables=list(snakemake.input.other_tables),
    )
