"""Thin typed wrappers on libsvm-official (the library the AVEC/ComParE baselines used).

* Features are z-scored with a :class:`Standardizer` fitted on the **training** data only and
  stored inside the model, so ``predict`` applies the training statistics to dev/test data.
* libsvm is deterministic: without ``-b 1`` (probability estimates, which use random
  cross-validation) it draws no random numbers, so no seed is needed or taken. Training rows
  are stably sorted by label, so libsvm's class order (and the sign of its decision values) is
  the sorted label order, not the order in which labels first appear. Shuffling the rows can
  still move the solution within libsvm's stopping tolerance (``-e 0.001``).
* libsvm is run with ``-q`` (no console output from training or prediction).
* A linear ε-SVR on wide features (more than :data:`WIDE_FEATURES` columns, e.g. ComParE's
  6,373) is trained by LIBLINEAR (solver ``-s 13``: L2-regularised L1-loss SVR by dual
  coordinate descent, the AVEC baselines' tool) through scikit-learn's ``LinearSVR``, which
  carries LIBLINEAR with a settable iteration cap and a seeded coordinate order: the same
  ε-insensitive loss and L2 penalty as libsvm, weights kept in the primal space, memory
  ``24·n·d`` bytes while training (the former libsvm Gram-matrix path, ``-t 4``, needed
  ``24·n²`` and predicted through an ``n_dev × n`` kernel). See :func:`train_svr` for the one
  difference (LIBLINEAR regularises its bias) and the tolerance to which the two agree.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from libsvm.svm import libsvm as _libsvm_c
from libsvm.svm import svm_forms
from libsvm.svmutil import svm_parameter, svm_problem, svm_train
from scipy import sparse

_KERNELS = {"linear": 0, "rbf": 2}
WIDE_FEATURES = 256
"""A linear SVR on more columns than this is trained by LIBLINEAR (:func:`train_svr`)."""
LIBLINEAR_TOL = 1e-5
"""LIBLINEAR ``-e`` for ``-s 13``: stop when the 1-norm of the dual projected gradient falls to
``1e-5`` of its initial value (LIBLINEAR's default 0.1 is far too loose to match libsvm)."""
LIBLINEAR_MAX_ITER = 20_000
"""Cap on LIBLINEAR's outer iterations (passes over the data); reaching it warns."""
_ROW_CHUNK = 2048  # rows standardised at a time (bounds float64 temporaries to ~chunk·d·8 B)


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


def _problem(y: np.ndarray, X: np.ndarray) -> svm_problem:
    """libsvm's problem from a dense matrix, handed over as CSR: libsvm-official then builds its
    node arrays in one vectorised pass (``csr_to_problem``) instead of a Python loop over
    every row and every non-zero feature (``gen_svm_nodearray``, 80 % of an eGeMAPS LOSO
    fold's time). The nodes are the same (1-based indices, exact zeros left out, as the dense
    path does); only ``prob.n`` becomes the column count, which is what the rbf default
    ``gamma = 1/n_features`` means (the dense path took the last non-zero column)."""
    return svm_problem(np.asarray(y, dtype=np.float64), sparse.csr_matrix(X))


def _train(y: np.ndarray, X: np.ndarray, options: str) -> Any:
    return svm_train(_problem(y, X), svm_parameter(options + " -q"))


def _predict(model: Any, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (or regression values) and decision values of every row, as libsvm's
    ``svm_predict_values`` gives them; the rows' node arrays are built once through
    :func:`_problem` (``svmutil.svm_predict`` rebuilds each row in Python: the same numbers,
    ``tests/unit/test_svm.py`` checks it).

    libsvm-official is built with OpenMP, and for an SVR its prediction sums the kernel terms
    in a parallel reduction, whose order (so the last bit of the value) changes from call to
    call when OpenMP has more than one thread. The loop therefore runs with OpenMP held to
    one thread, so the same model and rows give the same values under any job ``threads``.
    """
    from threadpoolctl import threadpool_limits

    prob = _problem(np.zeros(X.shape[0]), X)
    svm_type = model.get_svm_type()
    if svm_type in (svm_forms.ONE_CLASS, svm_forms.EPSILON_SVR, svm_forms.NU_SVR):
        k = 1
    else:
        nr_class = model.get_nr_class()
        k = nr_class * (nr_class - 1) // 2
    labels = np.empty(X.shape[0], dtype=np.float64)
    values = np.empty((X.shape[0], k), dtype=np.float64)
    dec = (ctypes.c_double * k)()
    with threadpool_limits(limits=1, user_api="openmp"):
        for i in range(X.shape[0]):
            labels[i] = _libsvm_c.svm_predict_values(model, prob.x[i], dec)
            values[i] = dec[:k]
    return labels, values


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
    """ε-SVR with its training-data standardizer: a libsvm model, or (wide linear features,
    :func:`train_svr`) the LIBLINEAR weights ``coef`` and ``intercept`` on standardised
    features: ``predict(x) = ((x - mean) / scale) · coef + intercept``."""

    model: Any
    standardizer: Standardizer | None
    C: float
    epsilon: float
    kernel: str = field(default="linear")
    coef: np.ndarray | None = None
    """Weights on the standardised features (LIBLINEAR path only; ``model`` is then None)."""
    intercept: float = 0.0
    solver: str = "libsvm epsilon-SVR"
    iterations: int | None = None
    """LIBLINEAR's outer iterations (LIBLINEAR path only)."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.coef is not None:
            return _linear_predict(X, self.standardizer, self.coef, self.intercept)
        X = _as_2d(X)
        X = self.standardizer.transform(X) if self.standardizer else X
        return _predict(self.model, X)[0]


def _linear_predict(
    X: np.ndarray, std: Standardizer | None, coef: np.ndarray, intercept: float
) -> np.ndarray:
    """``((X - mean) / scale) @ coef + intercept`` in float64, ``_ROW_CHUNK`` rows at a time
    (no standardised copy of all of X)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != coef.size:
        raise ValueError(f"expected a 2-D matrix with {coef.size} columns, got {X.shape}")
    out = np.empty(X.shape[0], dtype=np.float64)
    for r0 in range(0, X.shape[0], _ROW_CHUNK):
        block = np.asarray(X[r0 : r0 + _ROW_CHUNK], dtype=np.float64)
        if std is not None:
            block = std.transform(block)
        out[r0 : r0 + _ROW_CHUNK] = block @ coef
    return out + intercept


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
    """ε-SVR: ``min_{w,b} ½‖w‖² + C Σ_i max(0, |y_i - w·x_i - b| - ε)`` on z-scored ``X``.

    ``kernel`` "rbf": libsvm ``-s 3 -t 2`` (gamma = 1/n_features). ``kernel`` "linear": libsvm
    ``-s 3 -t 0`` up to :data:`WIDE_FEATURES` columns; on wider features LIBLINEAR ``-s 13``
    (:func:`_liblinear_svr`), which solves the same problem with the weights in the primal
    space, except that LIBLINEAR's bias is an extra feature of constant value ``B`` and so is
    regularised: it minimises ``... + ½ (b - m)²/B²`` more, ``m`` the median of ``y`` (``y``
    is centred on it before training). ``B² = max(d, 1/C)``: at ``d`` the bias column is as
    long as an average z-scored row (coordinate descent stays as well conditioned as without
    it; ``10·max(d, 1/C)`` already stalls it), and ``1/C`` keeps the penalty's pull on ``b``
    below ``C·|b - m|`` at small C. Measured effect of the choice (400 x 600, C = 0.01,
    max |Δ| against libsvm's optimum): B = 1 uncentred 0.12, B = √d uncentred 2.5e-3,
    B = √d centred 2.3e-4.

    Contract (tests/unit/test_svm.py; ``benchmarks/svr_memory.py`` prints it on real-sized
    input): the LIBLINEAR predictions agree with libsvm ``-t 0`` run to its optimum
    (``-e 1e-7``) within ``max |Δ| ≤ 1e-3`` in units of ``y`` (libsvm's own default stopping
    tolerance, a KKT violation in units of ``y``; measured ≤ 5.8e-4) and Pearson r ≥ 0.99999,
    at C from 1e-4 to 1, d > n and n > d. Where LIBLINEAR reaches
    :data:`LIBLINEAR_MAX_ITER` first (n ≫ d, strongly collinear features, large C; libsvm at
    its default ``-e 1e-3`` is then also far from the optimum) scikit-learn warns
    (``ConvergenceWarning``) and the bound does not hold. Same inputs -> identical numbers
    (``random_state=0`` fixes LIBLINEAR's coordinate order).
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D feature matrix, got shape {X.shape}")
    if y.size != X.shape[0]:
        raise ValueError(f"{X.shape[0]} rows in X but {y.size} targets")
    if not np.all(np.isfinite(y)):
        raise ValueError("train_svr: y holds NaN or infinite values")
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {sorted(_KERNELS)}, got {kernel!r}")
    if kernel == "linear" and X.shape[1] > WIDE_FEATURES:
        return _liblinear_svr(X, y, C=C, epsilon=epsilon, standardize=standardize)
    X = _as_2d(X)
    std = Standardizer().fit(X) if standardize else None
    Xs = std.transform(X) if std else X
    opts = f"-s 3 -t {_KERNELS[kernel]} -c {C!r} -p {epsilon!r}"
    return SVR(model=_train(y, Xs, opts), standardizer=std, C=C, epsilon=epsilon, kernel=kernel)


def _column_stats(X: np.ndarray) -> Standardizer:
    """:class:`Standardizer` fitted ``_ROW_CHUNK`` rows at a time (float64 sums, two passes):
    no float64 copy of all of ``X``."""
    n, d = X.shape
    if n == 0:
        raise ValueError("Standardizer.fit: no rows")
    total = np.zeros(d)
    for r0 in range(0, n, _ROW_CHUNK):
        block = np.asarray(X[r0 : r0 + _ROW_CHUNK], dtype=np.float64)
        if not np.all(np.isfinite(block)):
            raise ValueError("Standardizer.fit: X holds NaN or infinite values")
        total += block.sum(axis=0)
    mean = total / n
    sq = np.zeros(d)
    for r0 in range(0, n, _ROW_CHUNK):
        sq += np.square(np.asarray(X[r0 : r0 + _ROW_CHUNK], dtype=np.float64) - mean).sum(axis=0)
    std = np.sqrt(sq / n)
    return Standardizer(mean_=mean, scale_=np.where(std > 0, std, 1.0))


def _liblinear_svr(
    X: np.ndarray, y: np.ndarray, *, C: float, epsilon: float, standardize: bool
) -> SVR:
    """LIBLINEAR ``-s 13 -c C -p ε -e LIBLINEAR_TOL -B √d`` (scikit-learn's ``LinearSVR``, which
    carries LIBLINEAR with a settable iteration cap and a seeded coordinate order) on z-scored
    ``X`` and ``y - median(y)``.

    Memory: one z-scored float64 copy of ``X`` (filled ``_ROW_CHUNK`` rows at a time) plus
    LIBLINEAR's ``feature_node`` array (16 bytes a value): ``24·n·d`` bytes, freed on return.
    Reaching :data:`LIBLINEAR_MAX_ITER` warns (scikit-learn's ``ConvergenceWarning``).
    """
    from sklearn.svm import LinearSVR

    n, d = X.shape
    std = _column_stats(X) if standardize else None
    Xs = np.empty((n, d), dtype=np.float64)
    for r0 in range(0, n, _ROW_CHUNK):
        block = np.asarray(X[r0 : r0 + _ROW_CHUNK], dtype=np.float64)
        if not np.all(np.isfinite(block)):
            raise ValueError("train_svr: X holds NaN or infinite values")
        Xs[r0 : r0 + _ROW_CHUNK] = std.transform(block) if std else block
    bias = math.sqrt(max(d, 1.0 / C))
    y0 = float(np.median(y))
    solver = LinearSVR(
        C=C,
        epsilon=epsilon,
        loss="epsilon_insensitive",
        dual=True,
        fit_intercept=True,
        intercept_scaling=bias,
        tol=LIBLINEAR_TOL,
        max_iter=LIBLINEAR_MAX_ITER,
        random_state=0,
    ).fit(Xs, y - y0)
    del Xs
    return SVR(model=None, standardizer=std, C=C, epsilon=epsilon, kernel="linear",
               coef=np.asarray(solver.coef_, dtype=np.float64).copy(),
               intercept=float(solver.intercept_[0]) + y0,
               solver="LIBLINEAR -s 13 epsilon-SVR (scikit-learn LinearSVR)",
               iterations=int(solver.n_iter_))  # fmt: skip


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
