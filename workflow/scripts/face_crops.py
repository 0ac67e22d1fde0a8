"""Adapter: rule face_crops -> emorepro.pipeline.face_crops_step."""

from emorepro.pipeline import face_crops_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    face_crops_step(
        snakemake.wildcards.corpus,
        snakemake.input.root,
        snakemake.input.index,
        snakemake.output.manifest,
        kind=snakemake.wildcards.kind,
        cache_dir=snakemake.params.cache,
    )
