"""Model-agnostic training loop of every sequence model (experiments.md §1.5): the end-to-end
networks of Tzirakis et al. and the BLSTM baseline (:func:`emorepro.baselines.blstm.train_blstm`).

A model maps a batch dict (``"audio"`` and/or ``"frames"`` or ``"features"``, ``"target"``,
``"item"``, ``"start"``, tensors moved to the device) to predictions ``(B, T, 2)``.
Conventions:

* Adam with a fixed learning rate (``1e-4`` in the paper) over the parameters that require
  gradients (frozen CNNs, e.g. ``MultimodalModel.freeze_cnns()``, are left out), loss ``ccc``
  (batch-pooled ``1 - rho_c`` averaged over arousal and valence,
  :mod:`emorepro.training.losses`) or ``mse``;
  optional gradient-norm clipping; AMP (bfloat16 autocast, loss in float32) off by default;
* shuffling: a fresh permutation of the training windows per epoch from a ``torch.Generator``
  seeded with ``cfg.seed`` (independent of the global RNG, which dropout and augmentation use);
  the last batch may be smaller;
* model selection (not stated in the paper, §1.10 item 3): after every epoch the dev windows
  are predicted and stitched back into recordings (:func:`predict`); the kept weights are those
  of the epoch with the best dev CCC, pooled over the concatenated dev recordings with
  population moments (``metrics.ccc``), mean of the targets; ties keep the earlier epoch.
  Without a dev set the last epoch is kept;
* checkpoints: after every epoch, model, optimiser, best weights, history and all RNG states
  are written atomically (:class:`~emorepro.training.runtime.Checkpointer`); rerunning with the
  same checkpoint resumes after the last saved epoch and gives the same weights and history as
  an uninterrupted run (bitwise on CPU). A checkpoint written with other settings ->
  ``ConfigError``; ``epochs`` may be raised to continue training.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from emorepro import metrics as M
from emorepro.errors import ConfigError, EmoreproError
from emorepro.training.losses import LOSSES
from emorepro.training.runtime import (
    Checkpointer,
    get_rng_state,
    pick_device,
    seed_everything,
    set_rng_state,
)

log = logging.getLogger("emorepro")

PredictFn = Callable[[nn.Module, Any, torch.device], dict[str, np.ndarray]]
EpochCallback = Callable[[int, nn.Module, dict[str, Any]], None]


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; defaults are the paper's where it gives them (Adam, lr 1e-4).

    ``batch_size`` 25 is the paper's audio batch (2 for video). ``log_every``: log one line
    every that many epochs (and after the last). ``eval_batch_size`` defaults to
    ``batch_size``. ``name`` prefixes the log lines.
    """

    loss: str = "ccc"
    epochs: int = 60
    lr: float = 1e-4
    batch_size: int = 25
    seed: int = 0
    device: str = "cpu"
    grad_clip: float | None = None
    num_workers: int = 0
    log_every: int = 1
    amp: bool = False
    eval_batch_size: int | None = None
    name: str = "train"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(
                f"TrainConfig.loss must be one of {sorted(LOSSES)}, got {self.loss!r}"
            )
        for key in ("epochs", "batch_size", "log_every"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"TrainConfig.{key} must be a positive int, got {value!r}")
        if self.eval_batch_size is not None and (
            not isinstance(self.eval_batch_size, int) or self.eval_batch_size < 1
        ):
            raise ConfigError(
                f"TrainConfig.eval_batch_size must be a positive int or None, "
                f"got {self.eval_batch_size!r}"
            )
        if not isinstance(self.num_workers, int) or self.num_workers < 0:
            raise ConfigError(
                f"TrainConfig.num_workers must be an int >= 0, got {self.num_workers!r}"
            )
        if not (isinstance(self.lr, int | float) and not isinstance(self.lr, bool) and self.lr > 0):
            raise ConfigError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.grad_clip is not None and not (
            isinstance(self.grad_clip, int | float) and self.grad_clip > 0
        ):
            raise ConfigError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"TrainConfig.seed must be an int, got {self.seed!r}")


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


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    nb = device.type == "cuda"
    return {
        k: v.to(device, non_blocking=nb) if isinstance(v, torch.Tensor) else v
        for k, v in batch.items()
    }


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
            batch = _to_device(batch, dev)
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


def _cpu_state(obj: nn.Module | torch.optim.Optimizer) -> dict[str, Any]:
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


