# Acoustic features with openSMILE (cached per item, keyed by extractor config + version).


rule functionals:
    """Utterance-level openSMILE functionals for every item of a categorical corpus."""
    input:
        root=corpus_root,
        index=f"{R}/index/{{corpus}}.csv",
    output:
        features=f"{R}/features/{{corpus}}/{{feature_set}}_functionals.parquet",
    log:
        f"{R}/logs/functionals/{{corpus}}/{{feature_set}}.log",
    benchmark:
        f"{R}/benchmarks/functionals/{{corpus}}/{{feature_set}}.tsv"
    conda:
        ENV
    params:
        cache=f"{R}/cache/features",
    script:
        "../scripts/functionals.py"


rule windowed_functionals:
    """Frame-level functionals over sliding windows at the 40 ms label rate, joined with
    the gold standard (continuous corpora)."""
    input:
        root=corpus_root,
        index=f"{R}/index/{{corpus}}.csv",
    output:
        frames=f"{R}/features/{{corpus}}/{{feature_set}}_windowed.parquet",
    log:
        f"{R}/logs/windowed_functionals/{{corpus}}/{{feature_set}}.log",
    benchmark:
        f"{R}/benchmarks/windowed_functionals/{{corpus}}/{{feature_set}}.tsv"
    conda:
        ENV
    params:
        window_s=CFG["baselines"]["svr"]["window_s"],
        hop_s=CFG["baselines"]["svr"]["hop_s"],
        cache=f"{R}/cache/features",
    script:
        "../scripts/windowed_functionals.py"
