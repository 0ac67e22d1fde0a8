"""Zhang et al. 2018 visual network ("Vnet"): C3D on 16-frame face clips.

Architecture: C3D as trained on Sports-1M (Tran et al., "Learning Spatiotemporal Features
with 3D Convolutional Networks", ICCV 2015, and its released Caffe model ``conv3d_deepnetA_
sport1m``): 8 convolutions 3x3x3 (stride 1, padding 1) Conv1a 64, Conv2a 128, Conv3a/b 256,
Conv4a/b 512, Conv5a/b 512, each followed by ReLU; 5 max-pools, pool1 1x2x2 (keeps time) and
pool2-pool5 2x2x2 (stride = kernel); fc6 4096, fc7 4096 (ReLU, dropout 0.5 after each) and fc8
(487 Sports-1M classes) replaced by one new C-way layer (as for the audio network, ambiguity 3).
Layer names are those of the widely used PyTorch ports of the Sports-1M model (``conv1``,
``conv2``, ``conv3a`` ... ``conv5b``, ``fc6``, ``fc7``, ``fc8``), so their state dicts load.

**Pool output sizes.** Caffe rounds pooled sizes *up*; at the 112x112 input the 7x7 conv5 map
becomes 4x4 at pool5, and fc6 reads 512 x 1 x 4 x 4 = 8192 values. PyTorch ports emulate this
with a symmetric padding (0, 1, 1) on pool5, which gives the same 4x4 at 112 but shifts the
pooling windows by one pixel. Here every pool uses ``ceil_mode=True`` without padding, which
is Caffe's own rule (identical windows at every input size); the flattened size follows from
the input size (:func:`c3d_pool5_shape`).

**Input size (ambiguity 4).** The paper resizes the 150x110 face crops to 227x227 "as the input
of the pre-trained 3D-CNN model", but the Sports-1M fc6 only fits 112x112 inputs (227 gives a
512 x 1 x 8 x 8 = 32768-value pool5). We resize to 112x112 (paper width default) so every
pretrained layer, fc6 included, is used; ``input_size=227`` builds the literal reading, whose
fc6 cannot be loaded (:meth:`C3D.load_sports1m` refuses it).

**Input normalisation** (:meth:`C3D.prepare`): clips ``(B, 3, T, H, W)`` of RGB pixel values on
the 0-255 scale (uint8 or float) are resized frame by frame (bilinear, antialiased, whole crop,
aspect not kept) to ``input_size`` and standardised per channel. The Sports-1M model subtracts
its training mean clip and does not scale; :meth:`C3D.fit_input_stats` sets the per-channel
mean of the training fold's clips and (``scale=True``, for networks trained from scratch) their
std, or std 1 (``scale=False``, the Sports-1M convention for pretrained weights). Before fitting,
(x - 127.5) / 127.5 maps pixels to [-1, 1]. A file converted from Caffe expects BGR channel
order in conv1; our clips are RGB (swap conv1's input channels when converting such a file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from emorepro.errors import ConfigError
from emorepro.families.zhang2018.inputs import (
    ChannelNorm,
    as_float_tensor,
    he_init_,
    load_trunk_weights,
)

CONV_NAMES = ("conv1", "conv2", "conv3a", "conv3b", "conv4a", "conv4b", "conv5a", "conv5b")
POOL_AFTER = {"conv1": (1, 2, 2), "conv2": (2, 2, 2), "conv3b": (2, 2, 2), "conv4b": (2, 2, 2)}
POOL5 = (2, 2, 2)
SPORTS1M_FC8 = "fc8."
CLIP_FRAMES = 16


@dataclass(frozen=True)
class C3DWidth:
    """Filters of the 8 convolutions, units of fc6/fc7 and the default input side."""

    channels: tuple[int, int, int, int, int, int, int, int]
    fc: int
    input_size: int


C3D_WIDTHS: dict[str, C3DWidth] = {
    "paper": C3DWidth((64, 128, 256, 256, 512, 512, 512, 512), 4096, 112),
    "small": C3DWidth((8, 16, 32, 32, 64, 64, 64, 64), 256, 40),
    "tiny": C3DWidth((8, 16, 16, 16, 32, 32, 32, 32), 64, 32),
}
"""Network widths; only ``paper`` is C3D (and can load Sports-1M weights)."""


def _pooled(n: int, k: int) -> int:
    """Caffe's (= PyTorch ``ceil_mode=True``, no padding) pooled size, kernel = stride = k."""
    if n < k:
        raise ConfigError(f"C3D: a {n}-long axis is shorter than a pooling kernel of {k}")
    return math.ceil((n - k) / k) + 1


def c3d_pool5_shape(frames: int, input_size: int) -> tuple[int, int, int]:
    """(T, H, W) of the pool5 map for ``frames`` x ``input_size`` x ``input_size`` clips."""
    shape = (frames, input_size, input_size)
    for kernel in (*POOL_AFTER.values(), POOL5):
        shape = tuple(_pooled(n, k) for n, k in zip(shape, kernel, strict=True))
    return shape  # type: ignore[return-value]


