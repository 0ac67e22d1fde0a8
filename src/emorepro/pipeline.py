"""File-level pipeline steps: what each Snakemake rule does, callable without Snakemake.

Every step reads its inputs, computes, and writes its outputs atomically (temporary file
then rename), so a job's outputs are complete or absent. Long steps log progress through
the ``emorepro`` logger (Snakemake scripts route it to the rule's ``log:`` file).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index, write_index
from emorepro.emotions import BASIC6, SEVEN

log = logging.getLogger("emorepro")


def _atomic(path: Path | str, write: Callable[[Path], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path | str, data: Mapping[str, Any]) -> None:
    """Write JSON atomically, keys sorted, floats as Python repr."""
    _atomic(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n"))


def write_parquet(path: Path | str, frame: pd.DataFrame) -> None:
    _atomic(path, lambda p: frame.to_parquet(p, index=False))


def synth_step(corpus: str, root: Path | str, *, scale: str, seed: int) -> None:
    """Generate a synthetic twin into ``root`` (built beside it, renamed when complete)."""
    from emorepro.synth import generate_corpus

    root = Path(root)
    tmp = root.with_name(f".{root.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("generating synthetic %s (scale=%s, seed=%d)", corpus, scale, seed)
    generate_corpus(corpus, tmp, scale=scale, seed=seed)
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    n = sum(1 for p in root.rglob("*") if p.is_file())
    log.info("wrote %d files under %s", n, root)


def index_step(corpus: str, root: Path | str, out: Path | str) -> pd.DataFrame:
    """Index a corpus with its adapter and write the canonical index CSV."""
    frame = get_adapter(corpus).index(Path(root))
    log.info("%s: %d items, %d subjects", corpus, len(frame), frame["subject"].nunique())
    _atomic(out, lambda p: write_index(frame, p))
    return frame


def fold_sheet_step(
    corpus: str,
    protocol: str,
    index_csv: Path | str,
    out_csv: Path | str,
    out_json: Path | str,
    *,
    seed: int,
    protocols: Mapping[str, Any],
) -> str:
    """Write the fold sheet (after the leakage gate) and its hash; returns the hash."""
    from emorepro.protocols import make_sheet, sheet_hash

    index = read_index(index_csv)
    sheet = make_sheet(
        protocol,
        index,
        seed=seed,
        logso_groups=protocols.get("logso_groups", 5),
        recola46_sizes=protocols.get("recola46_sizes", (16, 15, 15)),
    )
    digest = sheet_hash(sheet)
    counts = sheet.groupby(["fold", "role"])["subject"].nunique().unstack(fill_value=0)
    _atomic(out_csv, lambda p: sheet.to_csv(p, index=False))
    write_json(
        out_json,
        {
            "corpus": corpus,
            "protocol": protocol,
            "sha256": digest,
            "n_folds": int(sheet["fold"].nunique()),
            "subjects_per_role": {str(k): v for k, v in counts.to_dict(orient="index").items()},
            "speaker_disjoint": True,
        },
    )
    log.info("%s/%s: %d folds, sha256 %s", corpus, protocol, sheet["fold"].nunique(), digest)
    return digest


def _cached(cache: Path, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    if cache.exists():
        return pd.read_parquet(cache)
    frame = compute()
    write_parquet(cache, frame)
    return frame


def functionals_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    feature_set: str,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """openSMILE functionals per item (one row per item_id), cached per item."""
    from emorepro.features.opensmile_features import cache_key, functionals
    from emorepro.synth.media import read_audio

    index = read_index(index_csv)
    cache = Path(cache_dir) / cache_key(feature_set, level="functionals") / corpus
    rows = []
    for i, row in enumerate(index.itertuples(), 1):
        path = Path(root) / row.audio_path

        def compute(path: Path = path) -> pd.DataFrame:
            signal, sr = read_audio(path)
            return functionals(signal, sr, feature_set=feature_set, source=str(path)).to_frame().T

        rows.append(_cached(cache / f"{row.item_id}.parquet", compute).assign(item_id=row.item_id))
        if i % 25 == 0 or i == len(index):
            log.info("functionals %s: %d/%d items", corpus, i, len(index))
    frame = pd.concat(rows, ignore_index=True)
    write_parquet(out, frame)
    return frame


def windowed_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    feature_set: str,
    window_s: float,
    hop_s: float,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """Windowed functionals per label frame joined with the gold standard, one row per frame."""
    from emorepro.features.opensmile_features import cache_key, windowed_functionals
    from emorepro.synth.media import read_audio

    adapter = get_adapter(corpus)
    index = read_index(index_csv)
    cache = (
        Path(cache_dir)
        / cache_key(feature_set, level="windowed", window_s=window_s, hop_s=hop_s)
        / corpus
    )
    parts = []
    for i, row in enumerate(index.to_dict(orient="records"), 1):
        path = Path(root) / row["audio_path"]

        def compute(path: Path = path) -> pd.DataFrame:
            signal, sr = read_audio(path)
            feats = windowed_functionals(
                signal,
                sr,
                feature_set=feature_set,
                window_s=window_s,
                hop_s=hop_s,
                source=str(path),
            )
            return feats.reset_index(drop=True)

        feats = _cached(cache / f"{row['item_id']}.parquet", compute)
        labels = adapter.read_labels(Path(root), row)
        n = min(len(feats), len(labels))
        if abs(len(feats) - len(labels)) > 2:
            log.warning(
                "%s: %d feature frames vs %d label frames; using the first %d",
                row["item_id"],
                len(feats),
                len(labels),
                n,
            )
        part = feats.iloc[:n].reset_index(drop=True)
        part.insert(0, "time_s", labels["time_s"].to_numpy()[:n])
        part.insert(0, "item_id", row["item_id"])
        part["arousal"] = labels["arousal"].to_numpy()[:n]
        part["valence"] = labels["valence"].to_numpy()[:n]
        parts.append(part)
        log.info("windowed functionals %s: %d/%d recordings", corpus, i, len(index))
    frame = pd.concat(parts, ignore_index=True)
    write_parquet(out, frame)
    return frame


def _result_header(
    *,
    experiment: str,
    corpus: str,
    protocol: str,
    source: Mapping[str, Any],
    sheet_meta: Path | str,
    rule: str,
) -> dict[str, Any]:
    return {
        "paper": "baselines",
        "experiment": experiment,
        "corpus": corpus,
        "protocol": protocol,
        "source": source["source"],
        "scale": source.get("scale"),
        "seed": source["seed"],
        "rule": rule,
        "fold_sheet_sha256": json.loads(Path(sheet_meta).read_text())["sha256"],
    }


def classes_for(corpus: str) -> tuple[str, ...]:
    """Fixed label list of a categorical corpus (six basic emotions, or seven with neutral)."""
    return SEVEN if corpus in ("afew", "omg_emotion") else BASIC6


def svm_step(
    corpus: str,
    protocol: str,
    *,
    features: Path | str,
    index_csv: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    C: float,
    feature_set: str,
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """Linear SVM over the folds of a categorical corpus; writes predictions and metrics."""
    from emorepro.baselines.experiments import svm_over_folds

    feats = pd.read_parquet(features).set_index("item_id")
    labels = read_index(index_csv).set_index("item_id")["emotion"]
    folds = pd.read_csv(sheet, dtype={"item_id": str, "subject": str})
    preds, result = svm_over_folds(feats, folds, labels, C=C, classes=classes_for(corpus))
    result = {
        **_result_header(
            experiment=f"svm_{feature_set}",
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="svm_categorical",
        ),
        "params": {"C": C, "feature_set": feature_set, "kernel": "linear", "svm": "libsvm C-SVC"},
        **result,
    }
    write_parquet(out_predictions, preds)
    write_json(out_metrics, result)
    log.info("%s/%s: %s", corpus, protocol, result["metrics"])
    return result


def svr_step(
    corpus: str,
    protocol: str,
    *,
    frames: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    C_grid: Sequence[float],
    epsilon: float,
    train_frame_step: int,
    window_s: float,
    feature_set: str,
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """ε-SVR on the fixed partition of a continuous corpus; writes predictions and metrics."""
    from emorepro.baselines.experiments import svr_on_partition

    table = pd.read_parquet(frames)
    folds = pd.read_csv(sheet, dtype={"item_id": str, "subject": str})
    preds, result = svr_on_partition(
        table, folds, C_grid=C_grid, epsilon=epsilon, train_frame_step=train_frame_step
    )
    result = {
        **_result_header(
            experiment=f"svr_{feature_set}",
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="svr_continuous",
        ),
        **result,
        "params": {
            **result["params"],
            "C_grid": list(C_grid),
            "epsilon": epsilon,
            "train_frame_step": train_frame_step,
            "window_s": window_s,
            "feature_set": feature_set,
            "kernel": "linear",
            "svm": "libsvm epsilon-SVR",
        },
    }
    write_parquet(out_predictions, preds)
    write_json(out_metrics, result)
    log.info("%s/%s: %s", corpus, protocol, result["metrics"])
    return result


def mirror_step(results: Sequence[Path | str], *, tracking_uri: str, done: Path | str) -> None:
    """Mirror result files into MLflow and write a marker listing the parent run ids."""
    from emorepro.tracking import mirror_results

    loaded = [json.loads(Path(p).read_text()) for p in results]
    run_ids = mirror_results(loaded, tracking_uri=tracking_uri)
    write_json(
        done,
        {"tracking_uri": tracking_uri, "runs": dict(zip(map(str, results), run_ids, strict=True))},
    )
    log.info("mirrored %d results into %s", len(loaded), tracking_uri)


def baseline_table_step(
    results: Sequence[Path | str], *, out_md: Path | str, out_csv: Path | str
) -> pd.DataFrame:
    """One row per (experiment, corpus, protocol, metric) with the corpus source."""
    rows = []
    for path in results:
        r = json.loads(Path(path).read_text())
        origin = (
            r["source"] if r["source"] == "real" else f"synthetic ({r['scale']}, seed {r['seed']})"
        )
        for metric, value in r["metrics"].items():
            if metric.startswith("n_"):
                continue
            rows.append(
                {
                    "experiment": r["experiment"],
                    "corpus": r["corpus"],
                    "protocol": r["protocol"],
                    "metric": metric,
                    "value": round(float(value), 4),
                    "variant": r.get("metric_variants", {}).get(metric, ""),
                    "corpus source": origin,
                    "fold sheet": r["fold_sheet_sha256"][:12],
                }
            )
    table = pd.DataFrame(rows)
    _atomic(out_csv, lambda p: table.to_csv(p, index=False))
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    body = "".join(
        "| " + " | ".join(str(v) for v in row) + " |\n" for row in table.itertuples(index=False)
    )
    caption = (
        "Classical baselines reproduced by emorepro. Every number comes from a run on the "
        "corpus source named in its row.\n\n"
    )
    _atomic(out_md, lambda p: p.write_text("# Baselines\n\n" + caption + header + body))
    return table
