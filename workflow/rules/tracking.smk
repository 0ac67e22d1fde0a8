# MLflow mirror of the result files: a single job, so parallel jobs never contend for SQLite.


rule mlflow_mirror:
    """Mirror every metrics.json into MLflow (one experiment per paper, parent/child runs)."""
    input:
        results=experiment_results(),
    output:
        done=f"{R}/mlflow.done",
    log:
        f"{R}/logs/mlflow_mirror.log",
    benchmark:
        f"{R}/benchmarks/mlflow_mirror.tsv"
    conda:
        ENV
    params:
        tracking_uri=CFG["mlflow"]["tracking_uri"],
    script:
        "../scripts/mlflow_mirror.py"
