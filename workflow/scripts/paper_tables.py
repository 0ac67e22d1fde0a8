"""Adapter: rule paper_tables -> emorepro.reporting.paper_tables_step."""

from emorepro.reporting import paper_tables_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    paper_tables_step(
        snakemake.input.card,
        results_root=snakemake.params.results_root,
        available=[p for p in snakemake.input.results if p.endswith("metrics.json")],
        out_dir=snakemake.output.tables,
    )
