"""What the shared trainer learns: a :class:`RegressionTask` or a :class:`ClassificationTask`.

A task tells :func:`emorepro.training.trainer.train` which losses fit, what shape the model's
output must have, how the dev set is predicted and scored, what a checkpoint records about it
and how an epoch's dev scores are logged.

**Regression** (the default; the end-to-end models and the BLSTM). A sample is a dict with
``"target"`` ``(T, K)`` float, ``"item"`` (recording id), ``"start"`` (first label frame of the
window) and the model inputs; the model maps a batch to ``(B, T, K)``. Loss ``ccc`` or ``mse``.
Dev: windows stitched back into recordings (:func:`predict`, or ``predict_fn``), scored by the
CCC pooled over the concatenated recordings (population moments) per target; the dev score
(``dev_ccc``) is the mean over targets.

**Classification** (utterance- or segment-level emotion classes). Dataset contract: a
``torch.utils.data.Dataset`` whose sample ``i`` is a dict with

* ``"item"``: the id (``str``) of the item (utterance, video) the sample was cut from; an item
  may give one sample or many (segments, frames);
* ``"target"``: the class index (``int`` or 0-d integer tensor) into ``task.classes``; every
  sample of an item carries the item's label, which is the item's gold label. It may be left
  out of a set that is only predicted (then there is no gold);
* the model inputs (any other keys; tensors are moved to the device).

The model maps a batch to logits ``(B, C)``, ``C = len(classes)``; loss ``cross_entropy``
(mean over the batch). Dev/test: :func:`predict_classes` turns every sample's logits into
softmax probabilities, pools them per item with a named :data:`POOLINGS` rule and predicts the
argmax; the dev score is the UAR (``metrics.uar`` over the class names) or the accuracy of the
item predictions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import DataLoader

from emorepro import metrics as M
from emorepro.errors import ConfigError, EmoreproError
from emorepro.training.losses import CLASSIFICATION_LOSSES, LOSSES, LossFn
from emorepro.training.runtime import pick_device

PredictFn = Callable[[nn.Module, Any, torch.device], Any]
"""``predict_fn(model, dataset, device)``: replaces the task's own dev prediction; it returns
what that returns (``{item: (T, K)}`` for regression, :class:`ClassPredictions` otherwise)."""


@dataclass(frozen=True)
class EvalOptions:
    """How the trainer predicts a dev set: device, batch size, loader workers, AMP, and an
    optional ``predict_fn`` that replaces the task's own prediction."""

    device: torch.device
    batch_size: int
    num_workers: int = 0
    amp: bool = False
    predict_fn: PredictFn | None = None


class Task(Protocol):
    """The interface ``train`` uses; see :class:`RegressionTask` and :class:`ClassificationTask`."""

    @property
    def kind(self) -> str:
        """``"regression"`` or ``"classification"``."""
        ...

    @property
    def score_key(self) -> str:
        """History key of the dev score that model selection maximises."""
        ...

    @property
    def losses(self) -> Mapping[str, LossFn]:
        """The ``TrainConfig.loss`` names this task trains with."""
        ...

    def settings(self) -> dict[str, Any]:
        """What a checkpoint records about the task (checked on resumption)."""
        ...

    def check_output(self, pred: Any, batch: dict[str, Any], where: str) -> torch.Tensor:
        """The model's output for ``batch`` if it has the shape the loss needs, else raise."""
        ...

    def evaluate(self, model: nn.Module, dataset: Any, opts: EvalOptions) -> dict[str, float]:
        """Dev scores, ``score_key`` first (the one model selection maximises)."""
        ...

    def no_scores(self) -> dict[str, float]:
        """The scores of an epoch without a dev set (NaN)."""
        ...

    def describe(self, scores: dict[str, float]) -> str:
        """Short text of the scores for the epoch's log line."""
        ...


