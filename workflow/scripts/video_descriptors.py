"""Adapter: rule video_descriptors -> emorepro.steps.features.video_descriptors_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, video_descriptors_step

with job_log(snakemake.log[0]):
    video_descriptors_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.descriptors,
        landmark_model=snakemake.input.model,
        window_s=snakemake.params.window_s,
        threads=snakemake.threads,
    )
