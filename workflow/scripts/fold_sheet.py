"""Adapter: rule fold_sheet -> emorepro.steps.data.fold_sheet_step (leakage gate)."""

from emorepro.runlog import job_log
from emorepro.steps.data import fold_sheet_step

with job_log(snakemake.log[0]):
    fold_sheet_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        snakemake.input.index,
        snakemake.output.sheet,
        snakemake.output.meta,
        seed=snakemake.params.seed,
        protocols=snakemake.params.protocols,
    )
