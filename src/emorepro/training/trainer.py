"""Model-agnostic training loop of every sequence and classification model (experiments.md §1.5):
the end-to-end networks of Tzirakis et al., the BLSTM baseline
(:func:`emorepro.families.baselines.blstm.train_blstm`) and the item-level classifiers.

What is learnt is a *task* (:mod:`emorepro.training.tasks`): :class:`RegressionTask` (the
default; a batch dict -> ``(B, T, 2)`` predictions, loss ``ccc``/``mse``, dev scored by the
pooled CCC of the windows stitched back into recordings) or :class:`ClassificationTask`
(a batch dict -> logits ``(B, C)``, loss ``cross_entropy``, dev scored by the UAR or accuracy
of item-level predictions pooled over each item's samples). Conventions:

* optimiser (:class:`~emorepro.training.settings.TrainConfig`): Adam with a fixed learning rate
  (``1e-4`` in the paper) by default, or SGD with momentum; optional weight decay, SGDR
  (cosine annealing with warm restarts, stepped per epoch) and per-parameter-group settings
  (``param_groups``). Only parameters that require gradients are optimised (frozen CNNs, e.g.
  ``MultimodalModel.freeze_cnns()``, are left out); optional gradient-norm clipping; AMP
  (bfloat16 autocast, loss in float32) off by default;
* shuffling: a fresh permutation of the training samples per epoch from a ``torch.Generator``
  seeded with ``cfg.seed`` (independent of the global RNG, which dropout and augmentation use);
  the last batch may be smaller;
* model selection (not stated in the paper, §1.10 item 3): after every epoch the dev set is
  predicted and scored by the task; with ``selection="best_dev"`` the kept weights are those of
  the epoch with the best dev score (ties keep the earlier epoch), with ``"last"`` those of the
  last epoch. Without a dev set the last epoch is kept;
* checkpoints: after every epoch, model, optimiser, schedule, best weights, history and all RNG
  states are written atomically (:class:`~emorepro.training.runtime.Checkpointer`); rerunning
  with the same checkpoint resumes after the last saved epoch and gives the same weights and
  history as an uninterrupted run (bitwise on CPU). A checkpoint written with other settings
  (config, task, parameter groups) -> ``ConfigError``; ``epochs`` may be raised to continue.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from emorepro.errors import ConfigError, EmoreproError
from emorepro.training.losses import LossFn
from emorepro.training.runtime import (
    Checkpointer,
    get_rng_state,
    pick_device,
    seed_everything,
    set_rng_state,
)
from emorepro.training.settings import TrainConfig
from emorepro.training.tasks import (
    ClassificationTask,
    ClassPredictions,
    EvalOptions,
    PredictFn,
    RegressionTask,
    Task,
    dev_ccc,
    predict,
    predict_classes,
    to_device,
)

__all__ = [
    "ClassPredictions",
    "ClassificationTask",
    "DictInput",
    "EpochCallback",
    "ParamGroupsFn",
    "PredictFn",
    "RegressionTask",
    "Task",
    "TrainConfig",
    "dev_ccc",
    "make_optimizer",
    "make_scheduler",
    "predict",
    "predict_classes",
    "train",
    "trainable_groups",
]

log = logging.getLogger("emorepro")

EpochCallback = Callable[[int, nn.Module, dict[str, Any]], None]
ParamGroupsFn = Callable[[nn.Module], list[dict[str, Any]]]
"""``param_groups(model) -> [{"params": [...], "lr": ..., "weight_decay": ..., ...}, ...]``."""

REGRESSION = RegressionTask()
_GROUP_KEYS = {"adam": ("lr", "weight_decay"), "sgd": ("lr", "weight_decay", "momentum")}


class DictInput(nn.Module):
    """Adapter for models that take tensors: ``forward(batch) = model(*[batch[k] for k in keys])``.

    E.g. ``DictInput(UnimodalModel(SpeechCNN()), ("audio",))`` or
    ``DictInput(MultimodalModel(...), ("audio", "frames"))``. Its state-dict keys are the
    wrapped model's prefixed with ``model.``.
    """

    def __init__(self, model: nn.Module, keys: Sequence[str]) -> None:
        super().__init__()
        if isinstance(keys, str) or len(keys) == 0:
            raise ConfigError(
                f"DictInput: keys must be a non-empty list of batch keys, got {keys!r}"
            )
        self.model = model
        self.keys = tuple(keys)

    def forward(self, batch: dict[str, Any]) -> Any:
        missing = [k for k in self.keys if k not in batch]
        if missing:
            raise EmoreproError(
                f"DictInput: batch has no {missing[0]!r} (it has {sorted(batch)}); use a "
                "dataset that provides it (AudioSequences: audio, VideoSequences: frames, "
                "AVSequences: both)"
            )
        return self.model(*(batch[k] for k in self.keys))


def _cpu_state(obj: Any) -> dict[str, Any]:
    def cpu(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return v.detach().cpu().clone()
        if isinstance(v, dict):
            return {k: cpu(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return type(v)(cpu(x) for x in v)
        return v

    return cpu(obj.state_dict())


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- optimiser


def _group_settings(group: Any, i: int, optimizer: str) -> dict[str, Any]:
    """The hyper-parameters of one ``param_groups`` entry, checked."""
    if not isinstance(group, dict) or "params" not in group:
        raise ConfigError(f"param_groups: group {i} must be a dict with 'params', got {group!r}")
    allowed = (*_GROUP_KEYS[optimizer], "name")
    extra = {k: v for k, v in group.items() if k != "params"}
    for k, v in extra.items():
        if k not in allowed:
            raise ConfigError(
                f"param_groups: group {i} sets {k!r}; with optimizer={optimizer!r} a group may "
                f"set {list(allowed)}"
            )
        if k == "name":
            if not isinstance(v, str):
                raise ConfigError(f"param_groups: group {i} 'name' must be a str, got {v!r}")
        elif not (isinstance(v, int | float) and not isinstance(v, bool) and v >= 0):
            raise ConfigError(f"param_groups: group {i} {k!r} must be a number >= 0, got {v!r}")
        elif k == "lr" and v == 0:
            raise ConfigError(f"param_groups: group {i} 'lr' must be > 0 (freeze instead)")
    return extra


def trainable_groups(
    model: nn.Module, cfg: TrainConfig, param_groups: ParamGroupsFn | None = None
) -> tuple[list[Any], list[dict[str, Any]] | None]:
    """What the optimiser gets, and (with ``param_groups``) a description for the checkpoint.

    Without ``param_groups``: the model's parameters that require gradients, one group. With
    it: its groups, with frozen parameters dropped (and groups left empty by that). Every
    trainable parameter must be in exactly one group; a group may set ``lr``, ``weight_decay``
    (and ``momentum`` for SGD) and a ``name``; what it does not set comes from ``cfg``.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError(f"{cfg.name}: the model has no trainable parameters (all frozen)")
    if param_groups is None:
        return trainable, None
    groups = param_groups(model)
    if not isinstance(groups, list | tuple):
        raise ConfigError(f"param_groups must return a list of dicts, got {type(groups).__name__}")
    known = {id(p) for p in trainable}
    seen: set[int] = set()
    out: list[dict[str, Any]] = []
    described: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        extra = _group_settings(group, i, cfg.optimizer)
        raw = group["params"]
        params = [raw] if isinstance(raw, torch.Tensor) else list(raw)
        params = [p for p in params if p.requires_grad]
        for p in params:
            if id(p) not in known:
                raise ConfigError(
                    f"param_groups: group {i} holds a tensor that is not a trainable parameter "
                    "of the model"
                )
            if id(p) in seen:
                raise ConfigError(f"param_groups: a parameter is in more than one group ({i})")
            seen.add(id(p))
        if params:
            out.append({"params": params, **extra})
            described.append({"n_parameters": int(sum(p.numel() for p in params)), **extra})
    left = sum(p.numel() for p in trainable if id(p) not in seen)
    if left:
        raise ConfigError(
            f"param_groups leaves {left} trainable parameter values out of every group; add "
            "them to a group or freeze them (requires_grad_(False))"
        )
    return out, described


