"""Adapter: rule windowed_functionals -> emorepro.steps.features.windowed_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, windowed_step

with job_log(snakemake.log[0]):
    windowed_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.frames,
        feature_set=snakemake.wildcards.audio_set,
        window_s=snakemake.params.window_s,
        hop_s=snakemake.params.hop_s,
        threads=snakemake.threads,
    )
