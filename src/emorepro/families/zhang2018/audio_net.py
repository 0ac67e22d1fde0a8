"""Zhang et al. 2018 audio network ("Anet"): AlexNet on 3-channel log-Mel segments.

Architecture (paper Sec. III, experiments.md §2.4): torchvision's AlexNet definition
(``torchvision.models.alexnet``: conv 64-192-384-256-256, three max-pools, fc6/fc7 4096) with
fc8 (1000 ImageNet classes) replaced by **one** new C-way layer. Ambiguity 3 ("replace ...
fc8 layer, with two new FC layers, which correspond to the emotion categories") is read as one
new layer per network (two networks, two layers): the paper's own example "for 6 emotions, fc8
should produces 6 outputs" and Eq. 2 (a single softmax weight ``W^A`` on fc7) leave no room for
a second stacked layer.

Differences from the paper's network, by design:

* torchvision's AlexNet is the "one weird trick" variant (no LRN, no grouped convolutions,
  64/192/384/256/256 filters) because its ImageNet weights are the ones a user can point to as
  a local ``alexnet-*.pth``; the paper used MatConvNet's Caffe-reference AlexNet (96-256-384-
  384-256, LRN, groups of 2).
* torchvision places dropout (0.5) *before* fc6 and fc7; Caffe after relu6 and relu7. The
  features (fc7 after its ReLU, taken in eval mode) are the same either way.

Input (:meth:`AudioAlexNet.prepare`): segments ``(B, n_mels, L, 3)`` (static, Δ, ΔΔ, as
:func:`emorepro.features.logmel.utterance_segments` writes them; L = 64 or 15) become an image
``(B, 3, S, S)`` with the Mel bins as rows (bin 0 in row 0, no flip) and the frames as
columns, resized bilinearly (``align_corners=False``, the pixel-centre convention of MATLAB's
``imresize``; no antialiasing) to ``S = input_size`` (227 at paper width), then standardised
per channel. The paper states no normalisation: the per-channel mean and std of the training
fold's raw segments (:meth:`AudioAlexNet.fit_input_stats`) replace ImageNet's mean/std, so each
channel enters with zero mean and unit variance as ImageNet-normalised images roughly do.
Before fitting, the identity (mean 0, std 1) is used.

Widths (same code path): ``paper`` is AlexNet; ``small`` and ``tiny`` have fewer filters, a
smaller fc6/fc7 and a smaller input for CPU runs. The flattened pool5 size follows from the
input size (torchvision's adaptive average pool is set to the natural pool5 map: 6x6 at 227).
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class AlexWidth:
    """Filters of conv1-conv5, units of fc6/fc7 and the default input side."""

    channels: tuple[int, int, int, int, int]
    fc: int
    input_size: int


ALEX_WIDTHS: dict[str, AlexWidth] = {
    "paper": AlexWidth((64, 192, 384, 256, 256), 4096, 227),
    "small": AlexWidth((32, 96, 192, 128, 128), 1024, 96),
    "tiny": AlexWidth((16, 32, 48, 32, 32), 128, 64),
}
"""Network widths; only ``paper`` is AlexNet (and can load ImageNet weights)."""

MIN_INPUT = 63
"""Smallest input side that leaves a 1x1 pool5 map."""

IMAGENET_FC8 = "classifier.6."
"""Key prefix of torchvision's ImageNet classifier (fc8), which is never loaded."""


def pool5_side(input_size: int) -> int:
    """Side of AlexNet's pool5 map: conv1 11/4 pad 2, then 3/2 max-pools after conv1, 2, 5."""
    side = (input_size + 2 * 2 - 11) // 4 + 1
    for _ in range(3):
        side = (side - 3) // 2 + 1
    return side


