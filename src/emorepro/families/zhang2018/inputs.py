"""Per-channel input standardisation shared by the audio and visual networks.

:class:`ChannelNorm` holds a mean and a standard deviation per input channel as buffers, so a
saved ``state_dict`` carries them, and maps ``x -> (x - mean_c) / std_c`` on channel-first
tensors ``(B, C, ...)``. The paper states no input normalisation; the networks fit these
statistics on the training fold (:meth:`ChannelNorm.fit`), never on test data.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emorepro.errors import ConfigError
from emorepro.models.weights import apply_state_dict, load_state_dict_file, sha256_file

STD_FLOOR = 1e-6
"""A channel whose standard deviation is below this keeps std 1 (a constant channel)."""


def as_float_tensor(x: torch.Tensor | np.ndarray, *, device: torch.device) -> torch.Tensor:
    """``x`` as a float32 tensor on ``device`` (NumPy arrays are copied, uint8 kept 0-255)."""
    t = torch.tensor(x) if isinstance(x, np.ndarray) else x  # copy: the array may be read-only
    if not (t.is_floating_point() or t.dtype == torch.uint8):
        raise ValueError(f"expected float or uint8 input, got {t.dtype}")
    return t.to(device=device, dtype=torch.float32)


def channel_moments(x: torch.Tensor, channel_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and population std over every other axis (float64 accumulation)."""
    moved = x.detach().to(torch.float64).movedim(channel_dim, 0).reshape(x.shape[channel_dim], -1)
    if moved.shape[1] == 0:
        raise ValueError("channel_moments: no values to average")
    return moved.mean(dim=1), moved.std(dim=1, correction=0)


class ChannelNorm(nn.Module):
    """``(x - mean) / std`` per channel of a channel-first tensor ``(B, C, ...)``.

    Buffers ``mean`` and ``std`` (shape ``(C,)``) start at the given defaults.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32))
        self.register_buffer("std", torch.ones(len(self.mean)))
        self.set(mean, std)

    def set(
        self, mean: Sequence[float] | torch.Tensor, std: Sequence[float] | torch.Tensor
    ) -> None:
        """Replace the statistics; every std must be positive."""
        m = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        s = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        n = self.mean.numel()
        if m.numel() != n or s.numel() != n:
            raise ConfigError(f"ChannelNorm: need {n} means and stds, got {m.numel()}/{s.numel()}")
        if not (torch.isfinite(m).all() and torch.isfinite(s).all() and (s > 0).all()):
            raise ConfigError(f"ChannelNorm: means must be finite and stds > 0, got {m}, {s}")
        self.mean.copy_(m)
        self.std.copy_(s)

    def fit(self, x: torch.Tensor, *, scale: bool = True) -> None:
        """Set mean (and std, when ``scale``; else 1) from channel-first training data."""
        mean, std = channel_moments(x, 1)
        std = torch.where(std < STD_FLOOR, torch.ones_like(std), std) if scale else None
        self.set(mean, torch.ones_like(mean) if std is None else std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return (x - self.mean.reshape(shape)) / self.std.reshape(shape)


def he_init_(module: nn.Module) -> nn.Module:
    """He (Kaiming) normal initialisation, fan-in, for ReLU networks trained from scratch:
    every convolution and linear layer ``W ~ N(0, 2 / fan_in)``, biases 0. PyTorch's default
    (uniform, variance ``1 / (3 fan_in)``) halves the signal at each of C3D's ten ReLU layers,
    and a tiny C3D trained from it on the synthetic twins stayed at chance loss (ln 6) for
    every learning rate tried (3e-4 to 3e-3, Adam). Pretrained weights overwrite it."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Conv3d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def load_trunk_weights(
    net: nn.Module,
    path: Path | str,
    sha256: str | None,
    *,
    source: str,
    fc6_inputs: int,
    fix: str,
    ignore: str,
) -> None:
    """Copy pretrained weights (all layers but fc8, keys starting ``ignore``) into
    ``net.trunk`` from a local state-dict file (checksum, ``weights_only``:
    :mod:`emorepro.models.weights`). Only the paper width whose fc6 takes ``fc6_inputs``
    inputs fits a published file; anything else raises ``ConfigError`` saying ``fix``."""
    name = type(net).__name__
    if net.width != "paper":
        raise ConfigError(
            f"{name}: {source} weights fit width 'paper' only, this network is {net.width!r}; "
            "use width='paper' or train from scratch"
        )
    if net.trunk.flat_dim != fc6_inputs:
        raise ConfigError(
            f"{name}: input_size={net.input_size} gives fc6 {net.trunk.flat_dim} inputs, the "
            f"{source} fc6 has {fc6_inputs}; {fix}"
        )
    state = load_state_dict_file(path, sha256=sha256)
    apply_state_dict(net.trunk, state, source=path, ignore_prefixes=(ignore,))
    net.pretrained = True
    net.weights_sha256 = sha256_file(path)
