"""Adapter: rule mlflow_mirror -> emorepro.steps.reporting.mirror_step."""

from emorepro.runlog import job_log
from emorepro.steps.reporting import mirror_step

with job_log(snakemake.log[0]):
    mirror_step(
        list(snakemake.input.results),
        card_paths=list(snakemake.input.cards),
        tracking_uri=snakemake.params.tracking_uri,
        artifact_root=snakemake.params.artifact_root,
        done=snakemake.output.done,
    )
