"""Adapter: rule video_descriptors -> emorepro.pipeline.video_descriptors_step."""

from emorepro.pipeline import video_descriptors_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    video_descriptors_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.descriptors,
        landmark_model=snakemake.input.model,
        window_s=snakemake.params.window_s,
        cache_dir=snakemake.params.cache,
    )
