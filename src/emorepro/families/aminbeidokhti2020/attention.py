"""Chapter 2 networks and losses (thesis 004 Sec. 2.2; experiments.md §4.1).

* **Trunk**: VGG-16's convolutional layers up to conv5_3 and its ReLU (pool5 removed), so a
  H x W face gives the conv5_3 map of (H/16) x (W/16) = L cells of D channels: the local
  descriptors R (L x D). ``width="vgg16"`` is the real VGG-16 (D = 512; VGG-Face weights load
  into it); ``narrow<k>`` divides every width by k and adds batch normalisation, for the CPU
  profiles, which train the trunk from random weights.
* **Spatial self-attention** (Lin et al. 2017): A = softmax_L(W_s2 tanh(W_s1 R^T)), W_s1: U x D,
  W_s2: N x U, so A is N x L (one distribution over the cells per head); the frame vector is
  the flattened A R (N D values). Penalty P = ||A A^T - I||_F^2 (Lin et al.'s squared
  Frobenius norm; the thesis says "L^2 norm of matrix (A A^T - I)"), weighted by "Reg.".
* **SHIFT** (attention clusters with shifting, Long et al. 2018): N independent units, unit k:
  a_k = softmax_L(w_k^T tanh(W_k R^T)), v_k = a_k R, shifted and normalised
  (alpha_k v_k + beta_k) / (sqrt(N) ||alpha_k v_k + beta_k||_2); the frame vector is the
  concatenation. No penalty.
* **mean**: the plain VGG16 + TP row: the frame vector is R averaged over the L cells.
* **Temporal softmax pooling** (Eqs. 2.4-2.6): class scores per frame O (F x C); p(c, f | S) =
  exp(o_cf) / sum_jk exp(o_jk); p(c | S) = sum_f p(c, f | S); loss -log p(y | S); frame
  importance p(f | S) = sum_c p(c, f | S).
* **AVG** (Eq. 2.7): frame-independent loss sum_f -log softmax(o_f)[y]; the clip score is the
  mean of the frame scores before the softmax.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

#: VGG-16 configuration "D": channel counts, "M" = 2x2 max-pool; pool5 is not built
VGG16_CFG: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
)  # fmt: skip
STRIDE = 16


def parse_width(width: str) -> int:
    """``vgg16`` -> 1, ``narrow<k>`` -> k (every VGG width divided by k)."""
    if width == "vgg16":
        return 1
    if width.startswith("narrow") and width[6:].isdigit() and int(width[6:]) >= 1:
        return int(width[6:])
    raise ValueError(f"trunk width must be 'vgg16' or 'narrow<k>' (e.g. narrow8), got {width!r}")


class Trunk(nn.Module):
    """VGG-16 conv1_1 ... conv5_3 + ReLU (module docstring); ``features`` keeps torchvision's
    layer indices for ``vgg16`` so a torchvision/VGG-Face state dict loads by key."""

    def __init__(self, width: str = "vgg16") -> None:
        super().__init__()
        k = parse_width(width)
        bn = k > 1
        layers: list[nn.Module] = []
        c_in = 3
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            c_out = max(4, int(v) // k)
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
            if bn:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.ReLU(inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.channels = c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, L, D) local descriptors, cells in row-major order."""
        fmap = self.features(x)
        return fmap.flatten(2).transpose(1, 2)


