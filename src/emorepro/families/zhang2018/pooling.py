"""Segment-to-item pooling (Zhang et al. 2018, Sec. III-C): a video's segment features are
averaged ("average-pooling performs better") into one fixed-length vector for the linear SVM;
max pooling is the compared alternative.

``item_ids`` names the item (utterance, video) of each segment row; items come out in order of
first appearance, and each pooled row is the mean (or element-wise maximum) of that item's
segment rows. Sums are accumulated in float64; the result has the input's floating dtype.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from numpy.typing import ArrayLike

POOLS = ("mean", "max")


def pool_segments(
    features: ArrayLike, item_ids: Sequence[Hashable], *, how: str = "mean"
) -> tuple[list[Hashable], np.ndarray]:
    """``(items, (n_items, D) pooled features)``; ``how`` is ``"mean"`` or ``"max"``."""
    if how not in POOLS:
        raise ValueError(f"pool_segments: how={how!r}; use one of {list(POOLS)}")
    x = np.asarray(features)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"pool_segments: expected float (n_segments, D), got {x.dtype} {x.shape}")
    ids = list(item_ids)
    if len(ids) != x.shape[0] or not ids:
        raise ValueError(f"pool_segments: {len(ids)} item ids for {x.shape[0]} segments")
    index: dict[Hashable, int] = {}
    group = np.fromiter((index.setdefault(i, len(index)) for i in ids), np.int64, len(ids))
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(len(index)))
    rows = x[order].astype(np.float64)
    if how == "mean":
        pooled = np.add.reduceat(rows, starts, axis=0) / np.bincount(group)[:, None]
    else:
        pooled = np.maximum.reduceat(rows, starts, axis=0)
    return list(index), pooled.astype(x.dtype)


def average_pool(
    features: ArrayLike, item_ids: Sequence[Hashable]
) -> tuple[list[Hashable], np.ndarray]:
    """Mean of each item's segment features (the paper's choice)."""
    return pool_segments(features, item_ids, how="mean")


def max_pool(
    features: ArrayLike, item_ids: Sequence[Hashable]
) -> tuple[list[Hashable], np.ndarray]:
    """Element-wise maximum of each item's segment features (the compared alternative)."""
    return pool_segments(features, item_ids, how="max")
