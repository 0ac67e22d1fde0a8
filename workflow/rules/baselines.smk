# Classical baselines: linear SVM over LOSO/LOGSO folds, epsilon-SVR on the AVEC partition.


rule svm_categorical:
    """Linear one-vs-one C-SVM (libsvm) per fold on utterance functionals."""
    input:
        features=f"{R}/features/{{corpus}}/{{feature_set}}_functionals.parquet",
        index=f"{R}/index/{{corpus}}.csv",
        sheet=f"{R}/folds/{{corpus}}/{{protocol}}.csv",
        sheet_meta=f"{R}/folds/{{corpus}}/{{protocol}}.json",
    output:
        predictions=f"{R}/experiments/baselines/svm_{{feature_set}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/baselines/svm_{{feature_set}}/{{corpus}}/{{protocol}}/metrics.json",
    log:
        f"{R}/logs/svm_categorical/{{feature_set}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/svm_categorical/{{feature_set}}/{{corpus}}/{{protocol}}.tsv"
    conda:
        ENV
    params:
        C=CFG["baselines"]["svm"]["C"],
        source=corpus_source,
    script:
        "../scripts/svm_categorical.py"


rule svr_continuous:
    """Linear epsilon-SVR (libsvm) per target, C chosen on dev by CCC, scored on dev and test."""
    input:
        frames=f"{R}/features/{{corpus}}/{{feature_set}}_windowed.parquet",
        sheet=f"{R}/folds/{{corpus}}/{{protocol}}.csv",
        sheet_meta=f"{R}/folds/{{corpus}}/{{protocol}}.json",
    output:
        predictions=f"{R}/experiments/baselines/svr_{{feature_set}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/baselines/svr_{{feature_set}}/{{corpus}}/{{protocol}}/metrics.json",
    log:
        f"{R}/logs/svr_continuous/{{feature_set}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/svr_continuous/{{feature_set}}/{{corpus}}/{{protocol}}.tsv"
    conda:
        ENV
    params:
        C_grid=CFG["baselines"]["svr"]["C_grid"],
        epsilon=CFG["baselines"]["svr"]["epsilon"],
        train_frame_step=CFG["baselines"]["svr"]["train_frame_step"],
        window_s=CFG["baselines"]["svr"]["window_s"],
        source=corpus_source,
    script:
        "../scripts/svr_continuous.py"
