"""Adapter: rule paper_tables -> emorepro.steps.reporting.paper_tables_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import paper_tables_step

with job_log(snakemake.log[0]):
    paper_tables_step(
        snakemake.input.card,
        results_root=snakemake.params.results_root,
        available=[p for p in snakemake.input.results if p.endswith("metrics.json")],
        out_dir=snakemake.output.tables,
    )
