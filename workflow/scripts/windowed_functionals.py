"""Adapter: rule windowed_functionals -> emorepro.pipeline.windowed_step."""

from emorepro.pipeline import windowed_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    windowed_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.frames,
        feature_set=snakemake.wildcards.audio_set,
        window_s=snakemake.params.window_s,
        hop_s=snakemake.params.hop_s,
        cache_dir=snakemake.params.cache,
    )