class C3DTrunk(nn.Module):
    """C3D without fc8: ``(B, 3, T, S, S) -> (B, fc)``, the fc7 activation after its ReLU."""

    def __init__(self, width: C3DWidth, frames: int, input_size: int, dropout: float) -> None:
        super().__init__()
        t, h, w = c3d_pool5_shape(frames, input_size)
        self.flat_dim = width.channels[-1] * t * h * w
        c_in = 3
        for name, c_out in zip(CONV_NAMES, width.channels, strict=True):
            setattr(self, name, nn.Conv3d(c_in, c_out, kernel_size=3, padding=1))
            c_in = c_out
        self.pools = nn.ModuleDict(
            {n: nn.MaxPool3d(k, stride=k, ceil_mode=True) for n, k in POOL_AFTER.items()}
        )
        self.pool5 = nn.MaxPool3d(POOL5, stride=POOL5, ceil_mode=True)
        self.fc6 = nn.Linear(self.flat_dim, width.fc)
        self.fc7 = nn.Linear(width.fc, width.fc)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in CONV_NAMES:
            x = self.relu(getattr(self, name)(x))
            if name in self.pools:
                x = self.pools[name](x)
        x = torch.flatten(self.pool5(x), 1)
        x = self.dropout(self.relu(self.fc6(x)))
        return self.relu(self.fc7(x))


class C3D(nn.Module):
    """Face clips ``(B, 3, T, H, W)`` (0-255) -> logits ``(B, n_classes)``; see the module doc.

    ``features(x)`` is fc7 after its ReLU, ``(B, feature_dim)`` (4096 at paper width); dropout
    0.5 follows it (train mode) before the new fc8. ``forward``/``features`` call
    :meth:`prepare`; pass ``prepared=True`` for ``(B, 3, T, S, S)`` standardised clips.
    """

    def __init__(
        self,
        n_classes: int,
        *,
        width: str = "paper",
        input_size: int | None = None,
        frames: int = CLIP_FRAMES,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if width not in C3D_WIDTHS:
            raise ConfigError(f"C3D width={width!r}; use one of {sorted(C3D_WIDTHS)}")
        if n_classes < 2:
            raise ConfigError(f"C3D: n_classes={n_classes}; need at least 2")
        spec = C3D_WIDTHS[width]
        self.width, self.n_classes, self.frames = width, int(n_classes), int(frames)
        self.input_size = spec.input_size if input_size is None else int(input_size)
        self.feature_dim = spec.fc
        self.trunk = he_init_(C3DTrunk(spec, self.frames, self.input_size, dropout))
        self.drop7 = nn.Dropout(p=dropout)
        self.fc8 = nn.Linear(spec.fc, self.n_classes)
        self.norm = ChannelNorm((127.5,) * 3, (127.5,) * 3)
        self.pretrained = False
        self.weights_sha256: str | None = None

    def _clips(self, clips: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = as_float_tensor(clips, device=self.norm.mean.device)
        if x.ndim != 5 or x.shape[1] != 3 or x.shape[2] != self.frames:
            raise ValueError(
                f"C3D: expected clips (B, 3, {self.frames}, H, W) on the 0-255 scale, got "
                f"{tuple(x.shape)}"
            )
        return x

    def fit_input_stats(self, clips: torch.Tensor | np.ndarray, *, scale: bool = True) -> None:
        """Per-channel mean (and std when ``scale``, else 1) of training clips (0-255)."""
        self.norm.fit(self._clips(clips), scale=scale)

    def prepare(self, clips: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``(B, 3, T, H, W)`` -> ``(B, 3, T, S, S)``: per-frame bilinear resize, standardise."""
        x = self._clips(clips)
        b, c, t, h, w = x.shape
        if (h, w) != (self.input_size, self.input_size):
            frames = x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
            size = (self.input_size, self.input_size)
            frames = F.interpolate(
                frames, size=size, mode="bilinear", align_corners=False, antialias=True
            )
            x = frames.reshape(b, t, c, *size).permute(0, 2, 1, 3, 4)
        return self.norm(x)

    def features(self, x: torch.Tensor | np.ndarray, *, prepared: bool = False) -> torch.Tensor:
        """fc7 after ReLU, ``(B, feature_dim)``."""
        return self.trunk(x if prepared else self.prepare(x))

    def forward(self, x: torch.Tensor | np.ndarray, *, prepared: bool = False) -> torch.Tensor:
        return self.fc8(self.drop7(self.features(x, prepared=prepared)))

    def load_sports1m(self, path: Path | str, sha256: str | None = None) -> None:
        """Copy C3D-Sports-1M weights (all layers but fc8) from a local state-dict file.

        Keys ``conv1.*`` ... ``conv5b.*``, ``fc6.*``, ``fc7.*`` (``fc8.*`` is ignored);
        checksum and ``weights_only`` loading as in :mod:`emorepro.models.weights`. Only the
        paper width with 16-frame 112x112 clips (fc6 on 8192 inputs) fits the file.
        """
        load_trunk_weights(
            self,
            path,
            sha256,
            source="C3D Sports-1M",
            fc6_inputs=8192,
            fix="use frames=16 and input_size=112 (512 x 1 x 4 x 4)",
            ignore=SPORTS1M_FC8,
        )
