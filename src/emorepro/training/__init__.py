"""Shared training utilities: losses, seeding, devices, threads and atomic checkpoints."""

from emorepro.training.losses import LOSSES, ccc_loss, mse_loss
from emorepro.training.runtime import (
    Checkpointer,
    get_rng_state,
    pick_device,
    seed_everything,
    set_rng_state,
    set_threads,
)

__all__ = [
    "LOSSES",
    "Checkpointer",
    "ccc_loss",
    "get_rng_state",
    "mse_loss",
    "pick_device",
    "seed_everything",
    "set_rng_state",
    "set_threads",
]
