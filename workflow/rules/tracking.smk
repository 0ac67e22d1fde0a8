# MLflow mirror of the result files: one job per paper family, so a family's results are
# mirrored as soon as they exist (not all at the end of the run). Jobs on one SQLite store
# take turns through an flock on <store>.lock (emorepro.tracking.store_lock).


rule mlflow_mirror:
    """Mirror every result of one family into MLflow: one experiment per paper card, a parent
    run per result, a child run per fold, the result files as artifacts."""
    input:
        results=family_results,
        cards=list(CARD_FILES.values()),
    output:
        done=f"{R}/mlflow/{{family}}.done",
    log:
        f"{R}/logs/mlflow_mirror/{{family}}.log",
    benchmark:
        f"{R}/benchmarks/mlflow_mirror/{{family}}.tsv"
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
