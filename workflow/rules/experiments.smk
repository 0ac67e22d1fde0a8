# Every experiment of every paper family: one generic rule, dispatched through the family
# registry (emorepro.families). The paper cards say which results are built.


rule experiment:
    """Run one experiment (<family>/<name>) on one corpus and protocol: the family's grammar
    parses the name, its inputs() names the files, its run() computes; the result contract
    (emorepro.results) writes predictions.parquet and metrics.json. Training jobs checkpoint
    every epoch (an interrupted job resumes) and use CUDA when present."""
    input:
        unpack(experiment_inputs),
    output:
        predictions=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/{{family}}/{{name}}/{{corpus}}/{{protocol}}/metrics.json",
    log:
        f"{R}/logs/experiment/{{family}}/{{name}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/experiment/{{family}}/{{name}}/{{corpus}}/{{protocol}}.tsv"
    priority: experiment_priority
    conda:
        ENV
    threads: TORCH_THREADS
    resources:
        gpu=experiment_gpu,
        mem_mb=MEM_MB["experiment"],
    params:
        settings=experiment_settings,
        code=experiment_code,
        execution=TRAINING_EXECUTION,
        source=corpus_source,
        checkpoint=f"{R}/checkpoints/{{family}}/{{name}}/{{corpus}}/{{protocol}}.pt",
        cache=L.feature_cache(),
    script:
        "../scripts/experiment.py"
