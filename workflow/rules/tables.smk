# Paper tables (reported vs reproduced), figures and the index page, rendered from result
# files and paper cards.


rule baseline_table:
    """Metrics of every classical-baseline result (Markdown + CSV)."""
    input:
        results=experiment_results(),
    output:
        md=f"{R}/tables/baselines.md",
        csv=f"{R}/tables/baselines.csv",
    log:
        f"{R}/logs/baseline_table.log",
    benchmark:
        f"{R}/benchmarks/baseline_table.tsv"
    conda:
        ENV
    script:
        "../scripts/baseline_table.py"


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
    params:
        results_root=tables_root,
    script:
        "../scripts/paper_tables.py"


rule confusion_figure:
    """Row-normalised confusion matrix of a categorical result."""
    input:
        metrics=f"{R}/{{rdir}}/metrics.json",
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
    script:
        "../scripts/confusion_figure.py"


rule trace_figure:
    """Prediction vs gold standard for the first test recording of a continuous result."""
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
    script:
        "../scripts/trace_figure.py"


rule index_page:
    """results/index.md: every paper table with its verdict counts, and every figure."""
    input:
        cards=list(CARD_FILES.values()),
        tables=table_dirs(),
        figures=figures(),
    output:
        md=f"{R}/index.md",
    log:
        f"{R}/logs/index_page.log",
    benchmark:
        f"{R}/benchmarks/index_page.tsv"
    conda:
        ENV
    params:
        results_root=index_root,
    script:
        "../scripts/index_page.py"
