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
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index, write_index
from emorepro.emotions import BASIC6, SEVEN
from emorepro.errors import ConfigError

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


def read_sheet(path: Path | str) -> pd.DataFrame:
    """A fold sheet (``fold, item_id, subject, role``) with ids kept as strings."""
    return pd.read_csv(path, dtype={"item_id": str, "subject": str})


def torch_device(execution: Mapping[str, Any]) -> Any:
    """Apply the execution knobs (torch threads) and return the torch device to train on."""
    from emorepro.training.runtime import pick_device, set_threads

    set_threads(int(execution.get("torch_threads", 1)))
    return pick_device(execution.get("device", "auto"))


class Progress:
    """Progress lines of a per-item loop: ``<label>: i/n items (elapsed, ~remaining)``, every
    item for up to 100 items (long recordings), else every 25 and the last."""

    def __init__(self, label: str, n: int, unit: str = "items") -> None:
        self.label, self.n, self.unit = label, n, unit
        self.every = 1 if n <= 100 else 25
        self.t0 = time.perf_counter()

    def step(self, i: int) -> None:
        if i % self.every and i != self.n:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / i * (self.n - i)
        log.info("%s: %d/%d %s (%.0f s, ~%.0f s left)", self.label, i, self.n, self.unit,
                 elapsed, left)  # fmt: skip


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
    from emorepro.media import read_audio

    index = read_index(index_csv)
    cache = Path(cache_dir) / cache_key(feature_set, level="functionals") / corpus
    rows = []
    progress = Progress(f"functionals {corpus}", len(index))
    for i, row in enumerate(index.itertuples(), 1):
        path = Path(root) / row.audio_path

        def compute(path: Path = path) -> pd.DataFrame:
            signal, sr = read_audio(path)
            return functionals(signal, sr, feature_set=feature_set, source=str(path)).to_frame().T

        rows.append(_cached(cache / f"{row.item_id}.parquet", compute).assign(item_id=row.item_id))
        progress.step(i)
    frame = pd.concat(rows, ignore_index=True)
    write_parquet(out, frame)
    return frame