def to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """``batch`` with its tensors on ``device`` (other values as they are)."""
    nb = device.type == "cuda"
    return {
        k: v.to(device, non_blocking=nb) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


# --------------------------------------------------------------------------- regression


def _check_pred(pred: Any, target: torch.Tensor, where: str) -> torch.Tensor:
    if not isinstance(pred, torch.Tensor) or pred.shape != target.shape:
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise EmoreproError(
            f"{where}: the model returned {got} for targets of shape {tuple(target.shape)}; "
            "a model must map a batch dict to (batch, steps, 2) predictions"
        )
    return pred


@torch.no_grad()
def predict(
    model: nn.Module,
    dataset: Any,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    num_workers: int = 0,
    amp: bool = False,
) -> dict[str, np.ndarray]:
    """``{item: (T_item, 2) float32}``: window predictions stitched back to whole recordings.

    Runs in eval mode (restored afterwards). Every frame gets the mean of the predictions of
    the windows that contain it: non-overlapping windows are simply concatenated; where the
    tail window (or a ``hop < steps``) overlaps, the overlapping predictions are averaged.
    ``dataset`` is a :class:`~emorepro.training.sequences.SequenceDataset`.
    """
    dev = pick_device(device)
    sums = {it: np.zeros(y.shape, np.float64) for it, y in dataset.labels.items()}
    counts = {it: np.zeros(len(y), np.int64) for it, y in dataset.labels.items()}
    was_training = model.training
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        pin_memory=dev.type == "cuda")  # fmt: skip
    try:
        for batch in loader:
            batch = to_device(batch, dev)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                pred = model(batch)
            pred = _check_pred(pred, batch["target"], "predict").float().cpu().numpy()
            for p, item, start in zip(pred, batch["item"], batch["start"].tolist(), strict=True):
                sums[item][start : start + len(p)] += p
                counts[item][start : start + len(p)] += 1
    finally:
        model.train(was_training)
    out = {}
    for it in dataset.items:
        if (counts[it] == 0).any():
            raise EmoreproError(f"predict: item {it} has frames that no window covers")
        out[it] = (sums[it] / counts[it][:, None]).astype(np.float32)
    return out


def dev_ccc(dataset: Any, pred: dict[str, np.ndarray]) -> dict[str, float]:
    """Pooled CCC per target over the dataset's recordings concatenated in ``items`` order."""
    missing = [it for it in dataset.items if it not in pred]
    if missing:
        raise EmoreproError(f"dev predictions lack items {missing[:5]}")
    gold = np.concatenate([dataset.labels[it] for it in dataset.items])
    hat = np.concatenate([np.asarray(pred[it], dtype=np.float64) for it in dataset.items])
    if hat.shape != gold.shape:
        raise EmoreproError(f"dev predictions have shape {hat.shape}, gold {gold.shape}")
    return {t: M.ccc(gold[:, k], hat[:, k]) for k, t in enumerate(dataset.targets)}


@dataclass(frozen=True)
class RegressionTask:
    """Frame-level regression (the default task); see the module docstring.

    The dataset has ``items``, ``labels`` (``{item: (T, K)}``) and ``targets`` (names), as
    :class:`~emorepro.training.sequences.SequenceDataset`. History keys: ``dev_ccc`` (mean over
    targets) and ``dev_ccc.<target>``.
    """

    kind: ClassVar[str] = "regression"
    score_key: ClassVar[str] = "dev_ccc"
    losses: ClassVar[Mapping[str, LossFn]] = LOSSES

    def settings(self) -> dict[str, Any]:
        """Nothing: checkpoints of regression runs look as they always did."""
        return {}

    def check_output(self, pred: Any, batch: dict[str, Any], where: str) -> torch.Tensor:
        """``pred`` must have the shape of ``batch["target"]`` ``(B, T, K)``."""
        return _check_pred(pred, batch["target"], where)

    def evaluate(self, model: nn.Module, dataset: Any, opts: EvalOptions) -> dict[str, float]:
        """``{"dev_ccc": mean, "dev_ccc.<target>": ...}`` of :func:`predict` (or ``predict_fn``)."""
        if opts.predict_fn is not None:
            pred = opts.predict_fn(model, dataset, opts.device)
        else:
            pred = predict(model, dataset, device=opts.device, batch_size=opts.batch_size,
                           num_workers=opts.num_workers, amp=opts.amp)  # fmt: skip
        per_target = dev_ccc(dataset, pred)
        score = float(np.mean(list(per_target.values())))
        return {"dev_ccc": score, **{f"dev_ccc.{t}": v for t, v in per_target.items()}}

    def no_scores(self) -> dict[str, float]:
        """``{"dev_ccc": nan}``."""
        return {"dev_ccc": math.nan}

    def describe(self, scores: dict[str, float]) -> str:
        """``"CCC a=0.512 v=0.301"`` (first letter of each target), ``"CCC n/a"`` without dev."""
        per = {k[len("dev_ccc.") :]: v for k, v in scores.items() if k.startswith("dev_ccc.")}
        return "CCC " + (" ".join(f"{t[0]}={v:.3f}" for t, v in per.items()) or "n/a")


