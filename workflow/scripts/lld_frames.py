"""Adapter: rule lld_frames -> emorepro.pipeline.lld_step."""

from emorepro.pipeline import lld_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    lld_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.frames,
        feature_set=snakemake.wildcards.audio_set,
        cache_dir=snakemake.params.cache,
    )
