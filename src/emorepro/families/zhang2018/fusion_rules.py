"""Decision- and score-level fusion of two modalities (Zhang et al. 2018, Sec. IV-C2, Table V).

:func:`fuse` applies one of Kittler et al.'s combination rules ("On combining classifiers",
TPAMI 1998) to per-item class probabilities of the audio and the visual classifier, arrays
``(n_items, C)`` with non-negative entries; equal class priors are assumed, under which the
rules reduce to (``P_r`` the probabilities of modality ``r``):

* ``max``: ``argmax_c max_r P_r(c)``;  ``min``: ``argmax_c min_r P_r(c)``;
* ``sum``: ``argmax_c Σ_r P_r(c)``;  ``average``: ``argmax_c (1/R) Σ_r P_r(c)`` (the same
  decisions as ``sum``; Table V prints identical numbers for both);
* ``product``: ``argmax_c Π_r P_r(c)``;
* ``majority_vote``: each modality votes for its own argmax; the class with most votes wins.

**Ties** go to the lowest class index, in every rule (``np.argmax``), including each voter's
own argmax. **Majority vote with two voters**: agreement gives that class; a 1-1 split is a tie.
``vote_tie="lowest"`` (default) resolves it like every other tie, to the lower class index (what
MATLAB's ``mode`` returns for two different labels). ``vote_tie="confident"`` takes the vote of
the more confident modality (larger top probability; equal -> lower index). The default is
chosen because "confident" makes majority vote decide exactly like ``max`` for two voters,
whereas Table V reports majority vote 6-11 points below ``max`` on every corpus.

:func:`score_level` is Eq. 6: ``w·S_audio + (1 - w)·S_visual`` (w = 0.5), then argmax. Its
scores may be any real numbers (e.g. SVM decision values).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

RULES: tuple[str, ...] = ("majority_vote", "max", "sum", "min", "average", "product")
VOTE_TIES: tuple[str, ...] = ("lowest", "confident")

_COMBINE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "max": lambda p: p.max(axis=0),
    "min": lambda p: p.min(axis=0),
    "sum": lambda p: p.sum(axis=0),
    "average": lambda p: p.mean(axis=0),
    "product": lambda p: p.prod(axis=0),
}


def _matrix(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"{name}: expected an (n_items, C) array with C >= 2, got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: holds NaN or infinite values")
    return a


def _stack(probs_audio: ArrayLike, probs_visual: ArrayLike) -> np.ndarray:
    a, v = _matrix(probs_audio, "probs_audio"), _matrix(probs_visual, "probs_visual")
    if a.shape != v.shape:
        raise ValueError(f"fuse: audio {a.shape} and visual {v.shape} probabilities differ")
    stack = np.stack([a, v])
    if (stack < 0).any():
        raise ValueError("fuse: class probabilities must be >= 0")
    return stack


def vote_counts(stack: np.ndarray) -> np.ndarray:
    """``(n_items, C)`` number of modalities whose argmax is each class."""
    votes = stack.argmax(axis=2)
    counts = np.zeros(stack.shape[1:], dtype=np.int64)
    rows = np.arange(stack.shape[1])
    for r in range(stack.shape[0]):
        counts[rows, votes[r]] += 1
    return counts


def _majority(stack: np.ndarray, vote_tie: str) -> np.ndarray:
    counts = vote_counts(stack)
    if vote_tie == "lowest":
        return counts.argmax(axis=1)
    # among the classes with most votes, the one backed by the most confident voter
    votes = stack.argmax(axis=2)
    rows = np.arange(stack.shape[1])
    backing = np.full(counts.shape, -np.inf)
    for r in range(stack.shape[0]):
        conf = stack[r, rows, votes[r]]
        backing[rows, votes[r]] = np.maximum(backing[rows, votes[r]], conf)
    backing[counts < counts.max(axis=1, keepdims=True)] = -np.inf
    return backing.argmax(axis=1)


def fuse(
    rule: str, probs_audio: ArrayLike, probs_visual: ArrayLike, *, vote_tie: str = "lowest"
) -> np.ndarray:
    """Class index per item (int64) under ``rule`` (one of :data:`RULES`); see the module doc."""
    if rule not in RULES:
        raise ValueError(f"fuse: unknown rule {rule!r}; use one of {list(RULES)}")
    if vote_tie not in VOTE_TIES:
        raise ValueError(f"fuse: vote_tie={vote_tie!r}; use one of {list(VOTE_TIES)}")
    stack = _stack(probs_audio, probs_visual)
    if rule == "majority_vote":
        return _majority(stack, vote_tie).astype(np.int64)
    return _COMBINE[rule](stack).argmax(axis=1).astype(np.int64)


def score_level(scores_a: ArrayLike, scores_v: ArrayLike, w: float = 0.5) -> np.ndarray:
    """Eq. 6: ``argmax_c (w·scores_a + (1 - w)·scores_v)`` per item (ties: lowest index)."""
    if not 0.0 <= w <= 1.0:
        raise ValueError(f"score_level: w={w}; use a weight in [0, 1]")
    a, v = _matrix(scores_a, "scores_a"), _matrix(scores_v, "scores_v")
    if a.shape != v.shape:
        raise ValueError(f"score_level: audio {a.shape} and visual {v.shape} scores differ")
    return (w * a + (1.0 - w) * v).argmax(axis=1).astype(np.int64)
