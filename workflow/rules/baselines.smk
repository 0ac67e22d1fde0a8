# Classical baselines: linear SVM over LOSO/LOGSO folds; epsilon-SVR and BLSTM on the fixed
# partitions of RECOLA (AVEC 2016 9/9/9, 46-subject 16/15/15).


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
        frames=svr_frames,
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


rule blstm_continuous:
    """BLSTM on LLDs at the label rate, trained with MSE or the CCC loss; model selected on
    dev CCC; checkpointed every epoch (an interrupted job resumes)."""
    input:
        frames=f"{R}/features/{{corpus}}/{{audio_set}}_lld.parquet",
        sheet=f"{R}/folds/{{corpus}}/{{protocol}}.csv",
        sheet_meta=f"{R}/folds/{{corpus}}/{{protocol}}.json",
    output:
        predictions=f"{R}/experiments/baselines/blstm_{{loss}}_{{audio_set}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/baselines/blstm_{{loss}}_{{audio_set}}/{{corpus}}/{{protocol}}/metrics.json",
    log:
        f"{R}/logs/blstm_continuous/{{loss}}_{{audio_set}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/blstm_continuous/{{loss}}_{{audio_set}}/{{corpus}}/{{protocol}}.tsv"
    conda:
        ENV
    resources:
        gpu=gpu_request,
    params:
        model=blstm_params,
        execution=CFG["execution"],
        checkpoint=f"{R}/checkpoints/blstm_{{loss}}_{{audio_set}}/{{corpus}}/{{protocol}}.pt",
        source=corpus_source,
    script:
        "../scripts/blstm_continuous.py"
