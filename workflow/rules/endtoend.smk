# End-to-end models of Tzirakis et al. (2017): the raw-waveform speech network.


rule tzirakis_speech:
    """Speech CNN (version 000 or 001) + 2-layer LSTM on raw 16 kHz audio, trained with the
    CCC or MSE loss on a fixed partition; epoch chosen on dev CCC; checkpointed every epoch
    (an interrupted job resumes); CUDA when present."""
    input:
        root=corpus_root,
        index=f"{R}/index/{{corpus}}.csv",
        sheet=f"{R}/folds/{{corpus}}/{{protocol}}.csv",
        sheet_meta=f"{R}/folds/{{corpus}}/{{protocol}}.json",
    output:
        predictions=f"{R}/experiments/tzirakis2017/speech{{version}}_{{loss}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/tzirakis2017/speech{{version}}_{{loss}}/{{corpus}}/{{protocol}}/metrics.json",
    log:
        f"{R}/logs/tzirakis_speech/{{version}}_{{loss}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/tzirakis_speech/{{version}}_{{loss}}/{{corpus}}/{{protocol}}.tsv"
    wildcard_constraints:
        version="000|001",
    conda:
        ENV
    resources:
        gpu=gpu_request,
    params:
        settings=speech_settings,
        profile=PROFILE,
        execution=CFG["execution"],
        checkpoint=f"{R}/checkpoints/tzirakis_speech/{{version}}_{{loss}}/{{corpus}}/{{protocol}}.pt",
        source=corpus_source,
    script:
        "../scripts/tzirakis_speech.py"
