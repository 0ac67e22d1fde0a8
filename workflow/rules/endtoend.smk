# End-to-end networks of Tzirakis et al. (2017): speech, visual and multimodal (one rule), and
# the Fig. 2 analysis of the speech network's LSTM cells.


rule tzirakis_e2e:
    """Train one end-to-end experiment (emorepro.endtoend: speech000_ccc, visual_ccc,
    speech_seq75, multimodal_traindev, ...) on a fixed partition: epoch chosen on dev CCC
    (train+dev runs: last epoch), checkpointed every epoch (an interrupted job resumes), CUDA
    when present; writes predictions, metrics and model.pt."""
    input:
        unpack(e2e_inputs),
    output:
        predictions=f"{R}/experiments/tzirakis2017/{{name}}/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/tzirakis2017/{{name}}/{{corpus}}/{{protocol}}/metrics.json",
        model=f"{R}/experiments/tzirakis2017/{{name}}/{{corpus}}/{{protocol}}/model.pt",
    log:
        f"{R}/logs/tzirakis_e2e/{{name}}/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/tzirakis_e2e/{{name}}/{{corpus}}/{{protocol}}.tsv"
    wildcard_constraints:
        name=E2E_PATTERN,
    conda:
        ENV
    resources:
        gpu=gpu_request,
    params:
        settings=e2e_settings,
        profile=PROFILE,
        execution=CFG["execution"],
        checkpoint=f"{R}/checkpoints/tzirakis_e2e/{{name}}/{{corpus}}/{{protocol}}.pt",
        source=corpus_source,
        cache=f"{R}/cache/features",
    script:
        "../scripts/tzirakis_e2e.py"


rule tzirakis_fig2:
    """Fig. 2: the three second-layer LSTM units of the speech network (000, CCC loss) most
    correlated with arousal on the first test recording, against openSMILE ComParE_2016
    functionals (range of RMS energy, loudness, mean F0)."""
    input:
        model=f"{R}/experiments/tzirakis2017/speech000_ccc/{{corpus}}/{{protocol}}/model.pt",
        root=corpus_root,
        index=f"{R}/index/{{corpus}}.csv",
        sheet=f"{R}/folds/{{corpus}}/{{protocol}}.csv",
        sheet_meta=f"{R}/folds/{{corpus}}/{{protocol}}.json",
        functionals=f"{R}/features/{{corpus}}/ComParE_2016_windowed.parquet",
    output:
        predictions=f"{R}/experiments/tzirakis2017/fig2_cells/{{corpus}}/{{protocol}}/predictions.parquet",
        metrics=f"{R}/experiments/tzirakis2017/fig2_cells/{{corpus}}/{{protocol}}/metrics.json",
        figure=report(
            f"{R}/figures/experiments/tzirakis2017/fig2_cells/{{corpus}}/{{protocol}}/fig2.png",
            caption="../report/fig2.rst",
            category="Figures",
            subcategory="Tzirakis et al. Fig. 2",
        ),
    log:
        f"{R}/logs/tzirakis_fig2/{{corpus}}/{{protocol}}.log",
    conda:
        ENV
    params:
        execution=CFG["execution"],
        source=corpus_source,
    script:
        "../scripts/tzirakis_fig2.py"
