"""Synthetic twin of the YouTube-8M (v2) video-level features.

Layout (as downloaded with ``download.py partition=2/video/{train,validate}``)::

    <root>/train0000.tfrecord ... train{N-1:04d}.tfrecord
    <root>/validate0000.tfrecord ...

Each record is a ``tf.train.Example`` with ``id`` (bytes, a 4-character video id),
``labels`` (int64 list, class ids in 0..3861), ``mean_rgb`` (1024 float32) and
``mean_audio`` (128 float32). Test shards (no labels) are not generated.

Signal: every active class has a random prototype in the rgb and the audio space; a video's
features are the mean of its labels' prototypes plus noise (rgb and audio both informative,
audio noisier), so fusion helps. The real corpus has 6.1 M videos in 3,844 train + 3,844
validate shards; generating that is not sensible, so ``full`` stops at a few thousand videos.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np

from emorepro.corpora.tfrecord import encode_example, write_records

N_CLASSES = 3862
RGB_DIM, AUDIO_DIM = 1024, 128
_STREAM = 8  # stable stream id of this corpus in every rng seed

#: size profiles; ``n_classes_active`` classes carry all labels (drawn from 0..3861)
SCALES: dict[str, dict] = {
    "tiny": {
        "n_train": 240, "n_validate": 60, "train_shards": 2, "validate_shards": 1,
        "n_classes_active": 20, "mean_labels": 3.0,
    },
    "small": {
        "n_train": 1600, "n_validate": 400, "train_shards": 4, "validate_shards": 2,
        "n_classes_active": 200, "mean_labels": 3.0,
    },
    "full": {
        "n_train": 4800, "n_validate": 1200, "train_shards": 8, "validate_shards": 4,
        "n_classes_active": N_CLASSES, "mean_labels": 3.0,
    },
}  # fmt: skip

_ID_CHARS = np.array(list(string.ascii_letters + string.digits))


def _video_ids(n: int, rng: np.random.Generator) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        vid = "".join(rng.choice(_ID_CHARS, size=4))
        if vid not in seen:
            seen.add(vid)
            out.append(vid)
    return out


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the twin's train/validate shards under ``root`` (in this process whatever
    ``threads``: a few MB of feature vectors, written in about a second)."""
    cfg = SCALES[scale]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, _STREAM, 0])
    n_active = int(cfg["n_classes_active"])
    classes = np.sort(rng.choice(N_CLASSES, size=n_active, replace=False))
    popularity = 1.0 / np.arange(1, n_active + 1) ** 0.7  # Zipf-like class frequencies
    popularity = rng.permutation(popularity / popularity.sum())
    proto_rgb = rng.normal(0.0, 1.0, (n_active, RGB_DIM)).astype(np.float32)
    proto_audio = rng.normal(0.0, 1.0, (n_active, AUDIO_DIM)).astype(np.float32)
    n_total = int(cfg["n_train"]) + int(cfg["n_validate"])
    ids = _video_ids(n_total, rng)
    splits = [
        ("train", 0, int(cfg["n_train"]), int(cfg["train_shards"])),
        ("validate", int(cfg["n_train"]), n_total, int(cfg["validate_shards"])),
    ]
    for prefix, start, stop, n_shards in splits:
        bounds = np.linspace(start, stop, n_shards + 1).round().astype(int)
        for shard in range(n_shards):
            records = []
            for k in range(bounds[shard], bounds[shard + 1]):
                vrng = np.random.default_rng([seed, _STREAM, 1, k])
                n_lab = int(np.clip(1 + vrng.poisson(cfg["mean_labels"] - 1), 1, min(8, n_active)))
                picked = np.sort(vrng.choice(n_active, size=n_lab, replace=False, p=popularity))
                rgb = proto_rgb[picked].mean(0) + vrng.normal(0, 0.8, RGB_DIM)
                audio = proto_audio[picked].mean(0) + vrng.normal(0, 1.2, AUDIO_DIM)
                records.append(
                    encode_example(
                        bytes_features={"id": [ids[k].encode()]},
                        int64_features={"labels": [int(c) for c in classes[picked]]},
                        float_features={
                            "mean_rgb": (0.25 * rgb).astype(np.float32),
                            "mean_audio": (0.25 * audio).astype(np.float32),
                        },
                    )
                )
            write_records(root / f"{prefix}{shard:04d}.tfrecord", records)
