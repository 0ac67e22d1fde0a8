"""Training settings (:class:`TrainConfig`) and what of them a checkpoint records.

Every field is validated when the config is built; a bad value raises ``ConfigError`` naming
the field (``TrainConfig.<field>``). The defaults are the paper's where it gives them and
reproduce the original regression trainer bit for bit: Adam at a fixed ``lr``, no weight
decay, no schedule, best-dev-epoch selection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from emorepro.errors import ConfigError
from emorepro.training.losses import CLASSIFICATION_LOSSES, LOSSES

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = (None, "cosine_restarts")
SELECTIONS = ("best_dev", "last")

_NOT_RECORDED = ("epochs", "log_every", "eval_batch_size", "name", "device")
"""Fields a checkpoint does not check: they may change between a run and its resumption."""

_LATER_FIELDS = (
    "optimizer",
    "momentum",
    "weight_decay",
    "schedule",
    "restart_epochs",
    "restart_mult",
    "min_lr",
    "selection",
    "samples_per_epoch",
)
"""Fields added after the first checkpoints were written: recorded only when not at their
default, so older checkpoints (which lack them) still resume."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class TrainConfig:
    """Training settings; defaults are the paper's where it gives them (Adam, lr 1e-4).

    ``loss``: ``ccc``/``mse`` for regression, ``cross_entropy`` for classification (the task
    passed to ``train`` checks the pairing). ``batch_size`` 25 is the paper's audio batch (2 for
    video). ``log_every``: log one line every that many epochs (and after the last).
    ``eval_batch_size`` defaults to ``batch_size``. ``name`` prefixes the log lines.

    Optimiser: ``optimizer`` ``"adam"`` (``torch.optim.Adam``) or ``"sgd"`` (``torch.optim.SGD``
    with ``momentum``; ``momentum`` must stay 0 for Adam); ``weight_decay`` is the optimiser's
    own (L2 added to the gradient, also for Adam). ``lr`` is the learning rate of every
    parameter group that does not set its own (see ``param_groups`` of ``train``).

    Schedule: ``None`` (fixed rates) or ``"cosine_restarts"`` (SGDR,
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(T_0=restart_epochs,
    T_mult=restart_mult, eta_min=min_lr)``, stepped once after every epoch, so epoch ``e``
    trains at the rate the scheduler gives after ``e - 1`` steps). ``restart_epochs`` is
    required with it; without a schedule ``restart_epochs``, ``restart_mult`` and ``min_lr``
    must keep their defaults.

    Selection: ``"best_dev"`` keeps the epoch with the best dev score (ties keep the earlier
    epoch); ``"last"`` keeps the last epoch (dev is still scored and logged). Without a dev
    set the last epoch is kept either way.

    ``samples_per_epoch``: ``None`` trains every epoch on the whole (shuffled) training set;
    an int ``k`` trains each epoch on the first ``k`` samples of that epoch's permutation (a
    fresh seeded random subset per epoch; the permutation is drawn the same way either way).
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
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str | None = None
    restart_epochs: int | None = None
    restart_mult: int = 1
    min_lr: float = 0.0
    selection: str = "best_dev"
    samples_per_epoch: int | None = None

    def __post_init__(self) -> None:
        self._check_basics()
        self._check_optimiser()
        self._check_schedule()
        if self.selection not in SELECTIONS:
            raise ConfigError(
                f"TrainConfig.selection must be one of {list(SELECTIONS)}, got {self.selection!r}"
            )

    def _check_basics(self) -> None:
        known = {**LOSSES, **CLASSIFICATION_LOSSES}
        if self.loss not in known:
            raise ConfigError(f"TrainConfig.loss must be one of {sorted(known)}, got {self.loss!r}")
        for key in ("epochs", "batch_size", "log_every"):
            value = getattr(self, key)
            if not _is_count(value):
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
        if not (_is_number(self.lr) and self.lr > 0):
            raise ConfigError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.grad_clip is not None and not (
            isinstance(self.grad_clip, int | float) and self.grad_clip > 0
        ):
            raise ConfigError(f"TrainConfig.grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if self.samples_per_epoch is not None and not _is_count(self.samples_per_epoch):
            raise ConfigError(
                "TrainConfig.samples_per_epoch must be a positive int or None, "
                f"got {self.samples_per_epoch!r}"
            )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"TrainConfig.seed must be an int, got {self.seed!r}")

    def _check_optimiser(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"TrainConfig.optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}"
            )
        for key in ("momentum", "weight_decay"):
            value = getattr(self, key)
            if not (_is_number(value) and value >= 0):
                raise ConfigError(f"TrainConfig.{key} must be a number >= 0, got {value!r}")
        if self.optimizer != "sgd" and self.momentum != 0:
            raise ConfigError(
                f"TrainConfig.momentum applies to optimizer='sgd' only, got momentum="
                f"{self.momentum!r} with optimizer={self.optimizer!r}"
            )

    def _check_schedule(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"TrainConfig.schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}"
            )
        if self.schedule is None:
            for key, unset in (("restart_epochs", None), ("restart_mult", 1), ("min_lr", 0.0)):
                if getattr(self, key) != unset:
                    raise ConfigError(
                        f"TrainConfig.{key} applies to schedule='cosine_restarts' only, got "
                        f"{getattr(self, key)!r} with schedule=None"
                    )
        elif not _is_count(self.restart_epochs):
            raise ConfigError(
                "TrainConfig.restart_epochs must be a positive int with "
                f"schedule={self.schedule!r}, got {self.restart_epochs!r}"
            )
        if not _is_count(self.restart_mult):
            raise ConfigError(
                f"TrainConfig.restart_mult must be a positive int, got {self.restart_mult!r}"
            )
        if not (_is_number(self.min_lr) and 0 <= self.min_lr < self.lr):
            raise ConfigError(
                f"TrainConfig.min_lr must be a number in [0, lr={self.lr!r}), got {self.min_lr!r}"
            )

    def recorded(self) -> dict[str, Any]:
        """The fields a checkpoint records and checks on resumption (see ``_LATER_FIELDS``)."""
        defaults = {f.name: f.default for f in fields(self)}
        return {
            k: v
            for k, v in asdict(self).items()
            if k not in _NOT_RECORDED and (k not in _LATER_FIELDS or v != defaults[k])
        }
