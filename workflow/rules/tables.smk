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


rule figures:
    """Every figure of one paper family's results, in one job (one job per figure cost a
    process start each, ~1 s, for ~170 figures in the CI's tiny DAG): the shared kinds
    (confusion matrix of a classification result, prediction trace of a regression result)
    and the family's own figures (e.g. a paper's figure), results/figures/experiments/<family>/
    <name>/<corpus>/<protocol>[/pp-<grid>]/<kind>.png."""
    input:
        unpack(figure_inputs),
    output:
        figures=report(
            directory(f"{R}/figures/experiments/{{family}}"),
            patterns=["{result}/{figure}.png"],
            caption="../report/figure.rst",
            category="Figures",
            subcategory="{family}",
            labels={"result": "{result}", "figure": "{figure}"},
        ),
    log:
        f"{R}/logs/figures/{{family}}.log",
    benchmark:
        f"{R}/benchmarks/figures/{{family}}.tsv"
    wildcard_constraints:
        family="|".join(FIGURE_FAMILIES) or "(?!x)x",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
    params:
        figures=figure_specs,
    script:
        "../scripts/figure.py"


rule index_page:
    """results/index.md: every paper table with its verdict counts, and every figure."""
    input:
        cards=list(CARD_FILES.values()),
        tables=table_dirs(),
        other_tables=[f"{R}/tables/results.md", f"{R}/tables/cross_corpus.md"],
        figures=figure_dirs(),
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
        figures=figures(),
    script:
        "../scripts/index_page.py"


onerror:
    render_partial_tables(log)
