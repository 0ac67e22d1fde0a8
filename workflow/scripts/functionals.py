"""Adapter: rule functionals -> emorepro.pipeline.functionals_step."""

from emorepro.pipeline import functionals_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    functionals_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.features,
        feature_set=snakemake.wildcards.feature_set,
        cache_dir=snakemake.params.cache,
    )
