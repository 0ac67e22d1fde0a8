# Paper tables (reported vs reproduced), figures and the index page, rendered from result
# files and paper cards.


rule results_table:
    """Every metric of every result of the run (Markdown + CSV), with variant and source."""
    input:
        results=experiment_results(),
    output:
        md=f"{R}/tables/results.md",
        csv=f"{R}/tables/results.csv",
    log:
        f"{R}/logs/results_table.log",
    benchmark:
        f"{R}/benchmarks/results_table.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    script:
        "../scripts/results_table.py"


rule cross_corpus_table:
    """Beyond the papers: every classification method on every categorical corpus."""
    input:
        results=experiment_results(),
    output:
        md=f"{R}/tables/cross_corpus.md",
        csv=f"{R}/tables/cross_corpus.csv",
    log:
        f"{R}/logs/cross_corpus_table.log",
    benchmark:
        f"{R}/benchmarks/cross_corpus_table.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    script:
        "../scripts/cross_corpus_table.py"


rule paper_tables:
    """Every table of one paper card: reported, reproduced, difference, verdict, test."""
    input:
        card=card_file,
        results=card_results,
    output:
        tables=report(
            directory(f"{R}/tables/{{card}}"),
            patterns=["{table}.csv"],
            caption="../report/paper_table.rst",
            category="Paper tables",
            subcategory="{card}",
            labels={"paper": "{card}", "table": "{table}"},
        ),
    log:
        f"{R}/logs/paper_tables/{{card}}.log",
    benchmark:
        f"{R}/benchmarks/paper_tables/{{card}}.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        results_root=tables_root,
    script:
        "../scripts/paper_tables.py"


rule confusion_figure:
    """Row-normalised confusion matrix of a classification result."""
    input:
        metrics=f"{R}/{{rdir}}/metrics.json",
        predictions=f"{R}/{{rdir}}/predictions.parquet",
    output:
        png=report(
            f"{R}/figures/{{rdir}}/confusion.png",
            caption="../report/confusion.rst",
            category="Figures",
            subcategory="Confusion matrices",
            labels={"result": "{rdir}"},
        ),
    log:
        f"{R}/logs/figures/{{rdir}}/confusion.log",
    benchmark:
        f"{R}/benchmarks/figures/{{rdir}}/confusion.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        kind="confusion",
    script:
        "../scripts/figure.py"


rule trace_figure:
    """Prediction vs gold standard for the first test recording of a regression result."""
    input:
        metrics=f"{R}/{{rdir}}/metrics.json",
        predictions=f"{R}/{{rdir}}/predictions.parquet",
    output:
        png=report(
            f"{R}/figures/{{rdir}}/trace.png",
            caption="../report/trace.rst",
            category="Figures",
            subcategory="Prediction traces",
            labels={"result": "{rdir}"},
        ),
    log:
        f"{R}/logs/figures/{{rdir}}/trace.log",
    benchmark:
        f"{R}/benchmarks/figures/{{rdir}}/trace.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        kind="trace",
    script:
        "../scripts/figure.py"


rule family_figure:
    """A figure a paper family draws itself from a result (e.g. a paper's own figure)."""
    input:
        metrics=f"{R}/{{rdir}}/metrics.json",
        predictions=f"{R}/{{rdir}}/predictions.parquet",
    output:
        png=report(
            f"{R}/figures/{{rdir}}/{{kind}}.png",
            caption="../report/family_figure.rst",
            category="Figures",
            subcategory="Paper figures",
            labels={"result": "{rdir}", "figure": "{kind}"},
        ),
    log:
        f"{R}/logs/figures/{{rdir}}/{{kind}}.log",
    benchmark:
        f"{R}/benchmarks/figures/{{rdir}}/{{kind}}.tsv"
    wildcard_constraints:
        kind="|".join(FAMILY_FIGURES) or "(?!x)x",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        kind="{kind}",
    script:
        "../scripts/figure.py"


rule index_page:
    """results/index.md: every paper table with its verdict counts, and every figure."""
    input:
        cards=list(CARD_FILES.values()),
        tables=table_dirs(),
        other_tables=[f"{R}/tables/results.md", f"{R}/tables/cross_corpus.md"],
        figures=figures(),
    output:
        md=f"{R}/index.md",
    log:
        f"{R}/logs/index_page.log",
    benchmark:
        f"{R}/benchmarks/index_page.tsv"
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        results_root=index_root,
    script:
        "../scripts/index_page.py"
