"""Adapter: rule landmark_frames -> emorepro.features.landmark_frames.landmark_frames_step."""

from emorepro.features.landmark_frames import landmark_frames_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    landmark_frames_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.manifest,
        landmark_model=snakemake.input.model,
        cache_dir=snakemake.params.cache,
    )
