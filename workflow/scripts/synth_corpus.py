"""Adapter: rule synth_corpus -> emorepro.steps.data.synth_step."""

from emorepro.runlog import job_log
from emorepro.steps.data import synth_step

with job_log(snakemake.log[0]):
    synth_step(
        snakemake.wildcards.corpus,
        snakemake.output.root,
        scale=snakemake.params.scale,
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
