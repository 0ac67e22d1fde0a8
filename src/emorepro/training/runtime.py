"""Seeding, device choice, thread count and atomic, resumable checkpoints.

Checkpoints are written with ``torch.save`` to a temporary file beside the target and moved
into place with ``os.replace``, so a checkpoint on disk is always complete. They are read with
``torch.load(weights_only=True)``: every RNG state is stored as a tensor or plain ints, never
as an arbitrary pickled object.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emorepro.errors import ConfigError, CorruptInputError

_CUBLAS = "CUBLAS_WORKSPACE_CONFIG"


def seed_everything(seed: int, *, device: torch.device | str = "cpu") -> None:
    """Seed Python, NumPy and torch (all devices) and switch torch to deterministic kernels.

    CPU: ``torch.use_deterministic_algorithms(True)`` (an op without a deterministic kernel
    raises). CUDA: sets ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (unless already set; it only takes
    effect before cuBLAS is first used), cuDNN deterministic mode, and deterministic
    algorithms with ``warn_only=True`` (GPU runs are reproducible in practice, not promised).
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 (the global legacy RNG is what we seed)
    torch.manual_seed(int(seed))
    if torch.device(device).type == "cuda":
        os.environ.setdefault(_CUBLAS, ":4096:8")
        torch.cuda.manual_seed_all(int(seed))
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.use_deterministic_algorithms(True, warn_only=False)


def pick_device(preference: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; ``"cpu"``; ``"cuda"``/``"cuda:N"``."""
    if isinstance(preference, torch.device):
        preference = str(preference)
    pref = str(preference).strip().lower()
    if pref == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda" or pref.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {preference!r} requested but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
                "set device: cpu or auto, or install a CUDA build of torch"
            )
        dev = torch.device(pref)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ConfigError(
                f"device {preference!r} requested but only {torch.cuda.device_count()} GPU(s) exist"
            )
        return dev
    raise ConfigError(f"unknown device {preference!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'")


def set_threads(n: int) -> None:
    """Use ``n`` intra-op CPU threads in torch (and ``n`` inter-op threads if still settable)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"threads must be a positive int, got {n!r}")
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(n)
    except RuntimeError:  # only settable once, before any inter-op work started
        pass


def torch_device(execution: Mapping[str, Any]) -> torch.device:
    """Apply the execution knobs (``torch_threads``) and return the device to train on
    (``device``: auto | cpu | cuda, see :func:`pick_device`)."""
    set_threads(int(execution.get("torch_threads", 1)))
    return pick_device(execution.get("device", "auto"))


def get_rng_state() -> dict[str, Any]:
    """Python, NumPy and torch RNG states as tensors/ints (loadable with ``weights_only``)."""
    version, py_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # noqa: NPY002
    state: dict[str, Any] = {
        "python": torch.tensor(py_state, dtype=torch.int64),
        "python_version": int(version),
        "python_gauss": gauss,
        "numpy_keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
        "numpy_pos": int(pos),
        "numpy_has_gauss": int(has_gauss),
        "numpy_cached": float(cached),
        "numpy_kind": str(kind),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    random.setstate(
        (state["python_version"], tuple(int(v) for v in state["python"]), state["python_gauss"])
    )
    np.random.set_state(  # noqa: NPY002
        (
            state["numpy_kind"],
            state["numpy_keys"].numpy().astype(np.uint32),
            state["numpy_pos"],
            state["numpy_has_gauss"],
            state["numpy_cached"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpointer:
    """Atomic save/load of a training state dict at ``path`` (resume after interruption)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, numbers, strings, lists/dicts of them) atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            torch.save(state, tmp)
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def load(self) -> dict[str, Any] | None:
        """The saved state (tensors on CPU), or ``None`` if no checkpoint exists yet."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as err:  # truncated or foreign file
            raise CorruptInputError(
                self.path,
                "not a readable checkpoint (torch.load with weights_only=True raised "
                f"{type(err).__name__}; truncated file or written by other code)",
                fix="delete the checkpoint to restart training from epoch 1",
            ) from err
        if not isinstance(state, dict):
            raise CorruptInputError(
                self.path,
                f"checkpoint holds a {type(state).__name__}, not a dict",
                fix="delete the checkpoint to restart training from epoch 1",
            )
        return state

    def clear(self) -> None:
        """Remove the checkpoint (e.g. after the final result has been written)."""
        self.path.unlink(missing_ok=True)
