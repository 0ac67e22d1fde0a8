# MLflow mirror of the result files: a single job, so parallel jobs never contend for SQLite.


rule mlflow_mirror:
    """Mirror every result into MLflow: one experiment per paper card, a parent run per
    result, a child run per fold, the result files as artifacts."""
    input:
        results=experiment_results(),
        cards=list(CARD_FILES.values()),
    output:
        done=f"{R}/mlflow.done",
    log:
        f"{R}/logs/mlflow_mirror.log",
    benchmark:
        f"{R}/benchmarks/mlflow_mirror.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["mlflow_mirror"],
    params:
        tracking_uri=CFG["mlflow"]["tracking_uri"],
        artifact_root=f"{R}/mlartifacts",
    script:
        "../scripts/mlflow_mirror.py"
