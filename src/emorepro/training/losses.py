"""Training objectives: arousal/valence regression (Tzirakis et al., Eq. 3-5) and classification.

``ccc_loss`` is ``1 - rho_c`` per target, averaged over targets (Eq. 5), with

    rho_c = 2 s_xy / (s_x^2 + s_y^2 + (mu_x - mu_y)^2 + eps)

and **population** moments (divide by n), the same variant as ``metrics.ccc(ddof=0)``.
The papers do not say over which set the statistics are taken (experiments.md §1.10 item 2);
the default ``per_sequence=False`` pools every frame of the mini-batch (batch x time), which
matches how the metric is scored (pooled over the partition). ``per_sequence=True`` computes
one rho_c per sequence over its time axis and averages them.

For population moments, d(1 - rho_c)/dx_i = (2/n) [2 s_xy (x_i - mu_y) / psi^2
- (y_i - mu_y) / psi] with psi the denominator: the form printed in 000 (``x - mu_y``), not the
one in 001 (``x - mu_x``). Autograd computes it; tests check both against it.

Classification: :func:`cross_entropy_loss` is ``torch.nn.functional.cross_entropy`` of logits
``(B, C)`` and class indices ``(B,)``, averaged over the batch (no label smoothing, no class
weights). :data:`LOSSES` holds the regression losses, :data:`CLASSIFICATION_LOSSES` the
classification one.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

EPS = 1e-8
"""Added to the CCC denominator so a constant prediction of a constant gold stays finite."""


def _check(pred: torch.Tensor, gold: torch.Tensor, name: str) -> None:
    if pred.shape != gold.shape:
        raise ValueError(
            f"{name}: pred has shape {tuple(pred.shape)} but gold has {tuple(gold.shape)}"
        )
    if pred.ndim < 2:
        raise ValueError(
            f"{name}: expected (..., n_frames, n_targets) tensors, got shape {tuple(pred.shape)}; "
            "add a trailing target axis with .unsqueeze(-1)"
        )
    if pred.numel() == 0:
        raise ValueError(f"{name}: empty input (shape {tuple(pred.shape)})")


def ccc_per_target(
    pred: torch.Tensor, gold: torch.Tensor, *, per_sequence: bool = False, eps: float = EPS
) -> torch.Tensor:
    """rho_c per target (last axis) with population moments.

    ``pred``/``gold``: ``(..., T, K)``. ``per_sequence=False`` -> shape ``(K,)`` over all
    leading axes and time pooled; ``True`` -> shape ``(..., K)``, one value per sequence.
    """
    _check(pred, gold, "ccc")
    if per_sequence:
        dim: tuple[int, ...] = (-2,)
    else:
        dim = tuple(range(pred.ndim - 1))
    mx = pred.mean(dim=dim, keepdim=True)
    my = gold.mean(dim=dim, keepdim=True)
    dx, dy = pred - mx, gold - my
    cov = (dx * dy).mean(dim=dim)
    vx = (dx * dx).mean(dim=dim)
    vy = (dy * dy).mean(dim=dim)
    diff = (mx - my).squeeze(dim)
    return 2.0 * cov / (vx + vy + diff * diff + eps)


def ccc_loss(
    pred: torch.Tensor, gold: torch.Tensor, *, per_sequence: bool = False, eps: float = EPS
) -> torch.Tensor:
    """Scalar ``mean_k (1 - rho_c^k)`` (Eq. 3 and 5 of 000); see :func:`ccc_per_target`."""
    return (1.0 - ccc_per_target(pred, gold, per_sequence=per_sequence, eps=eps)).mean()


def mse_loss(pred: torch.Tensor, gold: torch.Tensor) -> torch.Tensor:
    """Mean squared error over all frames and targets (the MSE rows of Table III)."""
    _check(pred, gold, "mse")
    return F.mse_loss(pred, gold, reduction="mean")


def cross_entropy_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-log softmax(logits)[b, target[b]]``.

    ``logits``: ``(B, C)`` float; ``target``: ``(B,)`` integer class indices in ``[0, C)``
    (checked here, so a bad label is a ``ValueError`` rather than a CUDA device assert).
    """
    if logits.ndim != 2 or target.ndim != 1 or logits.shape[0] != target.shape[0]:
        raise ValueError(
            f"cross_entropy: need logits (batch, classes) and targets (batch,), got "
            f"{tuple(logits.shape)} and {tuple(target.shape)}"
        )
    if logits.numel() == 0:
        raise ValueError(f"cross_entropy: empty input (shape {tuple(logits.shape)})")
    if target.dtype.is_floating_point or target.dtype == torch.bool:
        raise ValueError(
            f"cross_entropy: targets must be integer class indices, got {target.dtype}"
        )
    lo, hi = int(target.min()), int(target.max())
    if lo < 0 or hi >= logits.shape[1]:
        raise ValueError(
            f"cross_entropy: class index {lo if lo < 0 else hi} is outside [0, {logits.shape[1]})"
        )
    return F.cross_entropy(logits, target.long(), reduction="mean")


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: dict[str, LossFn] = {
    "ccc": ccc_loss,
    "mse": mse_loss,
}
"""Regression loss by config name; both take ``(pred, gold)`` shaped ``(..., T, K)`` and return
a scalar."""

CLASSIFICATION_LOSSES: dict[str, LossFn] = {"cross_entropy": cross_entropy_loss}
"""Classification loss by config name: ``(logits (B, C), class indices (B,)) -> scalar``."""