# --------------------------------------------------------------------------- classification


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _pool_mean_prob(logits: np.ndarray) -> np.ndarray:
    return _softmax(logits).mean(axis=0)


def _pool_mean_logit(logits: np.ndarray) -> np.ndarray:
    return _softmax(np.asarray(logits, dtype=np.float64).mean(axis=0))


def _pool_max_prob(logits: np.ndarray) -> np.ndarray:
    top = _softmax(logits).max(axis=0)
    return top / top.sum()


def _pool_vote(logits: np.ndarray) -> np.ndarray:
    votes = np.bincount(np.argmax(logits, axis=1), minlength=logits.shape[1])
    return votes / votes.sum()


POOLINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean_prob": _pool_mean_prob,
    "mean_logit": _pool_mean_logit,
    "max_prob": _pool_max_prob,
    "vote": _pool_vote,
}
"""Item-level pooling of the logits ``(n_samples, C)`` of one item's samples -> ``(C,)`` class
probabilities (float64, summing to 1), whose argmax (lowest index on ties) is the item's label:

* ``mean_prob``: mean of the samples' softmax probabilities;
* ``mean_logit``: softmax of the mean logits;
* ``max_prob``: per-class maximum of the samples' probabilities, renormalised to sum to 1;
* ``vote``: fraction of the samples whose argmax is each class (majority vote; a tie goes to
  the lowest class index, as does a tie inside one sample's logits).
"""


def pool_logits(logits: np.ndarray, pooling: str) -> np.ndarray:
    """Class probabilities ``(C,)`` of one item from its samples' logits ``(n, C)``."""
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {sorted(POOLINGS)}, got {pooling!r}")
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"pool_logits: need logits of shape (n >= 1, classes), got {x.shape}")
    return POOLINGS[pooling](x)


@dataclass(frozen=True)
class ClassPredictions:
    """Item-level predictions of :func:`predict_classes`.

    ``items`` in order of first appearance in the dataset; ``probs[i]`` the pooled class
    probabilities of ``items[i]`` (columns in ``classes`` order); ``predicted[i]`` its argmax
    class name; ``gold[i]`` the item's label (``None`` when the samples carry no ``target``);
    ``n_samples[i]`` how many samples were pooled.
    """

    classes: tuple[str, ...]
    items: tuple[str, ...]
    probs: np.ndarray
    predicted: tuple[str, ...]
    gold: tuple[str, ...] | None
    n_samples: tuple[int, ...]

    def scores(self) -> dict[str, float]:
        """``{"uar": ..., "accuracy": ...}`` of ``predicted`` against ``gold``."""
        if self.gold is None:
            raise EmoreproError("ClassPredictions.scores: the samples carried no 'target' label")
        return {
            "uar": M.uar(self.gold, self.predicted, labels=self.classes),
            "accuracy": M.accuracy(self.gold, self.predicted),
        }

    def frame(self) -> pd.DataFrame:
        """One row per item: ``item_id``, ``predicted``, ``gold``, ``n_samples``, ``p.<class>``."""
        out = pd.DataFrame(
            {
                "item_id": list(self.items),
                "predicted": list(self.predicted),
                "gold": list(self.gold) if self.gold is not None else None,
                "n_samples": list(self.n_samples),
            }
        )
        for k, c in enumerate(self.classes):
            out[f"p.{c}"] = self.probs[:, k]
        return out


def _check_logits(pred: Any, n: int, n_classes: int, where: str) -> torch.Tensor:
    if not isinstance(pred, torch.Tensor) or tuple(pred.shape) != (n, n_classes):
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise EmoreproError(
            f"{where}: the model returned {got} for a batch of {n} samples; a classification "
            f"model must map a batch dict to (batch, {n_classes}) logits"
        )
    return pred


