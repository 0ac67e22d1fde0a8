"""Adapter: rule lld_frames -> emorepro.steps.features.lld_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, lld_step

with job_log(snakemake.log[0]):
    lld_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.frames,
        feature_set=snakemake.wildcards.audio_set,
    )
