"""Adapter: rule experiment -> emorepro.steps.experiment.experiment_step."""

from pathlib import Path

from emorepro.plan import ResultKey
from emorepro.runlog import job_log
from emorepro.steps.experiment import JobParams, experiment_step

w = snakemake.wildcards
with job_log(snakemake.log[0]):
    experiment_step(
        ResultKey(w.family, w.name, w.corpus, w.protocol),
        dict(snakemake.input.items()),
        JobParams(**dict(snakemake.params.items())),
        Path(snakemake.output.metrics).parent,
    )