class AlexTrunk(nn.Module):
    """AlexNet without fc8: ``(B, 3, S, S) -> (B, fc)``, the fc7 activation after its ReLU.

    Attribute names and ``Sequential`` indices are torchvision's, so its state-dict keys are
    torchvision's ``alexnet`` keys minus ``classifier.6.*``.
    """

    def __init__(self, width: AlexWidth, input_size: int, dropout: float = 0.5) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = width.channels
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c4, c5, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        side = pool5_side(input_size)
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.flat_dim = c5 * side * side
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(self.flat_dim, width.fc),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(width.fc, width.fc),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class AudioAlexNet(nn.Module):
    """Log-Mel segments ``(B, n_mels, L, 3)`` -> logits ``(B, n_classes)``; see the module doc.

    ``features(x)`` is fc7 after its ReLU, ``(B, feature_dim)`` (4096 at paper width): the
    "4096-D output of fc7" that Zhang et al. fuse. ``forward`` and ``features`` take raw
    segments and call :meth:`prepare`; pass ``prepared=True`` for ``(B, 3, S, S)`` images.
    """

    def __init__(
        self,
        n_classes: int,
        *,
        width: str = "paper",
        input_size: int | None = None,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if width not in ALEX_WIDTHS:
            raise ConfigError(f"AudioAlexNet width={width!r}; use one of {sorted(ALEX_WIDTHS)}")
        if n_classes < 2:
            raise ConfigError(f"AudioAlexNet: n_classes={n_classes}; need at least 2")
        spec = ALEX_WIDTHS[width]
        size = spec.input_size if input_size is None else int(input_size)
        if size < MIN_INPUT:
            raise ConfigError(f"AudioAlexNet input_size={size}; AlexNet needs >= {MIN_INPUT}")
        self.width, self.input_size, self.n_classes = width, size, int(n_classes)
        self.feature_dim = spec.fc
        self.trunk = he_init_(AlexTrunk(spec, size, dropout))
        self.fc8 = nn.Linear(spec.fc, self.n_classes)
        self.norm = ChannelNorm((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        self.pretrained = False
        self.weights_sha256: str | None = None

    def _segments(self, segments: torch.Tensor | np.ndarray) -> torch.Tensor:
        x = as_float_tensor(segments, device=self.norm.mean.device)
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(
                f"AudioAlexNet: expected log-Mel segments (B, n_mels, L, 3), got {tuple(x.shape)}"
            )
        return x.permute(0, 3, 1, 2)

    def fit_input_stats(self, segments: torch.Tensor | np.ndarray) -> None:
        """Per-channel mean/std of training segments ``(N, n_mels, L, 3)`` (static, Δ, ΔΔ)."""
        self.norm.fit(self._segments(segments))

    def prepare(self, segments: torch.Tensor | np.ndarray) -> torch.Tensor:
        """``(B, n_mels, L, 3)`` -> ``(B, 3, S, S)``: bilinear resize, then standardise."""
        x = self._segments(segments)
        size = (self.input_size, self.input_size)
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return self.norm(x)

    def features(self, x: torch.Tensor | np.ndarray, *, prepared: bool = False) -> torch.Tensor:
        """fc7 after ReLU, ``(B, feature_dim)``."""
        return self.trunk(x if prepared else self.prepare(x))

    def forward(self, x: torch.Tensor | np.ndarray, *, prepared: bool = False) -> torch.Tensor:
        return self.fc8(self.features(x, prepared=prepared))

    def load_imagenet(self, path: Path | str, sha256: str | None = None) -> None:
        """Copy torchvision ImageNet AlexNet weights (all layers but fc8) from a local file.

        Checksum and ``weights_only`` loading as in :mod:`emorepro.models.weights`. Only the
        paper width with a 6x6 pool5 map (input 224-227, fc6 on 9216 inputs) fits the file.
        """
        load_trunk_weights(
            self,
            path,
            sha256,
            source="ImageNet AlexNet",
            fc6_inputs=256 * 6 * 6,
            fix="use input_size=227 (a 6x6 pool5)",
            ignore=IMAGENET_FC8,
        )
