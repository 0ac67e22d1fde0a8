"""Adapter: rule logmel_segments -> emorepro.pipeline.logmel_step."""

from emorepro.pipeline import logmel_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    logmel_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.manifest,
        length=int(snakemake.wildcards.length),
        cache_dir=snakemake.params.cache,
    )
