# Post-processing of continuous predictions (median filter, centring, scaling, time shift),
# each step kept only if it improves dev CCC, then applied unchanged to test.


rule postprocess:
    """Fit the post-processing chain of a paper's grid on dev; apply it to dev and test."""
    input:
        predictions=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/metrics.json",
        labels=L.labels("{corpus}"),
        sheet=L.sheet("{corpus}", "{protocol}"),
    output:
        predictions=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/pp-{{grid}}/predictions.parquet",
        metrics=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/pp-{{grid}}/metrics.json",
    log:
        f"{R}/logs/postprocess/{{family}}/{{name}}/{{corpus}}/{{protocol}}/{{grid}}.log",
    benchmark:
        f"{R}/benchmarks/postprocess/{{family}}/{{name}}/{{corpus}}/{{protocol}}/{{grid}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["postprocess"],
    script:
        "../scripts/postprocess.py"
