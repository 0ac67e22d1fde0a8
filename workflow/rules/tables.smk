# Tables rendered from the result files.


rule baseline_table:
    """Metrics table of the classical baselines (Markdown + CSV)."""
    input:
        results=experiment_results(),
    output:
        md=f"{R}/tables/baselines.md",
        csv=f"{R}/tables/baselines.csv",
    log:
        f"{R}/logs/baseline_table.log",
    benchmark:
        f"{R}/benchmarks/baseline_table.tsv"
    conda:
        ENV
    script:
        "../scripts/baseline_table.py"