def make_optimizer(params: list[Any], cfg: TrainConfig) -> torch.optim.Optimizer:
    """``torch.optim.Adam`` or ``SGD`` from ``cfg`` over ``params`` (tensors or groups)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: TrainConfig
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The per-epoch learning-rate schedule of ``cfg`` (``None``: fixed rates)."""
    if cfg.schedule is None:
        return None
    return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=cfg.restart_epochs, T_mult=cfg.restart_mult, eta_min=cfg.min_lr
    )


# --------------------------------------------------------------------------- training


@dataclass
class _Progress:
    """What a checkpoint carries over between epochs besides model, optimiser and RNGs."""

    best_state: dict[str, Any]
    best_epoch: int = 0
    best_score: float = -math.inf
    history: list[dict[str, Any]] = field(default_factory=list)
    timing: list[dict[str, Any]] = field(default_factory=list)
    start: int = 1


@dataclass
class _Run:
    """One call of :func:`train`: its fixed parts and the per-epoch steps."""

    model: nn.Module
    train_ds: Any
    dev_ds: Any | None
    cfg: TrainConfig
    task: Task
    device: torch.device
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    loss_fn: LossFn
    shuffle: torch.Generator
    settings: dict[str, Any]
    ckpt: Checkpointer | None
    predict_fn: PredictFn | None

    def resume(self, where: Path | str | None) -> _Progress:
        """Fresh progress, or the checkpoint's (after checking its settings and loading it)."""
        progress = _Progress(best_state=_cpu_state(self.model))
        state = self.ckpt.load() if self.ckpt is not None else None
        if state is None:
            return progress
        if state.get("config") != self.settings:
            raise ConfigError(
                f"{where}: checkpoint was written with other settings "
                f"({state.get('config')}, now {self.settings}); delete it or point checkpoint "
                "elsewhere"
            )
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["optimizer"])
        if self.sched is not None:
            self.sched.load_state_dict(state["scheduler"])
        progress.best_state, progress.best_epoch = state["best_model"], int(state["best_epoch"])
        progress.best_score = float(state["best_score"])
        progress.history, progress.timing = list(state["history"]), list(state["timing"])
        set_rng_state(state["rng"])
        self.shuffle.set_state(state["shuffle_rng"])
        progress.start = int(state["epoch"]) + 1
        log.info("%s: resuming from %s after epoch %d", self.cfg.name, where, progress.start - 1)
        return progress

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        """One pass over the shuffled training set (or its first ``samples_per_epoch``):
        (mean sample loss, seconds)."""
        cfg, dev, model = self.cfg, self.device, self.model
        model.train()
        order = torch.randperm(len(self.train_ds), generator=self.shuffle).tolist()
        if cfg.samples_per_epoch is not None:
            order = order[: cfg.samples_per_epoch]
        n = len(order)
        loader = DataLoader(self.train_ds, batch_size=cfg.batch_size, sampler=order,
                            num_workers=cfg.num_workers, pin_memory=dev.type == "cuda")  # fmt: skip
        _sync(dev)
        t0 = time.perf_counter()
        total = 0.0
        for batch in loader:
            batch = to_device(batch, dev)
            self.opt.zero_grad(set_to_none=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp):
                pred = model(batch)
            pred = self.task.check_output(pred, batch, "train")
            value = self.loss_fn(pred.float(), batch["target"])
            value.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            self.opt.step()
            total += float(value.detach()) * len(batch["target"])
        _sync(dev)
        train_s = time.perf_counter() - t0
        train_loss = total / n
        if not math.isfinite(train_loss):
            raise EmoreproError(
                f"{cfg.name}: training diverged (train loss {train_loss} at epoch {epoch}); "
                f"lower lr (now {cfg.lr}) or set grad_clip"
            )
        return train_loss, train_s

    def evaluate(self) -> dict[str, float]:
        """The task's dev scores (``score_key`` first), NaN without a dev set."""
        if self.dev_ds is None:
            return self.task.no_scores()
        cfg = self.cfg
        opts = EvalOptions(self.device, cfg.eval_batch_size or cfg.batch_size, cfg.num_workers,
                           cfg.amp, self.predict_fn)  # fmt: skip
        return self.task.evaluate(self.model, self.dev_ds, opts)

    def select(self, progress: _Progress, epoch: int, score: float) -> None:
        """Keep this epoch's weights if the selection rule says so."""
        if self.dev_ds is None or self.cfg.selection == "last":
            progress.best_state, progress.best_epoch = _cpu_state(self.model), epoch
            progress.best_score = score
        elif score > progress.best_score:
            progress.best_state, progress.best_epoch = _cpu_state(self.model), epoch
            progress.best_score = score

    def save(self, progress: _Progress, epoch: int) -> None:
        """Write the full state after ``epoch`` (no-op without a checkpoint)."""
        if self.ckpt is None:
            return
        state = {
            "config": self.settings,
            "epoch": epoch,
            "model": _cpu_state(self.model),
            "optimizer": _cpu_state(self.opt),
            "best_model": progress.best_state,
            "best_epoch": progress.best_epoch,
            "best_score": progress.best_score,
            "history": progress.history,
            "timing": progress.timing,
            "rng": get_rng_state(),
            "shuffle_rng": self.shuffle.get_state(),
        }
        if self.sched is not None:
            state["scheduler"] = self.sched.state_dict()
        self.ckpt.save(state)

    def run_epoch(self, progress: _Progress, epoch: int) -> dict[str, Any]:
        """Train, step the schedule, score dev, select, record, checkpoint, log; the entry."""
        lrs = [float(g["lr"]) for g in self.opt.param_groups]
        train_loss, train_s = self.train_epoch(epoch)
        if self.sched is not None:
            self.sched.step()
        t1 = time.perf_counter()
        scores = self.evaluate()
        self.select(progress, epoch, scores[self.task.score_key])
        dev_s = time.perf_counter() - t1
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": train_loss, **scores}
        if self.cfg.schedule is not None:
            entry.update({"lr" if g == 0 else f"lr.{g}": v for g, v in enumerate(lrs)})
        n = len(self.train_ds)
        speed = n / train_s if train_s > 0 else math.inf
        progress.history.append(entry)
        progress.timing.append({"epoch": epoch, "train_s": train_s, "dev_s": dev_s,
                                "sequences_per_s": speed})  # fmt: skip
        self.save(progress, epoch)
        cfg = self.cfg
        if epoch % cfg.log_every == 0 or epoch == cfg.epochs:
            log.info(
                "%s epoch %d/%d loss %.4f dev %s (%.1f s/epoch, %.2f sequences/s; best %.3f @ %d)",
                cfg.name,
                epoch,
                cfg.epochs,
                train_loss,
                self.task.describe(scores),
                train_s + dev_s,
                speed,
                progress.best_score,
                progress.best_epoch,
            )
        return entry