class SelfAttention(nn.Module):
    """Multi-head structured self-attention over the cells (module docstring)."""

    def __init__(self, d: int, hidden: int, heads: int) -> None:
        super().__init__()
        self.w_s1 = nn.Linear(d, hidden, bias=False)
        self.w_s2 = nn.Linear(hidden, heads, bias=False)
        self.heads = heads
        self.out_dim = heads * d

    def forward(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """R (B, L, D) -> (frame vectors (B, N D), A (B, N, L))."""
        a = torch.softmax(self.w_s2(torch.tanh(self.w_s1(r))), dim=1).transpose(1, 2)
        return (a @ r).flatten(1), a


class ShiftAttention(nn.Module):
    """Attention clusters with the shifting operation (module docstring)."""

    def __init__(self, d: int, hidden: int, units: int) -> None:
        super().__init__()
        self.w1 = nn.Parameter(torch.empty(units, d, hidden))
        self.w2 = nn.Parameter(torch.empty(units, hidden))
        nn.init.xavier_uniform_(self.w1)
        nn.init.normal_(self.w2, std=1.0 / math.sqrt(hidden))
        self.alpha = nn.Parameter(torch.ones(units))
        self.beta = nn.Parameter(torch.zeros(units))
        self.units = units
        self.out_dim = units * d

    def forward(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = torch.tanh(torch.einsum("bld,udh->bulh", r, self.w1))
        a = torch.softmax(torch.einsum("bulh,uh->bul", h, self.w2), dim=2)  # (B, N, L)
        v = a @ r  # (B, N, D)
        v = self.alpha[None, :, None] * v + self.beta[None, :, None]
        v = v / (math.sqrt(self.units) * v.norm(dim=2, keepdim=True).clamp_min(1e-12))
        return v.flatten(1), a


class MeanPool(nn.Module):
    """The cells' mean: uniform attention with one head."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.out_dim = d

    def forward(self, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = torch.full(r.shape[:2], 1.0 / r.shape[1], device=r.device)[:, None, :]
        return r.mean(dim=1), a


def attention_penalty(a: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||A A^T - I||_F^2 for A (B, N, L)."""
    eye = torch.eye(a.shape[1], device=a.device, dtype=a.dtype)
    return ((a @ a.transpose(1, 2) - eye) ** 2).sum(dim=(1, 2)).mean()


def temporal_softmax_pooling(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores O (B, F, C) -> (log p(c | S) (B, C), log p(c, f | S) (B, F, C))."""
    b, f, c = scores.shape
    log_joint = torch.log_softmax(scores.reshape(b, f * c), dim=1).reshape(b, f, c)
    return torch.logsumexp(log_joint, dim=1), log_joint


def frame_importance(scores: torch.Tensor) -> torch.Tensor:
    """p(f | S) = sum_c p(c, f | S) for O (B, F, C) -> (B, F)."""
    return temporal_softmax_pooling(scores)[1].exp().sum(dim=2)


def clip_loss(scores: torch.Tensor, y: torch.Tensor, pooling: str) -> torch.Tensor:
    """Mean over clips of -log p(y | S) (``tp``) or of the frame-wise loss
    sum_f -log softmax(o_f)[y] (``avg``)."""
    if pooling == "tp":
        return F.nll_loss(temporal_softmax_pooling(scores)[0], y)
    b, f, c = scores.shape
    frame = F.cross_entropy(scores.reshape(b * f, c), y.repeat_interleave(f), reduction="none")
    return frame.reshape(b, f).sum(dim=1).mean()


def clip_scores(scores: torch.Tensor, pooling: str) -> torch.Tensor:
    """Class scores of clips (B, C): log p(c | S) (``tp``) or the mean frame score (``avg``)."""
    if pooling == "tp":
        return temporal_softmax_pooling(scores)[0]
    return scores.mean(dim=1)


class ClipNet(nn.Module):
    """Trunk -> spatial block -> frame classifier W_sm; forward gives per-frame scores."""

    def __init__(
        self, *, width: str, spatial: str, heads: int, hidden: int, n_classes: int
    ) -> None:
        super().__init__()
        self.trunk = Trunk(width)
        d = self.trunk.channels
        if spatial == "sa":
            self.spatial: nn.Module = SelfAttention(d, hidden, heads)
        elif spatial == "shift":
            self.spatial = ShiftAttention(d, hidden, heads)
        elif spatial == "mean":
            self.spatial = MeanPool(d)
        else:
            raise ValueError(f"spatial must be sa, shift or mean, got {spatial!r}")
        self.classifier = nn.Linear(self.spatial.out_dim, n_classes)

    def new_layers(self) -> list[nn.Parameter]:
        """Parameters outside the trunk (the thesis' "new layers", lr 0.1)."""
        return [*self.spatial.parameters(), *self.classifier.parameters()]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (B, F, 3, H, W) -> (scores (B, F, C), attention (B, F, N, L))."""
        b, f = x.shape[:2]
        r = self.trunk(x.flatten(0, 1))
        v, a = self.spatial(r)
        return self.classifier(v).reshape(b, f, -1), a.reshape(b, f, *a.shape[1:])
