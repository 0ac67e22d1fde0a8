"""Losses of Han et al.'s EmoBed (003 Sec. 3, Eqs. 3-8).

* :func:`batch_hard_triplet` — the crossmodal triplet loss (Eq. 6): the embeddings of a batch
  of the target modality and a batch of the auxiliary modality are concatenated into one
  double-size batch; pairwise Euclidean distances ``D``; for every anchor ``i`` the hardest
  positive (the **farthest** embedding with the same label, ``j != i``) and the hardest
  negative (the **nearest** with another label), over intra- and inter-modal pairs alike.
  As printed (``margin=None``): ``L_T = mean_i (D(e_i, e_i+) - D(e_i, e_i-))`` — no margin, no
  hinge; the declared option ``margin=m`` gives ``mean_i max(0, D+ - D- + m)``. Anchors with
  no positive or no negative in the batch are left out. The paper writes a sum; the mean over
  anchors is our choice (the batch size then does not scale β).
* :func:`high_low` — the "same class" of a continuous label: high/low split at a threshold
  (the training median of the target, chosen and recorded by the run).
* :func:`regression_loss` — ``1 - CCC`` over the frames of a batch (``ccc``) or MSE (``mse``):
  the paper never names its "discriminative loss" (experiments.md §3.7 item 1).
"""

from __future__ import annotations

import torch

from emorepro.training.losses import ccc_loss


def pairwise_distances(e: torch.Tensor) -> torch.Tensor:
    """Euclidean distances ``D[i, j] = ||e_i - e_j||_2`` of the rows of ``e`` (n, d); the
    square root is taken of a clamped square so that the gradient stays finite at 0."""
    sq = (e * e).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * e @ e.T
    return torch.sqrt(d2.clamp_min(1e-12))


def batch_hard_triplet(
    e_target: torch.Tensor,
    e_aux: torch.Tensor,
    y_target: torch.Tensor,
    y_aux: torch.Tensor,
    *,
    margin: float | None = None,
) -> torch.Tensor:
    """Crossmodal batch-hard triplet loss (module docstring). ``e_*``: (n, d) embeddings,
    ``y_*``: (n,) integer labels. Returns a scalar (0 when no anchor has both a positive and
    a negative)."""
    e = torch.cat([e_target, e_aux], dim=0)
    y = torch.cat([y_target, y_aux], dim=0)
    if e.ndim != 2 or y.shape != (e.shape[0],):
        raise ValueError(
            f"batch_hard_triplet: embeddings {tuple(e.shape)}, labels {tuple(y.shape)}"
        )
    d = pairwise_distances(e)
    same = y[:, None] == y[None, :]
    eye = torch.eye(len(y), dtype=torch.bool, device=e.device)
    pos_mask, neg_mask = same & ~eye, ~same
    valid = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    if not bool(valid.any()):
        return e.sum() * 0.0
    hardest_pos = torch.where(pos_mask, d, torch.full_like(d, -torch.inf)).max(dim=1).values
    hardest_neg = torch.where(neg_mask, d, torch.full_like(d, torch.inf)).min(dim=1).values
    gap = (hardest_pos - hardest_neg)[valid]
    if margin is not None:
        gap = torch.relu(gap + float(margin))
    return gap.mean()


def high_low(y: torch.Tensor, threshold: float) -> torch.Tensor:
    """1 where ``y > threshold`` (high), else 0 (low)."""
    return (y > threshold).long()


def regression_loss(pred: torch.Tensor, gold: torch.Tensor, kind: str) -> torch.Tensor:
    """``ccc``: 1 - CCC over all frames of the batch; ``mse``: mean squared error."""
    if kind == "ccc":
        return ccc_loss(pred.reshape(1, -1, 1), gold.reshape(1, -1, 1))
    if kind == "mse":
        return torch.mean((pred - gold) ** 2)
    raise ValueError(f"regression loss must be 'ccc' or 'mse', got {kind!r}")
