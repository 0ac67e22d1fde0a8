"""The one audited implementation of CCC, PCC and the classification metrics.

Every stored number is recorded next to its :class:`MetricVariant` (e.g. ``ccc[pooled,ddof=0]``)
because the papers do not say how CCC was pooled or which variance estimator was used
(experiments.md §0.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd


def _pair(y_true: object, y_pred: object, *, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.size != p.size:
        raise ValueError(f"{name}: y_true has {t.size} values but y_pred has {p.size}")
    if t.size < 2:
        raise ValueError(f"{name}: needs at least 2 values, got {t.size}")
    if np.isnan(t).any() or np.isnan(p).any():
        raise ValueError(
            f"{name}: NaN in {'y_true' if np.isnan(t).any() else 'y_pred'} "
            f"({int(np.isnan(t).sum())} in y_true, {int(np.isnan(p).sum())} in y_pred)"
        )
    if np.isinf(t).any() or np.isinf(p).any():
        # +-inf would give a silent NaN correlation: a diverged model must fail loudly
        raise ValueError(
            f"{name}: infinite values ({int(np.isinf(t).sum())} in y_true, "
            f"{int(np.isinf(p).sum())} in y_pred); the model diverged or a file is corrupt"
        )
    return t, p


def ccc(y_true: object, y_pred: object, *, ddof: int = 0) -> float:
    """Concordance correlation coefficient (Lin 1989).

    ``rho_c = 2 cov(t, p) / (var(t) + var(p) + (mean(t) - mean(p))**2)``, with population
    moments (divide by n) for ``ddof=0`` and sample moments (n - 1) for ``ddof=1``; the
    mean-difference term does not depend on ddof, so the two differ slightly.

    Degenerate cases: fewer than 2 values, any NaN or any +-inf -> ``ValueError``. Zero denominator
    (both sequences constant with equal means) -> 1.0 if the sequences are identical, else 0.0.
    One constant sequence and one varying -> 0.0 (cov = 0).

    >>> ccc([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> round(ccc([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), 4)  # 2*(2/3) / (2/3 + 2/3 + 1)
    0.5714
    """
    t, p = _pair(y_true, y_pred, name="ccc")
    mt, mp = t.mean(), p.mean()
    n = t.size
    cov = float(np.sum((t - mt) * (p - mp)) / (n - ddof))
    den = float(t.var(ddof=ddof) + p.var(ddof=ddof) + (mt - mp) ** 2)
    if den == 0.0:
        return 1.0 if np.array_equal(t, p) else 0.0
    return 2.0 * cov / den


def ccc_partition(
    y_true: Sequence[np.ndarray],
    y_pred: Sequence[np.ndarray],
    *,
    pooling: Literal["pooled", "per_recording"] = "pooled",
    ddof: int = 0,
) -> float:
    """CCC over a partition given as one array per recording.

    ``pooled``: concatenate all recordings, then one CCC (AVEC convention).
    ``per_recording``: mean of the per-recording CCCs (each recording needs >= 2 values).
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"ccc_partition: {len(y_true)} true vs {len(y_pred)} predicted recordings")
    if len(y_true) == 0:
        raise ValueError("ccc_partition: no recordings")
    for i, (t, p) in enumerate(zip(y_true, y_pred, strict=True)):
        if np.size(t) != np.size(p):
            raise ValueError(
                f"ccc_partition: recording {i} has {np.size(t)} vs {np.size(p)} values"
            )
    if pooling == "pooled":
        return ccc(np.concatenate([np.ravel(t) for t in y_true]),
                   np.concatenate([np.ravel(p) for p in y_pred]), ddof=ddof)  # fmt: skip
    if pooling == "per_recording":
        return float(np.mean([ccc(t, p, ddof=ddof) for t, p in zip(y_true, y_pred, strict=True)]))
    raise ValueError(f"pooling must be 'pooled' or 'per_recording', got {pooling!r}")


def pcc(y_true: object, y_pred: object) -> float:
    """Pearson correlation ``cov / (std_t * std_p)``.

    Fewer than 2 values or NaN -> ``ValueError``; a constant sequence makes PCC undefined and
    returns ``nan`` (as ``scipy.stats.pearsonr`` does).
    """
    t, p = _pair(y_true, y_pred, name="pcc")
    dt, dp = t - t.mean(), p - p.mean()
    den = float(np.sqrt(np.sum(dt * dt) * np.sum(dp * dp)))
    if den == 0.0:
        return float("nan")
    return float(np.clip(np.sum(dt * dp) / den, -1.0, 1.0))


def _labels_pair(
    y_true: object, y_pred: object, labels: Sequence[str] | None, *, name: str
) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray([str(v) for v in np.ravel(np.asarray(y_true, dtype=object))])
    p = np.asarray([str(v) for v in np.ravel(np.asarray(y_pred, dtype=object))])
    if t.size != p.size:
        raise ValueError(f"{name}: y_true has {t.size} labels but y_pred has {p.size}")
    if t.size == 0:
        raise ValueError(f"{name}: no samples")
    if labels is not None:
        if len(set(labels)) != len(labels):
            raise ValueError(f"{name}: duplicate entries in labels {list(labels)}")
        unknown = sorted((set(t.tolist()) | set(p.tolist())) - set(labels))
        if unknown:
            raise ValueError(f"{name}: labels {unknown} are not in labels={list(labels)}")
    return t, p


def accuracy(y_true: object, y_pred: object) -> float:
    """Fraction of exact matches."""
    t, p = _labels_pair(y_true, y_pred, None, name="accuracy")
    return float(np.mean(t == p))


def confusion(y_true: object, y_pred: object, *, labels: Sequence[str]) -> np.ndarray:
    """Counts ``C[i, j]`` = samples of true ``labels[i]`` predicted as ``labels[j]``.

    The label order is fixed by ``labels``, also when a class is absent from this fold
    (its row/column is then zero). Labels outside ``labels`` -> ``ValueError``.
    """
    t, p = _labels_pair(y_true, y_pred, labels, name="confusion")
    index = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(m, ([index[v] for v in t], [index[v] for v in p]), 1)
    return m


def per_class_prf(y_true: object, y_pred: object, *, labels: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label (rows in ``labels`` order).

    Any 0/0 (class never predicted, class absent from y_true, or P = R = 0) is 0.0.
    """
    m = confusion(y_true, y_pred, labels=labels).astype(np.float64)
    tp = np.diag(m)
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    pr = precision + recall
    f1 = np.divide(2 * precision * recall, pr, out=np.zeros_like(tp), where=pr > 0)
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support.astype(np.int64)},
        index=pd.Index(list(labels), name="label"),
    )


def uar(y_true: object, y_pred: object, *, labels: Sequence[str]) -> float:
    """Unweighted average recall: mean recall over the classes **present in y_true**.

    Classes in ``labels`` that have no true sample in this fold are left out (their recall is
    0/0), matching ``sklearn.metrics.balanced_accuracy_score``.
    """
    prf = per_class_prf(y_true, y_pred, labels=labels)
    present = prf["support"] > 0
    return float(prf.loc[present, "recall"].mean())


def macro_f1(y_true: object, y_pred: object, *, labels: Sequence[str]) -> float:
    """Mean F1 over **all** ``labels`` (0/0 -> 0.0), as ``f1_score(labels=labels,
    average="macro", zero_division=0)``. Pass only the fold's classes to leave absent ones out.
    """
    return float(per_class_prf(y_true, y_pred, labels=labels)["f1"].mean())


def uap(y_true: object, y_pred: object, *, labels: Sequence[str]) -> float:
    """Unweighted average precision: mean precision over the classes **present in y_true**
    (a present class never predicted has precision 0/0 -> 0), the counterpart of :func:`uar`."""
    prf = per_class_prf(y_true, y_pred, labels=labels)
    present = prf["support"] > 0
    return float(prf.loc[present, "precision"].mean())


def f1_uap_uar(y_true: object, y_pred: object, *, labels: Sequence[str]) -> float:
    """Han et al.'s F1 (003 Sec. 5): the harmonic mean of :func:`uap` and :func:`uar`,
    ``2 UAP UAR / (UAP + UAR)`` (0 when both are 0). Not macro-F1, the mean of per-class F1s.
    """
    p, r = uap(y_true, y_pred, labels=labels), uar(y_true, y_pred, labels=labels)
    return 0.0 if p + r == 0 else float(2 * p * r / (p + r))


@dataclass(frozen=True)
class MetricVariant:
    """Which variant produced a stored number, e.g. ``MetricVariant("ccc", "pooled", 0)``.

    >>> MetricVariant("ccc", "pooled", 0).tag()
    'ccc[pooled,ddof=0]'
    >>> MetricVariant("uar", None, None).tag()
    'uar'
    """

    name: str
    pooling: str | None = None
    ddof: int | None = None

    def tag(self) -> str:
        parts = [self.pooling] if self.pooling is not None else []
        if self.ddof is not None:
            parts.append(f"ddof={self.ddof}")
        return f"{self.name}[{','.join(parts)}]" if parts else self.name

    def describe(self) -> str:
        """The long form stored beside every number (``metric_variants`` of a result).

        >>> CCC_POOLED.describe()
        'ccc[pooled over partition, population moments (ddof=0)]'
        """
        parts = []
        if self.pooling is not None:
            parts.append(_POOLING_TEXT.get(self.pooling, self.pooling))
        if self.ddof is not None:
            moments = {0: "population moments", 1: "sample moments"}.get(self.ddof, "moments")
            parts.append(f"{moments} (ddof={self.ddof})")
        return f"{self.name}[{', '.join(parts)}]" if parts else self.name


_POOLING_TEXT = {"pooled": "pooled over partition", "per_recording": "mean over recordings"}

#: The AVEC 2016 convention every continuous result of emorepro uses (pooled, ddof=0).
CCC_POOLED = MetricVariant("ccc", "pooled", 0)


def top_k(scores: object, *, k: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``scores`` (n, C): the ``k`` highest-scoring classes and their scores, in
    decreasing order (ties: lower class index first). Returns ((n, k) int, (n, k) float)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] < 1:
        raise ValueError(f"scores must be (n_items, n_classes), got shape {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores hold NaN or +-inf")
    k = min(int(k), s.shape[1])
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(s, order, axis=1)


def gap(
    labels: Sequence[Sequence[int]],
    classes: object,
    scores: object,
    *,
    n_positives: int | None = None,
) -> float:
    """Global Average Precision of the YouTube-8M challenge (GAP@k).

    Every item contributes its top-k (class, score) pairs (``classes``, ``scores``: (n, k)
    from :func:`top_k`); all pairs are pooled and sorted by decreasing score (stable), and
    GAP = sum_i p(i) * dr(i), with p(i) the precision of the first i pairs and dr(i) =
    [pair i is a true label] / N, N = the number of true labels of all items (``n_positives``
    overrides it), as the starter code's ``AveragePrecisionCalculator``. Items without any
    label count in N with 0. 0 positives -> 0.
    """
    cls = np.asarray(classes, dtype=np.int64)
    sc = np.asarray(scores, dtype=np.float64)
    if cls.shape != sc.shape or cls.ndim != 2 or len(cls) != len(labels):
        raise ValueError(
            f"classes {cls.shape} and scores {sc.shape} must be (n, k) for n={len(labels)} items"
        )
    hit = np.asarray(
        [[int(c) in set(map(int, lab)) for c in row] for lab, row in zip(labels, cls, strict=True)],
        dtype=bool,
    ).ravel()
    n_pos = sum(len(set(map(int, lab))) for lab in labels) if n_positives is None else n_positives
    if n_pos <= 0:
        return 0.0
    order = np.argsort(-sc.ravel(), kind="stable")
    hit = hit[order]
    precision = np.cumsum(hit) / np.arange(1, len(hit) + 1)
    return float((precision * hit).sum() / n_pos)
