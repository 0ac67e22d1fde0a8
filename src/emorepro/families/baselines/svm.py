"""Thin typed wrappers on libsvm-official (the library the AVEC/ComParE baselines used).

* Features are z-scored with a :class:`Standardizer` fitted on the **training** data only and
  stored inside the model, so ``predict`` applies the training statistics to dev/test data.
* libsvm is deterministic: without ``-b 1`` (probability estimates, which use random
  cross-validation) it draws no random numbers, so no seed is needed or taken. Training rows
  are stably sorted by label, so libsvm's class order (and the sign of its decision values) is
  the sorted label order, not the order in which labels first appear. Shuffling the rows can
  still move the solution within libsvm's stopping tolerance (``-e 0.001``).
* libsvm is run with ``-q`` (no console output from training or prediction).
* A linear ε-SVR on wide features (more than :data:`GRAM_MIN_FEATURES` columns, e.g.
  ComParE's 6,373) trains on the precomputed Gram matrix ``K = X Xᵀ`` (libsvm ``-t 4``)
  instead of ``-t 0``: the same optimisation problem and model, but the kernel comes from one
  BLAS product instead of libsvm's per-pair dot products (minutes -> seconds).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from libsvm.svmutil import svm_parameter, svm_predict, svm_problem, svm_train

_KERNELS = {"linear": 0, "rbf": 2}
GRAM_MIN_FEATURES = 256


@dataclass
class Standardizer:
    """z-score: ``(X - mean) / std`` with mean/std (ddof=0) of the data given to :meth:`fit`.

    Zero-variance columns get std 1 (so they map to 0, never to NaN).

    >>> s = Standardizer().fit(np.array([[0.0, 5.0], [2.0, 5.0]]))
    >>> s.transform(np.array([[1.0, 5.0], [3.0, 6.0]])).tolist()
    [[0.0, 0.0], [2.0, 1.0]]
    """

    mean_: np.ndarray | None = None
    scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        X = _as_2d(X)
        if not np.all(np.isfinite(X)):
            raise ValueError("Standardizer.fit: X holds NaN or infinite values")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("Standardizer.transform called before fit")
        X = _as_2d(X)
        if X.shape[1] != self.mean_.size:
            raise ValueError(f"expected {self.mean_.size} columns, got {X.shape[1]}")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


def _as_2d(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D feature matrix, got shape {X.shape}")
    return np.ascontiguousarray(X)


def _train(y: np.ndarray, X: np.ndarray, options: str) -> Any:
    return svm_train(svm_problem(y, X), svm_parameter(options + " -q"))


def _predict(model: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, _, values = svm_predict(np.zeros(X.shape[0]), X, model, "-q")
    return np.asarray(labels, dtype=np.float64), np.asarray(values, dtype=np.float64)


@dataclass
class LinearSVC:
    """libsvm C-SVC (``-s 0 -t 0``, one-vs-one) with its training-data standardizer."""

    model: Any
    decision_classes: tuple[str, ...]
    """Class names; libsvm's internal label i is ``decision_classes[i]`` (sorted order)."""
    standardizer: Standardizer | None
    C: float

    def _x(self, X: np.ndarray) -> np.ndarray:
        X = _as_2d(X)
        return self.standardizer.transform(X) if self.standardizer else X

    def predict(self, X: np.ndarray) -> np.ndarray:
        labels, _ = _predict(self.model, self._x(X))
        return np.asarray(self.decision_classes, dtype=object)[labels.astype(int)].astype(str)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """One-vs-one decision values, columns for pairs (i, j), i < j, of decision_classes;
        positive favours class i."""
        return _predict(self.model, self._x(X))[1]


@dataclass
class SVR:
    """libsvm epsilon-SVR (``-s 3``) with its training-data standardizer."""

    model: Any
    standardizer: Standardizer | None
    C: float
    epsilon: float
    kernel: str = field(default="linear")
    gram_rows: np.ndarray | None = None
    """Standardised training rows when trained on a precomputed linear Gram matrix."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = _as_2d(X)
        X = self.standardizer.transform(X) if self.standardizer else X
        if self.gram_rows is not None:
            X = _with_ids(X @ self.gram_rows.T)
        return _predict(self.model, X)[0]


def _with_ids(K: np.ndarray) -> np.ndarray:
    """libsvm's precomputed-kernel rows: serial number (1-based) then the kernel values."""
    return np.hstack([np.arange(1, K.shape[0] + 1, dtype=np.float64)[:, None], K])


