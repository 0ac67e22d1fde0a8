"""File-level steps: what each Snakemake rule does, callable without Snakemake."""