def _label_rate_table(
    label: str,
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    cache: Path,
    path_column: str,
    compute: Callable[[Path, pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """Per-recording features at the 40 ms label rate, joined with the gold standard.

    ``compute(path, labels)`` returns one row per label frame (cached per recording under
    ``cache``); rows beyond the shorter of features and labels are dropped, with a warning
    when they differ by more than 2 frames. Output columns: ``item_id, time_s, <features>,
    arousal, valence``.
    """
    adapter = get_adapter(corpus)
    index = read_index(index_csv)
    parts = []
    progress = Progress(f"{label} {corpus}", len(index), "recordings")
    for i, row in enumerate(index.to_dict(orient="records"), 1):
        path = Path(root) / row[path_column]
        labels = adapter.read_labels(Path(root), row)
        feats = _cached(
            cache / f"{row['item_id']}.parquet",
            lambda path=path, labels=labels: compute(path, labels).reset_index(drop=True),
        )
        n = min(len(feats), len(labels))
        if abs(len(feats) - len(labels)) > 2:
            log.warning("%s: %d feature frames vs %d label frames; using the first %d",
                        row["item_id"], len(feats), len(labels), n)  # fmt: skip
        part = feats.iloc[:n].reset_index(drop=True)
        part.insert(0, "time_s", labels["time_s"].to_numpy()[:n])
        part.insert(0, "item_id", row["item_id"])
        part["arousal"] = labels["arousal"].to_numpy()[:n]
        part["valence"] = labels["valence"].to_numpy()[:n]
        parts.append(part)
        progress.step(i)
    frame = pd.concat(parts, ignore_index=True)
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
    from emorepro.media import read_audio

    def compute(path: Path, labels: pd.DataFrame) -> pd.DataFrame:
        signal, sr = read_audio(path)
        return windowed_functionals(
            signal, sr, feature_set=feature_set, window_s=window_s, hop_s=hop_s, source=str(path)
        )

    key = cache_key(feature_set, level="windowed", window_s=window_s, hop_s=hop_s)
    return _label_rate_table(
        f"windowed {feature_set} functionals",
        corpus,
        root,
        index_csv,
        out,
        cache=Path(cache_dir) / key / corpus,
        path_column="audio_path",
        compute=compute,
    )


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
    folds = read_sheet(sheet)
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
    folds = read_sheet(sheet)
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


def gold_standard_step(
    corpus: str, root: Path | str, index_csv: Path | str, out: Path | str
) -> pd.DataFrame:
    """The gold standard of every recording (item_id, time_s, arousal, valence)."""
    adapter = get_adapter(corpus)
    parts = []
    for row in read_index(index_csv).to_dict(orient="records"):
        labels = adapter.read_labels(Path(root), row)
        parts.append(labels[["time_s", "arousal", "valence"]].assign(item_id=row["item_id"]))
    frame = pd.concat(parts, ignore_index=True)[["item_id", "time_s", "arousal", "valence"]]
    write_parquet(out, frame)
    log.info("%s: gold standard of %d recordings, %d frames", corpus, len(parts), len(frame))
    return frame


def postprocess_step(
    *,
    predictions: Path | str,
    metrics: Path | str,
    labels: Path | str,
    sheet: Path | str,
    grid: str,
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """Post-process a continuous result with a paper's grid (:mod:`emorepro.postprocess`).

    Centring and scaling use the gold-standard mean and standard deviation of the training
    recordings of the fold sheet; every step is chosen on dev and applied unchanged to test.
    The chosen parameters and the dev CCC after each step are recorded in the result.
    """
    from emorepro.postprocess import GRIDS, postprocess_table

    if grid not in GRIDS:
        raise ConfigError(f"post-processing grid {grid!r} is unknown; known: {sorted(GRIDS)}")
    base = json.loads(Path(metrics).read_text())
    table = pd.read_parquet(predictions)
    folds = read_sheet(sheet)
    train_items = set(folds.loc[folds["role"] == "train", "item_id"])
    gold = pd.read_parquet(labels)
    gold = gold[gold["item_id"].astype(str).isin(train_items)]
    if gold.empty:
        raise ConfigError(f"{sheet}: no training recordings with labels in {labels}")
    reference = {
        t: (float(gold[t].mean()), float(gold[t].std(ddof=0))) for t in table["target"].unique()
    }
    out_table, pp = postprocess_table(table, grid=GRIDS[grid], train_reference=reference)
    result = {
        **{k: v for k, v in base.items() if k not in ("metrics", "metric_variants", "folds")},
        "experiment": f"{base['experiment']}+pp-{grid}",
        "rule": "postprocess",
        "metrics": pp["metrics"],
        "metric_variants": pp["metric_variants"],
        "params": {**base.get("params", {}), "postprocess": pp["params"], "grid": grid},
        "raw_metrics": base["metrics"],
        "folds": [{"fold": 0, "metrics": pp["metrics"], "params": {"grid": grid}}],
    }
    write_parquet(out_predictions, out_table)
    write_json(out_metrics, result)
    log.info("%s post-processed (%s): %s", base["experiment"], grid, pp["metrics"])
    return result


def lld_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    feature_set: str,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """openSMILE LLDs averaged into each 40 ms label frame, joined with the gold standard.

    One row per (item_id, label frame): ``item_id, time_s, <LLDs...>, arousal, valence``;
    cached per recording, keyed by feature set, level and library version.
    """
    from emorepro.features.opensmile_features import cache_key, lld_at_label_rate, llds
    from emorepro.media import read_audio

    def compute(path: Path, labels: pd.DataFrame) -> pd.DataFrame:
        times = labels["time_s"].to_numpy()
        signal, sr = read_audio(path)
        frame = llds(signal, sr, feature_set=feature_set, source=str(path))
        n = int(np.searchsorted(times, frame.index.to_numpy()[-1] + 0.1, side="right"))
        if n < len(times):
            log.warning("%s: labels run %.2f s past the audio; truncated", path,
                        times[-1] - times[n - 1])  # fmt: skip
        values = lld_at_label_rate(frame, times[:n])
        return pd.DataFrame(values, columns=[str(c) for c in frame.columns])

    key = cache_key(feature_set, level="lld_label_rate")
    return _label_rate_table(
        f"{feature_set} LLDs",
        corpus,
        root,
        index_csv,
        out,
        cache=Path(cache_dir) / key / corpus,
        path_column="audio_path",
        compute=compute,
    )


def blstm_step(
    corpus: str,
    protocol: str,
    *,
    frames: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    loss: str,
    feature_set: str,
    model: Mapping[str, Any],
    execution: Mapping[str, Any],
    checkpoint: Path | str,
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """BLSTM on LLD frames (:mod:`emorepro.baselines.blstm`); resumes from ``checkpoint``."""
    from emorepro.baselines.blstm import blstm_on_partition

    device = torch_device(execution)
    table = pd.read_parquet(frames)
    folds = read_sheet(sheet)
    log.info("BLSTM %s/%s %s loss=%s on %s", corpus, protocol, feature_set, loss, device)
    preds, result = blstm_on_partition(
        table,
        folds,
        loss=loss,
        epochs=int(model["epochs"]),
        lr=float(model["lr"]),
        batch_size=int(model["batch_size"]),
        seq_len=int(model["seq_len"]),
        hidden=int(model["hidden"]),
        layers=int(model["layers"]),
        seed=int(source["seed"]),
        device=device,
        checkpoint=checkpoint,
    )
    result = {
        **_result_header(
            experiment=f"blstm_{loss}_{feature_set}",
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="blstm_continuous",
        ),
        **result,
        "params": {**result["params"], "feature_set": feature_set, "loss": loss},
        "device": str(device),
    }
    write_parquet(out_predictions, preds)
    write_json(out_metrics, result)
    Path(checkpoint).unlink(missing_ok=True)
    log.info("%s/%s: %s", corpus, protocol, result["metrics"])
    return result


def _npz_cached(path: Path, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if path.exists():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    arrays = compute()
    _atomic(path, lambda p: np.savez_compressed(p.open("wb"), **arrays))
    return arrays


def _npz_manifest(
    label: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    cache: Path,
    cache_dir: Path | str,
    path_column: str,
    compute: Callable[[Path], dict[str, np.ndarray]],
    describe: Callable[[dict[str, np.ndarray]], dict[str, Any]],
) -> pd.DataFrame:
    """Compute (or reuse) one ``.npz`` per item under ``cache`` and write the manifest:
    ``item_id``, the file relative to ``cache_dir``, and ``describe(arrays)``."""
    index = read_index(index_csv)
    rows = []
    progress = Progress(label, len(index))
    for i, row in enumerate(index.to_dict(orient="records"), 1):
        path = Path(root) / row[path_column]
        target = cache / f"{row['item_id']}.npz"
        arrays = _npz_cached(target, lambda path=path: compute(path))
        rel = target.relative_to(Path(cache_dir)).as_posix()
        rows.append({"item_id": row["item_id"], "file": rel, **describe(arrays)})
        progress.step(i)
    frame = pd.DataFrame(rows)
    write_parquet(out, frame)
    return frame


def logmel_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    length: int,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """Zhang et al. log-Mel segments (64 x ``length`` x 3) of every item, cached per item.

    The output table is a manifest: one row per item with its segment count and the cached
    ``.npz`` (array ``segments``, float16 ``(n_seg, 64, length, 3)``; ``bounds_s`` start/end
    time of each segment) relative to ``cache_dir``.
    """
    from emorepro.features import logmel as LM
    from emorepro.features.opensmile_features import cache_key
    from emorepro.media import read_audio

    shift = LM.default_shift(length)
    key = cache_key("logmel", length=length, shift=shift, n_mels=64, fmin=20, fmax=8000)

    def compute(path: Path) -> dict[str, np.ndarray]:
        signal, sr = read_audio(path)
        seg = LM.utterance_segments(signal, sr, length=length, shift=shift, source=str(path))
        bounds = LM.segment_bounds_s(len(seg), sr, length=length, shift=shift)
        return {"segments": seg.astype(np.float16), "bounds_s": bounds}

    frame = _npz_manifest(
        f"log-Mel 64x{length} {corpus}",
        root,
        index_csv,
        out,
        cache=Path(cache_dir) / key / corpus,
        cache_dir=cache_dir,
        path_column="audio_path",
        compute=compute,
        describe=lambda a: {"n_segments": len(a["segments"])},
    )
    log.info("%s: %d segments of 64x%dx3", corpus, frame["n_segments"].sum(), length)
    return frame


def face_crops_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    kind: str,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """Face crops of every item's video (``zhang``: eye-normalised 150x110; ``tzirakis``:
    96x96), cached per item as ``.npz`` (``crops`` uint8 (n_frames, h, w, 3)); the output
    is a manifest with the per-item detection statistics."""
    from emorepro.features.faces import video_face_crops
    from emorepro.features.opensmile_features import cache_key

    def compute(path: Path) -> dict[str, np.ndarray]:
        crops, found = video_face_crops(path, kind=kind)
        return {"crops": crops, "stats": np.asarray(json.dumps(found))}

    def describe(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        found = json.loads(str(arrays["stats"]))
        return {"n_frames": len(arrays["crops"]), **{k: found[k] for k in sorted(found)}}

    return _npz_manifest(
        f"faces ({kind}) {corpus}",
        root,
        index_csv,
        out,
        cache=Path(cache_dir) / cache_key("faces", kind=kind, detector="haar") / corpus,
        cache_dir=cache_dir,
        path_column="video_path",
        compute=compute,
        describe=describe,
    )


def landmark_model_step(out: Path | str, *, seed: int) -> Path:
    """Train the landmark detector on synthetic faces (used when no model file is configured)."""
    from emorepro.features.landmarks import train_synthetic_model

    log.info("training a dlib shape predictor on rendered faces (seed %d)", seed)
    out = Path(out)
    tmp = out.with_name(f".tmp-{out.name}")
    train_synthetic_model(tmp, seed=seed)
    # sidecar first: a model file is never present without its reference points
    os.replace(tmp.with_name(tmp.name + ".json"), out.with_name(out.name + ".json"))
    os.replace(tmp, out)
    return out


def video_descriptors_step(
    corpus: str,
    root: Path | str,
    index_csv: Path | str,
    out: Path | str,
    *,
    landmark_model: Path | str,
    window_s: float,
    cache_dir: Path | str,
) -> pd.DataFrame:
    """AVEC-style video descriptors of every recording at the 40 ms label rate, joined with
    the gold standard: windowed geometric functionals and raw LBP-TOP histograms (their PCA
    is fitted per protocol on training recordings by :func:`video_windowed_step`)."""
    from emorepro.features.landmarks import LandmarkModel
    from emorepro.features.opensmile_features import cache_key
    from emorepro.features.video_descriptors import video_descriptors

    model = LandmarkModel.load(landmark_model)
    key = cache_key("video", model=_file_digest(Path(landmark_model)), window_s=window_s)

    def compute(path: Path, labels: pd.DataFrame) -> pd.DataFrame:
        return video_descriptors(
            path, landmark_model=model, n_label_frames=len(labels), window_s=window_s
        )

    return _label_rate_table(
        "video descriptors",
        corpus,
        root,
        index_csv,
        out,
        cache=Path(cache_dir) / key / corpus,
        path_column="video_path",
        compute=compute,
    )


def _file_digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def video_windowed_step(
    descriptors: Path | str,
    sheet: Path | str,
    out: Path | str,
    *,
    kind: str,
    pca_dim: int,
    window_s: float,
) -> pd.DataFrame:
    """The SVR input of one video descriptor: ``geometric`` (windowed mean/std of the
    landmark features) or ``appearance`` (PCA of the LBP-TOP histograms fitted on the
    protocol's training recordings only, then windowed mean/std)."""
    from emorepro.features.video_descriptors import appearance_functionals, fit_pca

    table = pd.read_parquet(descriptors)
    keys = ["item_id", "time_s"]
    gold = ["arousal", "valence"]
    if kind == "geometric":
        cols = [c for c in table.columns if c.startswith(("geo_mean_", "geo_std_"))]
        frame = table[keys + cols + gold]
    elif kind == "appearance":
        folds = read_sheet(sheet)
        train = set(folds.loc[folds["role"] == "train", "item_id"])
        raw = table.filter(regex=r"^app_raw_")
        pca = fit_pca(raw[table["item_id"].isin(train)].to_numpy(np.float64), pca_dim)
        log.info("appearance PCA: %d -> %d dims on %d training frames", raw.shape[1],
                 pca_dim, int(table["item_id"].isin(train).sum()))  # fmt: skip
        parts = []
        for _, rec in table.groupby("item_id", sort=False):
            app = appearance_functionals(rec.reset_index(drop=True), pca, window_s=window_s)
            parts.append(pd.concat([rec[keys].reset_index(drop=True), app,
                                    rec[gold].reset_index(drop=True)], axis=1))  # fmt: skip
        frame = pd.concat(parts, ignore_index=True)
    else:
        raise ConfigError(f"video descriptor kind {kind!r}: use geometric or appearance")
    write_parquet(out, frame)
    return frame