def train_linear_svc(
    X: np.ndarray, y: Sequence[str], *, C: float = 1.0, standardize: bool = True
) -> LinearSVC:
    """Linear one-vs-one C-SVC. Labels map to ints in sorted order (``decision_classes``)."""
    X = _as_2d(X)
    y_arr = np.asarray([str(v) for v in y])
    if y_arr.size != X.shape[0]:
        raise ValueError(f"{X.shape[0]} rows in X but {y_arr.size} labels")
    classes = tuple(sorted(set(y_arr.tolist())))
    if len(classes) < 2:
        raise ValueError(f"need at least 2 classes to train a classifier, got {classes}")
    y_int = np.searchsorted(np.asarray(classes), y_arr).astype(np.float64)
    order = np.argsort(y_int, kind="stable")  # libsvm's class order = order of first appearance
    std = Standardizer().fit(X) if standardize else None
    Xs = std.transform(X) if std else X
    model = _train(y_int[order], np.ascontiguousarray(Xs[order]), f"-s 0 -t 0 -c {C!r}")
    return LinearSVC(model=model, decision_classes=classes, standardizer=std, C=C)


def train_svr(
    X: np.ndarray,
    y: np.ndarray,
    *,
    C: float = 1.0,
    epsilon: float = 0.1,
    kernel: str = "linear",
    standardize: bool = True,
) -> SVR:
    """epsilon-SVR; ``kernel`` "linear" (``-t 0``) or "rbf" (``-t 2``, gamma = 1/n_features)."""
    X = _as_2d(X)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.size != X.shape[0]:
        raise ValueError(f"{X.shape[0]} rows in X but {y.size} targets")
    if not np.all(np.isfinite(y)):
        raise ValueError("train_svr: y holds NaN or infinite values")
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {sorted(_KERNELS)}, got {kernel!r}")
    std = Standardizer().fit(X) if standardize else None
    Xs = std.transform(X) if std else X
    if kernel == "linear" and X.shape[1] > GRAM_MIN_FEATURES:
        opts = f"-s 3 -t 4 -c {C!r} -p {epsilon!r}"
        prob = svm_problem(y, _with_ids(Xs @ Xs.T), isKernel=True)
        model = svm_train(prob, svm_parameter(opts + " -q"))
        return SVR(model=model, standardizer=std, C=C, epsilon=epsilon, kernel=kernel,
                   gram_rows=Xs)  # fmt: skip
    opts = f"-s 3 -t {_KERNELS[kernel]} -c {C!r} -p {epsilon!r}"
    return SVR(model=_train(y, Xs, opts), standardizer=std, C=C, epsilon=epsilon, kernel=kernel)


class _Predictor(Protocol):
    def predict(self, X: np.ndarray) -> np.ndarray: ...


def select_c(
    train_fn: Callable[..., _Predictor],
    X_train: np.ndarray,
    y_train: Any,
    X_dev: np.ndarray,
    y_dev: Any,
    *,
    grid: Sequence[float] = (1e-4, 1e-3, 1e-2, 1e-1, 1, 10),
    score_fn: Callable[[Any, np.ndarray], float],
) -> tuple[float, dict[float, float]]:
    """Best C on dev: ``score_fn(y_dev, train_fn(X_train, y_train, C=c).predict(X_dev))``.

    Higher score is better; ties go to the smaller C; NaN scores never win. Returns
    ``(best_c, {c: score})`` for every c in ``grid``.
    """
    if len(grid) == 0:
        raise ValueError("select_c: empty grid")
    scores: dict[float, float] = {}
    for c in grid:
        model = train_fn(X_train, y_train, C=c)
        scores[c] = float(score_fn(y_dev, model.predict(X_dev)))

    def rank(c: float) -> tuple[float, float]:
        s = scores[c]
        return (-math.inf if math.isnan(s) else s, -c)

    return max(scores, key=rank), scores