def train(
    model: nn.Module,
    train_ds: Any,
    dev_ds: Any | None,
    cfg: TrainConfig,
    *,
    checkpoint: Path | str | None = None,
    predict_fn: PredictFn | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train ``model`` on ``train_ds``, select the epoch on ``dev_ds``; return (model, history).

    History: ``{"epochs": [{"epoch", "train_loss", "dev_ccc", "dev_ccc.<target>"...}],
    "best_epoch", "best_dev_ccc", "timing": [{"epoch", "train_s", "dev_s",
    "sequences_per_s"}]}`` (``timing`` is wall-clock, so not reproducible). ``predict_fn(model,
    dataset, device) -> {item: (T, 2)}`` replaces :func:`predict` for the dev set.
    ``on_epoch_end(epoch, model, entry)`` runs after the epoch's checkpoint is written.
    The returned model holds the best epoch's weights, on ``cfg.device``, in eval mode.
    """
    if len(train_ds) == 0:
        raise ValueError("train: the training set has no sequences")
    dev = pick_device(cfg.device)
    seed_everything(cfg.seed, device=dev)
    model.to(dev)
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError(f"{cfg.name}: the model has no trainable parameters (all frozen)")
    opt = torch.optim.Adam(trainable, lr=cfg.lr)
    loss_fn = LOSSES[cfg.loss]
    shuffle = torch.Generator().manual_seed(cfg.seed)
    eval_bs = cfg.eval_batch_size or cfg.batch_size

    def run_predict(m: nn.Module, ds: Any) -> dict[str, np.ndarray]:
        if predict_fn is not None:
            return predict_fn(m, ds, dev)
        return predict(m, ds, device=dev, batch_size=eval_bs, num_workers=cfg.num_workers,
                       amp=cfg.amp)  # fmt: skip

    settings = {
        k: v
        for k, v in asdict(cfg).items()
        if k not in ("epochs", "log_every", "eval_batch_size", "name", "device")
    }
    settings.update(
        device=dev.type,
        model=type(model).__qualname__,
        n_parameters=int(sum(p.numel() for p in model.parameters())),
        n_trainable=int(sum(p.numel() for p in trainable)),
        n_train=len(train_ds),
        n_dev=None if dev_ds is None else len(dev_ds),
    )
    history: list[dict[str, Any]] = []
    timing: list[dict[str, Any]] = []
    best_state, best_epoch, best_score = _cpu_state(model), 0, -math.inf
    start = 1
    ckpt = Checkpointer(checkpoint) if checkpoint is not None else None
    state = ckpt.load() if ckpt is not None else None
    if state is not None:
        if state.get("config") != settings:
            raise ConfigError(
                f"{checkpoint}: checkpoint was written with other settings "
                f"({state.get('config')}, now {settings}); delete it or point checkpoint elsewhere"
            )
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        best_state, best_epoch = state["best_model"], int(state["best_epoch"])
        best_score = float(state["best_score"])
        history, timing = list(state["history"]), list(state["timing"])
        set_rng_state(state["rng"])
        shuffle.set_state(state["shuffle_rng"])
        start = int(state["epoch"]) + 1
        log.info("%s: resuming from %s after epoch %d", cfg.name, checkpoint, start - 1)

    n = len(train_ds)
    for epoch in range(start, cfg.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=shuffle).tolist()
        loader = DataLoader(train_ds, batch_size=cfg.batch_size, sampler=order,
                            num_workers=cfg.num_workers, pin_memory=dev.type == "cuda")  # fmt: skip
        _sync(dev)
        t0 = time.perf_counter()
        total = 0.0
        for batch in loader:
            batch = _to_device(batch, dev)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp):
                pred = model(batch)
            pred = _check_pred(pred, batch["target"], "train")
            value = loss_fn(pred.float(), batch["target"])
            value.backward()
            if cfg.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total += float(value.detach()) * len(batch["target"])
        _sync(dev)
        train_s = time.perf_counter() - t0
        train_loss = total / n
        if not math.isfinite(train_loss):
            raise EmoreproError(
                f"{cfg.name}: training diverged (train loss {train_loss} at epoch {epoch}); "
                f"lower lr (now {cfg.lr}) or set grad_clip"
            )
        t1 = time.perf_counter()
        if dev_ds is not None:
            per_target = dev_ccc(dev_ds, run_predict(model, dev_ds))
            score = float(np.mean(list(per_target.values())))
            if score > best_score:
                best_state, best_epoch, best_score = _cpu_state(model), epoch, score
        else:
            per_target, score = {}, math.nan
            best_state, best_epoch, best_score = _cpu_state(model), epoch, math.nan
        dev_s = time.perf_counter() - t1
        entry = {
            "epoch": epoch,
            "train_loss": train_loss,
            "dev_ccc": score,
            **{f"dev_ccc.{t}": v for t, v in per_target.items()},
        }
        history.append(entry)
        timing.append({"epoch": epoch, "train_s": train_s, "dev_s": dev_s,
                       "sequences_per_s": n / train_s if train_s > 0 else math.inf})  # fmt: skip
        if ckpt is not None:
            ckpt.save(
                {
                    "config": settings,
                    "epoch": epoch,
                    "model": _cpu_state(model),
                    "optimizer": _cpu_state(opt),
                    "best_model": best_state,
                    "best_epoch": best_epoch,
                    "best_score": best_score,
                    "history": history,
                    "timing": timing,
                    "rng": get_rng_state(),
                    "shuffle_rng": shuffle.get_state(),
                }
            )
        if epoch % cfg.log_every == 0 or epoch == cfg.epochs:
            dev_txt = " ".join(f"{t[0]}={v:.3f}" for t, v in per_target.items()) or "n/a"
            log.info(
                "%s epoch %d/%d loss %.4f dev CCC %s (%.1f s/epoch, %.2f sequences/s; "
                "best %.3f @ %d)",
                cfg.name,
                epoch,
                cfg.epochs,
                train_loss,
                dev_txt,
                train_s + dev_s,
                n / train_s if train_s > 0 else math.inf,
                best_score,
                best_epoch,
            )
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, entry)
    model.load_state_dict(best_state)
    model.eval()
    return model, {
        "epochs": history,
        "best_epoch": best_epoch,
        "best_dev_ccc": best_score,
        "timing": timing,
    }