def _settings(
    cfg: TrainConfig,
    dev: torch.device,
    model: nn.Module,
    task: Task,
    counts: tuple[int, int, int | None],
    groups: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """What the checkpoint records and checks on resumption; ``counts``: (trainable parameter
    values, training samples, dev samples or None)."""
    n_trainable, n_train, n_dev = counts
    settings = cfg.recorded()
    settings.update(
        device=dev.type,
        model=type(model).__qualname__,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        n_trainable=n_trainable,
        n_train=n_train,
        n_dev=n_dev,
    )
    settings.update(task.settings())
    if groups is not None:
        settings["param_groups"] = groups
    return settings


def train(
    model: nn.Module,
    train_ds: Any,
    dev_ds: Any | None,
    cfg: TrainConfig,
    *,
    checkpoint: Path | str | None = None,
    predict_fn: PredictFn | None = None,
    on_epoch_end: EpochCallback | None = None,
    task: Task | None = None,
    param_groups: ParamGroupsFn | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``model`` on ``train_ds``, select the epoch on ``dev_ds``; return (model, history).

    ``task``: :class:`RegressionTask` (default) or :class:`ClassificationTask`;
    ``cfg.loss`` must be one of ``task.losses``. History: ``{"epochs": [{"epoch",
    "train_loss", <dev scores>, ["lr", "lr.<g>" with a schedule]}], "best_epoch",
    "best_<score_key>", "timing": [{"epoch", "train_s", "dev_s", "sequences_per_s"}]}``; the
    dev scores are ``dev_ccc``, ``dev_ccc.<target>`` (regression) or ``dev_uar``,
    ``dev_accuracy`` (classification), NaN without dev; ``timing`` is wall-clock, so not
    reproducible. ``predict_fn(model, dataset, device)`` replaces the task's dev prediction
    (:func:`predict` / :func:`predict_classes`). ``param_groups(model)`` gives per-group
    learning rates etc. (:func:`trainable_groups`). ``on_epoch_end(epoch, model, entry)`` runs
    after the epoch's checkpoint is written. The returned model holds the selected epoch's
    weights, on ``cfg.device``, in eval mode.
    """
    task = REGRESSION if task is None else task
    if len(train_ds) == 0:
        raise ValueError("train: the training set has no sequences")
    if cfg.loss not in task.losses:
        raise ConfigError(
            f"TrainConfig.loss {cfg.loss!r} does not fit a {task.kind} task; use one of "
            f"{sorted(task.losses)}"
        )
    dev = pick_device(cfg.device)
    seed_everything(cfg.seed, device=dev)
    model.to(dev)
    params, groups = trainable_groups(model, cfg, param_groups)
    opt = make_optimizer(params, cfg)
    n_trainable = int(sum(p.numel() for p in model.parameters() if p.requires_grad))
    counts = (n_trainable, len(train_ds), None if dev_ds is None else len(dev_ds))
    run = _Run(
        model=model,
        train_ds=train_ds,
        dev_ds=dev_ds,
        cfg=cfg,
        task=task,
        device=dev,
        opt=opt,
        sched=make_scheduler(opt, cfg),
        loss_fn=task.losses[cfg.loss],
        shuffle=torch.Generator().manual_seed(cfg.seed),
        settings=_settings(cfg, dev, model, task, counts, groups),
        ckpt=Checkpointer(checkpoint) if checkpoint is not None else None,
        predict_fn=predict_fn,
    )
    progress = run.resume(checkpoint)
    for epoch in range(progress.start, cfg.epochs + 1):
        entry = run.run_epoch(progress, epoch)
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, entry)
    model.load_state_dict(progress.best_state)
    model.eval()
    return model, {
        "epochs": progress.history,
        "best_epoch": progress.best_epoch,
        f"best_{task.score_key}": progress.best_score,
        "timing": progress.timing,
    }
