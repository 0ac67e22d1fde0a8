"""Adapter: rule face_crops -> emorepro.steps.features.face_crops_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, face_crops_step

with job_log(snakemake.log[0]):
    face_crops_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.manifest,
        kind=snakemake.wildcards.kind,
        fps_out=snakemake.params.fps,
        threads=snakemake.threads,
    )
