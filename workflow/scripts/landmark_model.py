"""Adapter: rule landmark_model -> emorepro.steps.features.landmark_model_step."""

from emorepro.runlog import job_log
from emorepro.steps.features import landmark_model_step

with job_log(snakemake.log[0]):
    landmark_model_step(snakemake.output.model, seed=snakemake.params.seed)
