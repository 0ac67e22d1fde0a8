"""Adapter: rule synth_corpus -> emorepro.pipeline.synth_step."""

from emorepro.pipeline import synth_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    synth_step(
        snakemake.wildcards.corpus,
        snakemake.output.root,
        scale=snakemake.params.scale,
        seed=snakemake.params.seed,
    )
