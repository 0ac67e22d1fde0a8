"""Adapter: rule logmel_segments -> emorepro.steps.features.logmel_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, logmel_step

with job_log(snakemake.log[0]):
    logmel_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.manifest,
        length=int(snakemake.wildcards.length),
    )
