"""Adapter: rule functionals -> emorepro.steps.features.functionals_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import CorpusFiles, functionals_step

with job_log(snakemake.log[0]):
    functionals_step(
        CorpusFiles(
            snakemake.wildcards.corpus,
            snakemake.input.root,
            snakemake.input.index,
            snakemake.params.cache,
        ),
        snakemake.output.features,
        feature_set=snakemake.wildcards.feature_set,
    )
