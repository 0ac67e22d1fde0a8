"""Adapter: rule video_windowed -> emorepro.steps.features.video_windowed_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import video_windowed_step

with job_log(snakemake.log[0]):
    video_windowed_step(
        snakemake.input.descriptors,
        snakemake.input.sheet,
        snakemake.output.frames,
        kind=snakemake.wildcards.video_set,
        pca_dim=snakemake.params.pca_dim,
        window_s=snakemake.params.window_s,
    )
