"""Adapter: rule landmark_model -> emorepro.pipeline.landmark_model_step."""

from emorepro.pipeline import landmark_model_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    landmark_model_step(snakemake.output.model, seed=snakemake.params.seed)
