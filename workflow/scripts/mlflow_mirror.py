"""Adapter: rule mlflow_mirror -> emorepro.pipeline.mirror_step."""

from emorepro.pipeline import mirror_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    mirror_step(
        list(snakemake.input.results),
        tracking_uri=snakemake.params.tracking_uri,
        done=snakemake.output.done,
    )
