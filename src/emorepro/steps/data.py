"""Data steps: synthetic twins, corpus indices, fold sheets and gold standards.

Every step reads its inputs and writes its outputs atomically (:mod:`emorepro.io`), so a
job's outputs are complete or absent; progress goes to the ``emorepro`` logger.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index, write_index
from emorepro.io import atomic_write, write_csv, write_json, write_parquet

log = logging.getLogger("emorepro")


def synth_step(corpus: str, root: Path | str, *, scale: str, seed: int, threads: int = 1) -> None:
    """Generate a synthetic twin into ``root`` (built beside it, renamed when complete), its
    recordings in ``threads`` worker processes (the same files for any ``threads``)."""
    from emorepro.synth import generate_corpus

    root = Path(root)
    tmp = root.with_name(f".{root.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("generating synthetic %s (scale=%s, seed=%d)", corpus, scale, seed)
    generate_corpus(corpus, tmp, scale=scale, seed=seed, threads=threads)
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    n = sum(1 for p in root.rglob("*") if p.is_file())
    log.info("wrote %d files under %s", n, root)


def index_step(corpus: str, root: Path | str, out: Path | str) -> pd.DataFrame:
    """Index a corpus with its adapter and write the canonical index CSV."""
    frame = get_adapter(corpus).index(Path(root))
    log.info("%s: %d items, %d subjects", corpus, len(frame), frame["subject"].nunique())
    atomic_write(out, lambda p: write_index(frame, p))
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
    write_csv(out_csv, sheet)
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
