"""Adapter: rule landmark_frames -> emorepro.steps.features.landmark_frames_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, landmark_frames_step

with job_log(snakemake.log[0]):
    landmark_frames_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.manifest,
        landmark_model=snakemake.input.model,
        threads=snakemake.threads,
    )
