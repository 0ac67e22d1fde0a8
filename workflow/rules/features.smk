# Acoustic features with openSMILE (cached per item, keyed by extractor config + version).


rule functionals:
    """Utterance-level openSMILE functionals for every item of a categorical corpus."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        features=L.functionals("{corpus}", "{feature_set}"),
    log:
        f"{R}/logs/functionals/{{corpus}}/{{feature_set}}.log",
    benchmark:
        f"{R}/benchmarks/functionals/{{corpus}}/{{feature_set}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["functionals"],
    params:
        cache=L.feature_cache(),
    script:
        "../scripts/functionals.py"


rule windowed_functionals:
    """Frame-level functionals over sliding windows at the 40 ms label rate, joined with
    the gold standard (continuous corpora)."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        frames=L.windowed("{corpus}", "{audio_set}"),
    log:
        f"{R}/logs/windowed_functionals/{{corpus}}/{{audio_set}}.log",
    benchmark:
        f"{R}/benchmarks/windowed_functionals/{{corpus}}/{{audio_set}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: MEDIA_THREADS  # recordings in parallel (emorepro.steps.features.label_rate_table)
    resources:
        mem_mb=MEM_MB["windowed_functionals"],
    params:
        window_s=CFG["features"]["windowed"]["window_s"],
        hop_s=CFG["features"]["windowed"]["hop_s"],
        cache=L.feature_cache(),
    script:
        "../scripts/windowed_functionals.py"


rule gold_standard:
    """The gold standard of a continuous corpus, one row per (recording, 40 ms frame)."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        labels=L.labels("{corpus}"),
    log:
        f"{R}/logs/gold_standard/{{corpus}}.log",
    benchmark:
        f"{R}/benchmarks/gold_standard/{{corpus}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    script:
        "../scripts/gold_standard.py"


rule lld_frames:
    """openSMILE low-level descriptors averaged into the 40 ms label frames, joined with the
    gold standard (input of the BLSTM baseline)."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        frames=L.llds("{corpus}", "{audio_set}"),
    log:
        f"{R}/logs/lld_frames/{{corpus}}/{{audio_set}}.log",
    benchmark:
        f"{R}/benchmarks/lld_frames/{{corpus}}/{{audio_set}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        cache=L.feature_cache(),
    script:
        "../scripts/lld_frames.py"


rule logmel_segments:
    """Zhang et al. log-Mel segments (64 bands, 25 ms Hamming, 10 ms hop; static + delta +
    delta-delta) of 64 or 15 frames, cached per item; the output is the manifest."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        manifest=L.logmel("{corpus}", "{length}"),
    log:
        f"{R}/logs/logmel_segments/{{corpus}}/64x{{length}}.log",
    benchmark:
        f"{R}/benchmarks/logmel_segments/{{corpus}}/64x{{length}}.tsv"
    wildcard_constraints:
        length="64|15",
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["logmel_segments"],
    params:
        cache=L.feature_cache(),
    script:
        "../scripts/logmel_segments.py"


rule face_crops:
    """Face detection (Viola-Jones) and crops: eye-normalised 150x110 (zhang) or 96x96
    (tzirakis); or dlib HOG detection and frontal-aligned 256x256 crops (aminbeidokhti, with
    centred squares for clips without a face); cached per video; the output is the manifest
    with detection statistics.
    """
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
    output:
        manifest=L.faces("{corpus}", "{kind}"),
    log:
        f"{R}/logs/face_crops/{{corpus}}/{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/face_crops/{{corpus}}/{{kind}}.tsv"
    wildcard_constraints:
        kind="zhang|tzirakis|aminbeidokhti",
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: MEDIA_THREADS  # videos in parallel (emorepro.steps.features.npz_manifest)
    resources:
        mem_mb=MEM_MB["face_crops"],
    params:
        cache=L.feature_cache(),
        fps=lambda w: CFG["features"]["faces"].get("fps", {}).get(w.corpus),
    script:
        "../scripts/face_crops.py"


rule landmark_model:
    """Train a dlib shape predictor on rendered synthetic faces (used when the config names
    no landmark model file, e.g. the 68-point iBUG model)."""
    output:
        model=L.synthetic_landmark_model(),
        sidecar=L.synthetic_landmark_model() + ".json",
    log:
        f"{R}/logs/landmark_model.log",
    benchmark:
        f"{R}/benchmarks/landmark_model.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        seed=CFG["seed"],
    script:
        "../scripts/landmark_model.py"


rule video_descriptors:
    """AVEC-style video descriptors per 40 ms label frame: landmark geometry (Procrustes-
    aligned, windowed mean/std) and raw LBP-TOP histograms; cached per recording."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
        model=landmark_model_file,
    output:
        descriptors=L.video_descriptors("{corpus}"),
    log:
        f"{R}/logs/video_descriptors/{{corpus}}.log",
    benchmark:
        f"{R}/benchmarks/video_descriptors/{{corpus}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: MEDIA_THREADS
    resources:
        mem_mb=MEM_MB["video_descriptors"],
    params:
        window_s=CFG["features"]["video"]["window_s"],
        cache=L.feature_cache(),
    script:
        "../scripts/video_descriptors.py"


rule landmark_frames:
    """Procrustes-aligned facial landmarks per 40 ms label frame (Tzirakis et al. 2017,
    "raw + geometric"); frames without a face hold the last shape, flagged in a mask."""
    input:
        root=corpus_root,
        index=L.index("{corpus}"),
        model=landmark_model_file,
    output:
        manifest=L.landmark_frames("{corpus}"),
    log:
        f"{R}/logs/landmark_frames/{{corpus}}.log",
    benchmark:
        f"{R}/benchmarks/landmark_frames/{{corpus}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: MEDIA_THREADS  # recordings in parallel (emorepro.steps.features.npz_manifest)
    resources:
        mem_mb=MEM_MB["landmark_frames"],
    params:
        cache=L.feature_cache(),
    script:
        "../scripts/landmark_frames.py"


rule video_windowed:
    """SVR input of one video descriptor on one protocol (appearance PCA fitted on the
    protocol's training recordings only)."""
    input:
        descriptors=L.video_descriptors("{corpus}"),
        sheet=L.sheet("{corpus}", "{protocol}"),
    output:
        frames=L.video_windowed("{corpus}", "{protocol}", "{video_set}"),
    log:
        f"{R}/logs/video_windowed/{{corpus}}/{{protocol}}/{{video_set}}.log",
    benchmark:
        f"{R}/benchmarks/video_windowed/{{corpus}}/{{protocol}}/{{video_set}}.tsv"
    wildcard_constraints:
        video_set="geometric|appearance",
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["video_windowed"],
    params:
        pca_dim=CFG["features"]["video"]["pca_dim"],
        window_s=CFG["features"]["video"]["window_s"],
    script:
        "../scripts/video_windowed.py"