def _batch_items(batch: dict[str, Any]) -> list[Any]:
    if "item" not in batch:
        raise EmoreproError(f"classification batches need an 'item' key (got {sorted(batch)})")
    items = batch["item"]
    return items.tolist() if isinstance(items, torch.Tensor) else list(items)


def _collect_logits(
    model: nn.Module,
    dataset: Any,
    n_classes: int,
    dev: torch.device,
    batch_size: int,
    num_workers: int,
    amp: bool,
) -> tuple[dict[Any, list[np.ndarray]], dict[Any, set[Any]], bool]:
    """Per item (first-appearance order): its samples' logits and the set of its labels."""
    logits: dict[Any, list[np.ndarray]] = {}
    labels: dict[Any, set[int]] = {}
    has_gold: set[bool] = set()
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        pin_memory=dev.type == "cuda")  # fmt: skip
    for batch in loader:
        items = _batch_items(batch)
        batch = to_device(batch, dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            out = model(batch)
        out = _check_logits(out, len(items), n_classes, "predict_classes")
        out = out.float().cpu().numpy()
        has_gold.add("target" in batch)
        gold = batch["target"].view(-1).tolist() if "target" in batch else [None] * len(items)
        for item, row, y in zip(items, out, gold, strict=True):
            logits.setdefault(item, []).append(row)
            labels.setdefault(item, set()).add(y)
    if len(has_gold) > 1:
        raise EmoreproError("predict_classes: some samples carry a 'target' and others do not")
    return logits, labels, has_gold == {True}


@torch.no_grad()
def predict_classes(
    model: nn.Module,
    dataset: Any,
    classes: Sequence[str],
    *,
    pooling: str = "mean_prob",
    device: torch.device | str = "cpu",
    batch_size: int = 8,
    num_workers: int = 0,
    amp: bool = False,
) -> ClassPredictions:
    """Item-level class probabilities and labels of ``dataset`` (contract: module docstring).

    Runs ``model`` in eval mode (restored afterwards) over the samples in dataset order, pools
    each item's logits with ``POOLINGS[pooling]`` and takes the argmax. An item whose samples
    carry different labels -> ``EmoreproError``.
    """
    classes = tuple(str(c) for c in classes)
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {sorted(POOLINGS)}, got {pooling!r}")
    dev = pick_device(device)
    was_training = model.training
    model.eval()
    try:
        logits, labels, has_gold = _collect_logits(
            model, dataset, len(classes), dev, batch_size, num_workers, amp
        )
    finally:
        model.train(was_training)
    if not logits:
        raise EmoreproError("predict_classes: the dataset has no samples")
    mixed = [it for it, ys in labels.items() if len(ys) > 1]
    if mixed:
        raise EmoreproError(
            f"predict_classes: item {mixed[0]!r} has samples with different labels "
            f"{sorted(labels[mixed[0]])}; every sample of an item must carry the item's label"
        )
    bad = [y for ys in labels.values() for y in ys if has_gold and not 0 <= y < len(classes)]
    if bad:
        raise EmoreproError(
            f"predict_classes: class index {bad[0]} is outside [0, {len(classes)}) "
            f"(classes {list(classes)})"
        )
    items = list(logits)
    probs = np.stack([pool_logits(np.stack(logits[it]), pooling) for it in items])
    predicted = tuple(classes[int(k)] for k in np.argmax(probs, axis=1))
    gold = tuple(classes[next(iter(labels[it]))] for it in items) if has_gold else None
    n_samples = tuple(len(logits[it]) for it in items)
    return ClassPredictions(classes, tuple(items), probs, predicted, gold, n_samples)


CLASS_METRICS = ("uar", "accuracy")


@dataclass(frozen=True)
class ClassificationTask:
    """Item-level classification into ``classes``; see the module docstring for the dataset.

    ``pooling``: a :data:`POOLINGS` name; ``metric``: ``"uar"`` or ``"accuracy"``, the dev
    score that model selection maximises (both are logged). History keys: ``dev_<metric>``
    (the score) and the other metric.
    """

    classes: Sequence[str]
    pooling: str = "mean_prob"
    metric: str = "uar"
    kind: ClassVar[str] = "classification"
    losses: ClassVar[Mapping[str, LossFn]] = CLASSIFICATION_LOSSES

    def __post_init__(self) -> None:
        if isinstance(self.classes, str) or not isinstance(self.classes, Sequence):
            raise ConfigError(
                f"ClassificationTask.classes must be a list of class names, got {self.classes!r}"
            )
        classes = tuple(self.classes)
        if len(classes) < 2 or not all(isinstance(c, str) and c for c in classes):
            raise ConfigError(
                f"ClassificationTask.classes must be >= 2 non-empty names, got {list(classes)}"
            )
        if len(set(classes)) != len(classes):
            raise ConfigError(f"ClassificationTask.classes has duplicates: {list(classes)}")
        object.__setattr__(self, "classes", classes)
        if self.pooling not in POOLINGS:
            raise ConfigError(
                f"ClassificationTask.pooling must be one of {sorted(POOLINGS)}, "
                f"got {self.pooling!r}"
            )
        if self.metric not in CLASS_METRICS:
            raise ConfigError(
                f"ClassificationTask.metric must be one of {list(CLASS_METRICS)}, "
                f"got {self.metric!r}"
            )

    @property
    def score_key(self) -> str:
        """``dev_uar`` or ``dev_accuracy``."""
        return f"dev_{self.metric}"

    def settings(self) -> dict[str, Any]:
        """Task kind, classes, pooling and metric."""
        return {
            "task": self.kind,
            "classes": list(self.classes),
            "pooling": self.pooling,
            "metric": self.metric,
        }

    def check_output(self, pred: Any, batch: dict[str, Any], where: str) -> torch.Tensor:
        """``batch["target"]`` must be class indices ``(B,)`` and ``pred`` logits ``(B, C)``."""
        target = batch["target"]
        ok = (
            isinstance(target, torch.Tensor)
            and target.ndim == 1
            and not target.dtype.is_floating_point
            and not target.dtype.is_complex
            and target.dtype != torch.bool
        )
        if not ok:
            got = (
                f"{target.dtype} {tuple(target.shape)}"
                if isinstance(target, torch.Tensor)
                else type(target).__name__
            )
            raise EmoreproError(
                f"{where}: classification batches need 'target' as integer class indices of "
                f"shape (batch,), got {got}; each sample's target is one int"
            )
        return _check_logits(pred, len(target), len(self.classes), where)

    def predictions(self, model: nn.Module, dataset: Any, opts: EvalOptions) -> ClassPredictions:
        """:func:`predict_classes` with this task's classes and pooling (or ``predict_fn``)."""
        if opts.predict_fn is not None:
            pred = opts.predict_fn(model, dataset, opts.device)
            if not isinstance(pred, ClassPredictions):
                raise EmoreproError(
                    f"predict_fn returned {type(pred).__name__}; for classification it must "
                    "return ClassPredictions (see predict_classes)"
                )
            return pred
        return predict_classes(
            model,
            dataset,
            self.classes,
            pooling=self.pooling,
            device=opts.device,
            batch_size=opts.batch_size,
            num_workers=opts.num_workers,
            amp=opts.amp,
        )

    def evaluate(self, model: nn.Module, dataset: Any, opts: EvalOptions) -> dict[str, float]:
        """``{"dev_<metric>": ..., "dev_<other metric>": ...}`` of the item predictions."""
        pred = self.predictions(model, dataset, opts)
        scores = pred.scores()
        order = [self.metric, *(m for m in CLASS_METRICS if m != self.metric)]
        return {f"dev_{m}": float(scores[m]) for m in order}

    def no_scores(self) -> dict[str, float]:
        """``{"dev_<metric>": nan}``."""
        return {self.score_key: math.nan}

    def describe(self, scores: dict[str, float]) -> str:
        """``"UAR 0.712 accuracy 0.750"`` (score first), ``"UAR n/a"`` without dev."""
        if all(math.isnan(v) for v in scores.values()):
            return f"{self.metric.upper()} n/a"
        names = {"dev_uar": "UAR", "dev_accuracy": "accuracy"}
        return " ".join(f"{names.get(k, k)} {v:.3f}" for k, v in scores.items())
