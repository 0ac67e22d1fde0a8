"""Adapter: rule tzirakis_fig2 -> emorepro.endtoend.fig2_step."""

from emorepro.endtoend import fig2_step
from emorepro.runlog import job_log

inputs = snakemake.input
with job_log(snakemake.log[0]):
    fig2_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        model=inputs.model,
        root=inputs.root,
        index_csv=inputs.index,
        sheet=inputs.sheet,
        sheet_meta=inputs.sheet_meta,
        functionals=inputs.functionals,
        execution=dict(snakemake.params.execution),
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
        out_figure=snakemake.output.figure,
    )
