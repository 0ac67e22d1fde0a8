"""Adapter: rule tzirakis_e2e -> emorepro.endtoend.e2e_step."""

from emorepro.endtoend import e2e_step
from emorepro.runlog import job_log

inputs = snakemake.input
with job_log(snakemake.log[0]):
    e2e_step(
        snakemake.wildcards.name,
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        root=inputs.root,
        index_csv=inputs.index,
        sheet=inputs.sheet,
        sheet_meta=inputs.sheet_meta,
        profile=snakemake.params.profile,
        profile_settings=dict(snakemake.params.settings),
        execution=dict(snakemake.params.execution),
        checkpoint=snakemake.params.checkpoint,
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
        out_model=snakemake.output.model,
        faces=inputs.get("faces"),
        landmarks=inputs.get("landmarks"),
        cache_dir=snakemake.params.cache,
        init_models=list(inputs.get("init", [])),
    )
