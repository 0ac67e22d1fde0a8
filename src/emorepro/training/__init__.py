"""Shared training utilities: losses, seeding, devices, threads and atomic checkpoints.

The trainer itself (``emorepro.training.trainer``), its settings (``.settings``) and tasks
(``.tasks``) are imported from their modules, so importing this package stays light.
"""

from emorepro.training.losses import (
    CLASSIFICATION_LOSSES,
    LOSSES,
    ccc_loss,
    cross_entropy_loss,
    mse_loss,
)
from emorepro.training.runtime import (
    Checkpointer,
    get_rng_state,
    pick_device,
    seed_everything,
    set_rng_state,
    set_threads,
)

__all__ = [
    "CLASSIFICATION_LOSSES",
    "LOSSES",
    "Checkpointer",
    "ccc_loss",
    "cross_entropy_loss",
    "get_rng_state",
    "mse_loss",
    "pick_device",
    "seed_everything",
    "set_rng_state",
    "set_threads",
]
