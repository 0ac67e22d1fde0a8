"""File-level reporting steps: paper tables, figures, the index page and the MLflow mirror.

Each step reads result files (``metrics.json`` + ``predictions.parquet``) and paper cards and
writes its outputs atomically; callable without Snakemake.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.cards import iter_cells, load_card
from emorepro.errors import EmoreproError
from emorepro.io import atomic_write, write_csv, write_json, write_text
from emorepro.results import read_result, source_of

log = logging.getLogger("emorepro")


def _result_dir(metrics_json: Path | str) -> str:
    return Path(metrics_json).parent.as_posix()


def paper_tables_step(
    card_path: Path | str,
    *,
    results_root: Path | str,
    available: Sequence[Path | str],
    out_dir: Path | str,
) -> dict[str, pd.DataFrame]:
    """Render every table of one card as ``<table>.md``, ``.tex`` and ``.csv`` in ``out_dir``.

    ``available`` lists the ``metrics.json`` files this run produced; a card row whose result
    is not among them (its corpus or feature set is not configured) is shown as "not run in
    this configuration" instead of failing.
    """
    card = load_card(card_path)
    root = Path(results_root)
    have = {Path(_result_dir(p)).relative_to(root).as_posix() for p in available}
    return _render_card(card, root, have, Path(out_dir))


def _render_card(
    card: Mapping[str, Any],
    root: Path,
    have: set[str],
    out: Path,
    failed: Mapping[str, str] | None = None,
) -> dict[str, pd.DataFrame]:
    from emorepro import tables

    out.mkdir(parents=True, exist_ok=True)
    frames = {}
    for table_id in tables.table_ids(card):
        frame = tables.compare_table(
            card, table_id, results_root=root, available=have, failed=failed
        )
        label = next(t["label"] for t in card["tables"] if t["id"] == table_id)
        text = tables.caption(card, table_id, frame)
        atomic_write(out / f"{table_id}.csv", lambda p, f=frame: f.to_csv(p, index=False))
        atomic_write(
            out / f"{table_id}.md",
            lambda p, f=frame, t=text, lab=label: p.write_text(
                tables.to_markdown(f, title=f"{card['id']}: {lab}", caption_text=t)
            ),
        )
        atomic_write(
            out / f"{table_id}.tex",
            lambda p, f=frame, t=text, lab=f"tab:{card['id']}:{table_id}": p.write_text(
                tables.to_latex(f, caption_text=t, label=lab)
            ),
        )
        frames[table_id] = frame
        log.info("%s/%s: %s", card["id"], table_id, frame["verdict"].value_counts().to_dict())
    return frames


def partial_tables_step(
    card_paths: Sequence[Path | str],
    *,
    results_root: Path | str,
    planned: Sequence[str],
    snakemake_logs: Sequence[Path | str],
    out_dir: Path | str,
) -> dict[str, int]:
    """After a run that failed (Snakemake's ``onerror``, also with ``--keep-going``): every
    paper table from the results that exist, into ``out_dir/<card>/`` (``results/tables/``,
    the tables of a complete run, is left alone). A cell whose job failed reads "failed
    (log: <the job's log>)", a planned cell that was not reached "not run", never "pending".
    ``out_dir/README.md`` lists every failed job of the run with its log.

    ``planned``: result folders (relative to ``results_root``) the configuration plans;
    ``snakemake_logs``: the run's main log files (where the failed jobs are read from).
    Returns verdict counts over all cards.
    """
    import shutil

    from emorepro.runfailures import failed_results, read_failed_jobs

    root = Path(results_root)
    jobs = read_failed_jobs(snakemake_logs)
    failed = failed_results(jobs, root)
    out = Path(out_dir)
    if out.exists():
        shutil.rmtree(out)  # a partial table of an earlier failure must not linger
    counts: dict[str, int] = {}
    for path in card_paths:
        card = load_card(path)
        frames = _render_card(card, root, set(planned), out / card["id"], failed)
        for frame in frames.values():
            for verdict, k in frame["verdict"].value_counts().items():
                key = "failed" if str(verdict).startswith("failed") else str(verdict)
                counts[key] = counts.get(key, 0) + int(k)
    lines = [
        "# Partial tables of a run that failed",
        "",
        f"Rendered after the run logged in {', '.join(map(str, snakemake_logs)) or '(no log)'}",
        "from the results that exist. `results/tables/` holds the tables of the last complete",
        "run. Rerun the failed jobs (fix the cause named in each log, then the same snakemake",
        "command) to complete them.",
        "",
        f"Cells: {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}.",
        "",
        f"## Failed jobs ({len(jobs)})",
        "",
        "| rule | output | log |",
        "|---|---|---|",
        *(f"| {j.rule} | {', '.join(j.outputs[:1])} | {', '.join(j.logs)} |" for j in jobs),
        "",
    ]
    write_text(out / "README.md", "\n".join(lines))
    return counts


def _figure_path(out: Path | str) -> tuple[Path, Path]:
    """(temporary path with the same suffix, final path): matplotlib picks the format by suffix."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".tmp-{out.name}"), out


#: shared figure kinds and the task of the results they apply to
SHARED_FIGURE_TASKS = {"confusion": "classification", "trace": "regression"}


def figure_step(
    kind: str, metrics_json: Path | str, predictions: Path | str, out_png: Path | str
) -> None:
    """Draw figure ``kind`` of a result: ``confusion`` (row-normalised confusion matrix of a
    classification result), ``trace`` (prediction vs gold standard of the first test
    recording of a regression result) or a kind of the result's family."""
    from emorepro.families import get_family
    from emorepro.figures import confusion_figure, trace_figure

    result = read_result(metrics_json)
    tmp, out = _figure_path(out_png)
    task = SHARED_FIGURE_TASKS.get(kind)
    if task is not None and result["task"] != task:
        raise EmoreproError(
            f"{metrics_json}: a {kind} figure needs a {task} result, this one is {result['task']}"
        )
    try:
        if kind == "confusion":
            confusion_figure(result, tmp)
        elif kind == "trace":
            trace_figure(result, pd.read_parquet(predictions), tmp)
        else:
            get_family(result["family"]).draw_figure(
                kind, result, pd.read_parquet(predictions), tmp
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def figures_step(specs: Sequence[Sequence[str]], out_dir: Path | str) -> None:
    """Draw every figure of ``specs`` (``[kind, metrics.json, predictions.parquet, png]``,
    see :func:`figure_step`); each ``png`` must lie under ``out_dir`` (the job's output
    folder). Logs one line per figure."""
    out = Path(out_dir).resolve()
    for k, (kind, metrics_json, predictions, png) in enumerate(specs, 1):
        if not Path(png).resolve().is_relative_to(out):
            raise EmoreproError(f"{png}: figure outside the job's output folder {out_dir}")
        figure_step(kind, metrics_json, predictions, png)
        log.info("figure %d/%d: %s", k, len(specs), png)
    Path(out_dir).mkdir(parents=True, exist_ok=True)


def results_table_step(
    results: Sequence[Path | str], *, out_md: Path | str, out_csv: Path | str
) -> pd.DataFrame:
    """Every metric of every result of the run, one row per (result, metric), with its
    variant and corpus source (``results/tables/results.md|csv``)."""
    rows = []
    for path in results:
        r = read_result(path)
        pp = f" +pp-{r['postprocess']}" if r.get("postprocess") else ""
        for metric, value in r["metrics"].items():
            if metric.startswith("n_") or not isinstance(value, int | float):
                continue
            rows.append(
                {
                    "family": r["family"],
                    "experiment": r["experiment"] + pp,
                    "task": r["task"],
                    "corpus": r["corpus"],
                    "protocol": r["protocol"],
                    "metric": metric,
                    "value": round(float(value), 4),
                    "variant": r["metric_variants"].get(metric, ""),
                    "corpus source": source_of(r).describe(),
                    "profile": r.get("profile") or "",
                    "fold sheet": r["fold_sheet_sha256"][:12],
                }
            )
    table = pd.DataFrame(rows)
    write_csv(out_csv, table)
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(v) for v in row) + " |\n" for row in table.itertuples(index=False)
    )
    caption = (
        "Every number of every result of this run. Each row names the corpus source (real "
        "corpus or synthetic twin) of its run.\n\n"
    )
    write_text(out_md, "# All results\n\n" + caption + header + body)
    return table


#: the numbers of the cross-corpus table, in its cells' order
CROSS_CORPUS_METRICS = ("uar_pooled", "accuracy_fold_mean")


def cross_corpus_step(
    results: Sequence[Path | str], *, out_md: Path | str, out_csv: Path | str
) -> pd.DataFrame:
    """ "Beyond the papers": every classification method of the run on every categorical
    corpus it ran on (rows: ``family/experiment``, columns: corpora), each cell giving the
    UAR and the fold-averaged accuracy and whether the corpus was real or a synthetic twin.
    The CSV holds the same numbers one row per (method, corpus)."""
    rows = []
    for path in results:
        r = read_result(path)
        if r["task"] != "classification":
            continue
        rows.append(
            {
                "method": f"{r['family']}/{r['experiment']}",
                "corpus": r["corpus"],
                "protocol": r["protocol"],
                **{m: r["metrics"].get(m) for m in CROSS_CORPUS_METRICS},
                "n_classes": len(r["labels"]),
                "corpus source": source_of(r).describe(),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "method",
            "corpus",
            "protocol",
            *CROSS_CORPUS_METRICS,
            "n_classes",
            "corpus source",
        ],
    )
    write_csv(out_csv, table)
    write_text(out_md, _cross_corpus_markdown(table))
    return table


def _cross_corpus_markdown(table: pd.DataFrame) -> str:
    corpora = sorted(table["corpus"].unique())
    lines = [
        "# Beyond the papers: every categorical method on every categorical corpus",
        "",
        "Each cell: UAR / accuracy averaged over test folds, the protocol and whether the "
        "numbers come from the real corpus or its synthetic twin. Chance level differs by "
        "corpus (1 / number of classes).",
        "",
        "| method | " + " | ".join(corpora) + " |",
        "|---|" + "---|" * len(corpora),
    ]
    for method, part in table.groupby("method", sort=True):
        cells = []
        for corpus in corpora:
            hit = part[part["corpus"] == corpus]
            if hit.empty:
                cells.append("")
                continue
            r = hit.iloc[0]
            kind = "real" if r["corpus source"] == "real corpus" else "twin"
            cells.append(
                f"{r['uar_pooled']:.3f} / {r['accuracy_fold_mean']:.3f} ({r['protocol']}, {kind})"
            )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def index_page_step(
    card_paths: Sequence[Path | str],
    *,
    table_dirs: Sequence[Path | str],
    figures: Sequence[Path | str],
    results_root: Path | str,
    out_md: Path | str,
    other_tables: Sequence[Path | str] = (),
) -> None:
    """``results/index.md``: every paper table with its verdict counts, the tables beyond
    the papers (``other_tables``: their first heading is the link text), and every figure."""
    from emorepro import tables

    root = Path(results_root)
    lines = [
        "# emorepro results",
        "",
        "Reported vs reproduced numbers for every table of every paper card. A verdict of "
        "'not yet reproduced' names the issue that adds the experiment; 'quoted (not re-run)' "
        "marks numbers the paper quotes from other works. Every table caption names the corpus "
        "source of its runs (real or synthetic twin, scale, seed).",
        "",
    ]
    for card_path, table_dir in zip(card_paths, table_dirs, strict=True):
        card = load_card(card_path)
        frames = {
            t["id"]: pd.read_csv(Path(table_dir) / f"{t['id']}.csv", keep_default_na=False)
            for t in card["tables"]
        }
        counts = tables.summary(frames)
        lines += [f"## {card['id']}", "", card["citation"], ""]
        lines.append("| table | cells | verdicts |")
        lines.append("|---|---|---|")
        for t, row in zip(card["tables"], counts.to_dict(orient="records"), strict=True):
            verdicts = ", ".join(
                f"{k}: {int(v)}" for k, v in row.items() if k not in ("table", "cells") and v
            )
            link = (Path(table_dir) / f"{t['id']}.md").relative_to(root).as_posix()
            lines.append(f"| [{t['label']}]({link}) | {int(row['cells'])} | {verdicts} |")
        lines.append("")
    if other_tables:
        lines += ["## Beyond the papers", ""]
        for path in other_tables:
            title = Path(path).read_text().splitlines()[0].lstrip("# ").strip()
            lines.append(f"* [{title}]({Path(path).relative_to(root).as_posix()})")
        lines.append("")
    lines += ["## Figures", ""]
    for fig in figures:
        rel = Path(fig).relative_to(root).as_posix()
        lines.append(f"* [{rel}]({rel})")
    atomic_write(out_md, lambda p: p.write_text("\n".join(lines) + "\n"))


def mirror_step(
    results: Sequence[Path | str],
    *,
    card_paths: Sequence[Path | str],
    tracking_uri: str,
    artifact_root: str,
    done: Path | str,
) -> None:
    """Mirror result files into MLflow: one experiment per paper card that uses a result
    (``emorepro/baselines`` for results no card uses), the result files as artifacts, and a
    marker listing the parent run ids."""
    from emorepro.tracking import mirror_results

    users = card_result_users(card_paths)
    loaded = []
    for path in map(Path, results):
        result: dict[str, Any] = read_result(path)
        rel = _relative_result(path)
        result["papers"] = sorted(users.get(rel, []))
        result["artifacts"] = [str(p) for p in sorted(path.parent.glob("*")) if p.is_file()]
        loaded.append(result)
    run_ids = mirror_results(loaded, tracking_uri=tracking_uri, artifact_root=artifact_root)
    write_json(
        done,
        {"tracking_uri": tracking_uri, "runs": dict(zip(map(str, results), run_ids, strict=True))},
    )
    log.info("mirrored %d results into %s", len(loaded), tracking_uri)


def _relative_result(metrics_json: Path) -> str:
    """``experiments/...`` part of a result folder path."""
    parts = metrics_json.parent.as_posix().split("/")
    return "/".join(parts[parts.index("experiments") :])


def card_result_users(card_paths: Sequence[Path | str]) -> Mapping[str, list[str]]:
    """Result folder (relative to the results root) -> ids of the cards whose ``dag`` rows
    use it."""
    users: dict[str, list[str]] = {}
    for path in card_paths:
        card = load_card(path)
        for cell in iter_cells(card, results=""):
            if cell.status != "dag" or not cell.result:
                continue
            if card["id"] not in users.setdefault(cell.result, []):
                users[cell.result].append(card["id"])
    return users
