# Corpora: synthetic twins, canonical index, fold sheets with the speaker-leakage gate.


rule synth_corpus:
    """Generate the synthetic twin of one corpus in the real corpus' layout."""
    output:
        root=directory(L.twin("{corpus}")),
    log:
        f"{R}/logs/synth_corpus/{{corpus}}.log",
    benchmark:
        f"{R}/benchmarks/synth_corpus/{{corpus}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: MEDIA_THREADS  # recordings in parallel (emorepro.synth.generate_corpus)
    resources:
        mem_mb=MEM_MB["synth_corpus"],
    params:
        scale=scale_param,
        seed=CFG["seed"],
    script:
        "../scripts/synth_corpus.py"


rule index_corpus:
    """Read a corpus layout (twin or real copy) into the schema-validated canonical index."""
    input:
        root=corpus_root,
    output:
        index=L.index("{corpus}"),
    log:
        f"{R}/logs/index_corpus/{{corpus}}.log",
    benchmark:
        f"{R}/benchmarks/index_corpus/{{corpus}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        source=corpus_source,
    script:
        "../scripts/index_corpus.py"


rule fold_sheet:
    """Write the fold sheet of a protocol; stops on speaker overlap, naming the speakers."""
    input:
        index=L.index("{corpus}"),
    output:
        sheet=L.sheet("{corpus}", "{protocol}"),
        meta=L.sheet_meta("{corpus}", "{protocol}"),
    log:
        f"{R}/logs/fold_sheet/{{corpus}}/{{protocol}}.log",
    benchmark:
        f"{R}/benchmarks/fold_sheet/{{corpus}}/{{protocol}}.tsv"
    priority: FEATURE_PRIORITY
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        seed=CFG["seed"],
        protocols=canonical(CFG["protocols"]),
    script:
        "../scripts/fold_sheet.py"
