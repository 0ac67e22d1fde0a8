"""Adapter: rule svm_categorical -> emorepro.pipeline.svm_step."""

from emorepro.pipeline import svm_step
from emorepro.runlog import job_log

with job_log(snakemake.log[0]):
    svm_step(
        snakemake.wildcards.corpus,
        snakemake.wildcards.protocol,
        features=snakemake.input.features,
        index_csv=snakemake.input.index,
        sheet=snakemake.input.sheet,
        sheet_meta=snakemake.input.sheet_meta,
        C=snakemake.params.C,
        feature_set=snakemake.wildcards.feature_set,
        source=snakemake.params.source,
        out_predictions=snakemake.output.predictions,
        out_metrics=snakemake.output.metrics,
    )
