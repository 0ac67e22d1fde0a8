"""YouTube-8M (v2) video-level features: one index row per video.

Layout contract: ``<root>/train*.tfrecord`` and ``<root>/validate*.tfrecord``, TFRecord files
of ``tf.train.Example`` records with features ``id`` (bytes), ``labels`` (int64 list over 3,862
classes), ``mean_rgb`` (1024 float32) and ``mean_audio`` (128 float32). ``test*`` shards carry
no labels and are ignored. Shards are read with :mod:`emorepro.corpora.tfrecord` (no
TensorFlow). Partition: ``train*`` -> ``train``, ``validate*`` -> ``dev``.

Sources for the layout: google/youtube-8m ``readers.py`` (``YT8MAggregatedFeatureReader``:
a string id, sparse int64 ``labels`` and fixed-length float32 ``mean_rgb``/``mean_audio``;
the stored v1 copy names the id ``video_id``, v2 renamed it ``id``) and
jasonjiajs/videos-you-love-to-take ``readme.md`` (v2 format with ``id``/``labels``, the
``download.py partition=2/...`` commands and ``train*.tfrecord`` / ``validate*.tfrecord``
shard names, e.g. ``glob('yt8m-video/train*.tfrecord')``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.corpora._common import Row, corpus_root, finish_index, layout_error, rel
from emorepro.corpora.tfrecord import decode_example, read_records
from emorepro.errors import CorruptInputError

_PARTITIONS = (("train", "train"), ("validate", "dev"))
_DIMS = {"mean_rgb": 1024, "mean_audio": 128}


class YT8MAdapter:
    """Reads a folder of YouTube-8M video-level TFRecord shards."""

    name = "yt8m"
    layout = (
        "<root>/train*.tfrecord and validate*.tfrecord (tf.train.Example: id bytes, "
        "labels int64 list, mean_rgb 1024 floats, mean_audio 128 floats)"
    )

    def read_records(self, path: Path | str) -> Iterator[dict[str, Any]]:
        """Yield ``{id, labels, mean_rgb, mean_audio}`` for every record of one shard.

        A bad CRC, a truncated record or a missing/malformed feature raises
        :class:`CorruptInputError` naming the shard.
        """
        path = Path(path)
        if not path.is_file() or path.stat().st_size == 0:
            raise CorruptInputError(path, "shard is missing or empty", fix="re-download it")
        for i, data in enumerate(read_records(path)):
            try:
                ex = decode_example(data)
            except (ValueError, UnicodeDecodeError) as err:
                raise CorruptInputError(
                    path, f"record {i} is not a tf.train.Example: {err}"
                ) from None
            ids = ex.get("id")
            if not isinstance(ids, list) or len(ids) != 1 or not isinstance(ids[0], bytes):
                raise CorruptInputError(path, f"record {i} lacks the bytes feature 'id'")
            labels = ex.get("labels", [])
            if not isinstance(labels, list) or any(not isinstance(x, int) for x in labels):
                raise CorruptInputError(path, f"record {i}: 'labels' is not an int64 list")
            out: dict[str, Any] = {"id": ids[0].decode(), "labels": labels}
            for key, dim in _DIMS.items():
                vec = ex.get(key)
                if not isinstance(vec, np.ndarray) or vec.shape != (dim,):
                    raise CorruptInputError(path, f"record {i}: '{key}' is not {dim} floats")
                if not np.all(np.isfinite(vec)):
                    raise CorruptInputError(path, f"record {i}: '{key}' holds NaN/inf")
                out[key] = vec
            yield out

    def index(self, root: Path) -> pd.DataFrame:
        """One row per video: item_id = subject = video id, labels, feature_path = shard."""
        root = corpus_root(self, root)
        rows: list[Row] = []
        shards = 0
        for prefix, partition in _PARTITIONS:
            for shard in sorted(root.glob(f"{prefix}*.tfrecord")):
                shards += 1
                rows += [
                    {
                        "item_id": rec["id"],
                        "subject": rec["id"],
                        "labels": " ".join(str(x) for x in rec["labels"]) or None,
                        "partition": partition,
                        "feature_path": rel(root, shard),
                    }
                    for rec in self.read_records(shard)
                ]
        if shards == 0:
            raise layout_error(self, root, "no train*.tfrecord or validate*.tfrecord shards")
        return finish_index(self, root, rows)


ADAPTER = YT8MAdapter()
