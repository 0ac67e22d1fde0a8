"""Training of one EmoBed network (003 Sec. 3-4) with unpaired crossmodal mini-batches.

Every step draws a mini-batch of the target modality and, independently, one of the auxiliary
modality ("we randomly chose the audio and video data, rather than the aligned data pair",
Sec. 4.2): each epoch walks a seeded permutation of the target's training samples and cycles
a separate permutation of the auxiliary's. The objective of a step is

    J = L_t + α·L_a + β·L_T   (Eq. 8; λ·L2 is Adam's weight decay, as for every method)

with ``L`` the target loss (:func:`~emorepro.families.han_emobed.losses.regression_loss` on
RECOLA, cross-entropy on OMG) and ``L_T`` the batch-hard crossmodal triplet loss over
``triplet_frames`` seeded random frames of every chunk (regression; "same class" = the same
side of the training median of the target) or over the utterances (classification).
classic: α = β = 0 and no auxiliary branch; joint: β = 0; triplet: α = 0. The network of the
last epoch is kept (the paper names no early stopping; the method's weights are chosen on dev).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from emorepro.families.han_emobed.losses import batch_hard_triplet, high_low, regression_loss
from emorepro.families.han_emobed.nets import EmoBedNet
from emorepro.training.losses import cross_entropy_loss
from emorepro.training.runtime import seed_everything

log = logging.getLogger("emorepro")


@dataclass(frozen=True)
class NetSettings:
    """Architecture and optimisation of one profile (schema: ``families.han_emobed``)."""

    hidden: int
    branch_layers: int
    shared_layers: int
    epochs: int
    lr: float
    weight_decay: float
    batch_size: int
    loss: str = "ccc"
    seq_len: int = 250
    triplet_frames: int = 16
    margin: float | None = None

    @classmethod
    def from_mapping(cls, s: Mapping[str, Any], *, prefix: str = "") -> NetSettings:
        names = cls.__dataclass_fields__
        return cls(**{k: s[prefix + k] for k in names if prefix + k in s})


@dataclass
class TrainSet:
    """Training samples of one modality: ``x`` (n, L, d) float32 standardised, ``y`` (n, L)
    float targets (regression) or (n,) class indices (classification), and the threshold
    that splits a continuous target into high/low for the triplet loss."""

    x: np.ndarray
    y: np.ndarray
    threshold: float | None = None


def _triplet_inputs(
    e: torch.Tensor, y: torch.Tensor, threshold: float | None, k: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """(points, labels) for the triplet loss: utterance embeddings and classes, or ``k``
    random frames of every chunk with their high/low side."""
    if threshold is None:
        return e[:, -1, :], y
    steps = e.shape[1]
    pos = torch.randint(0, steps, (e.shape[0], min(k, steps)), generator=gen).to(e.device)
    pts = torch.gather(e, 1, pos[..., None].expand(-1, -1, e.shape[2])).reshape(-1, e.shape[2])
    lab = high_low(torch.gather(y, 1, pos).reshape(-1), threshold)
    return pts, lab


def train_network(
    data: Mapping[str, TrainSet],
    target: str,
    aux: str | None,
    *,
    alpha: float,
    beta: float,
    settings: NetSettings,
    seed: int,
    classify: bool,
    n_out: int,
    device: torch.device,
) -> tuple[EmoBedNet, list[float]]:
    """Train one network (module docstring); returns it (on ``device``, eval mode, every
    branch kept) and the mean objective of every epoch."""
    seed_everything(seed, device=device)
    uses_aux = aux is not None and (alpha > 0 or beta > 0)
    mods = [target, aux] if uses_aux else [target]
    net = EmoBedNet(
        {m: data[m].x.shape[2] for m in mods},
        hidden=settings.hidden,
        branch_layers=settings.branch_layers,
        shared_layers=settings.shared_layers,
        n_out=n_out,
    ).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    tensors = {
        m: (
            torch.from_numpy(data[m].x).to(device),
            torch.from_numpy(data[m].y).to(device),
        )
        for m in mods
    }

    def loss_of(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if classify:
            return cross_entropy_loss(pred[:, -1, :], y)
        return regression_loss(pred[..., 0], y, settings.loss)

    n_t = len(data[target].x)
    batch = settings.batch_size
    steps = math.ceil(n_t / batch)
    curve = []
    for _ in range(settings.epochs):
        net.train()
        perm_t = torch.randperm(n_t, generator=gen)
        perm_a = None
        if uses_aux:
            n_a = len(data[aux].x)
            reps = math.ceil(steps * batch / n_a)
            perm_a = torch.cat([torch.randperm(n_a, generator=gen) for _ in range(reps)])
        total = 0.0
        for b in range(steps):
            idx = perm_t[b * batch : (b + 1) * batch]
            x_t, y_t = (v[idx.to(device)] for v in tensors[target])
            pred_t, e_t = net(x_t, target)
            loss = loss_of(pred_t, y_t)
            if uses_aux:
                idx_a = perm_a[b * batch : (b + 1) * batch]
                x_a, y_a = (v[idx_a.to(device)] for v in tensors[aux])
                pred_a, e_a = net(x_a, aux)
                if alpha > 0:
                    loss = loss + alpha * loss_of(pred_a, y_a)
                if beta > 0:
                    k = settings.triplet_frames
                    p_t, l_t = _triplet_inputs(e_t, y_t, data[target].threshold, k, gen)
                    p_a, l_a = _triplet_inputs(e_a, y_a, data[aux].threshold, k, gen)
                    loss = loss + beta * batch_hard_triplet(
                        p_t, p_a, l_t, l_a, margin=settings.margin
                    )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        curve.append(total / steps)
    net.eval()
    return net, curve


def sequence_outputs(
    net: EmoBedNet, modality: str, xs: list[np.ndarray], device: torch.device
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(output (T,), embedding (T, E)) of every whole recording, one at a time."""
    outs, embs = [], []
    with torch.no_grad():
        for x in xs:
            pred, e = net(torch.from_numpy(x)[None].to(device), modality)
            outs.append(pred[0, :, 0].cpu().numpy())
            embs.append(e[0].cpu().numpy())
    return outs, embs


def utterance_outputs(
    net: EmoBedNet, modality: str, x: np.ndarray, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """(logits (n, C), embeddings (n, E)) of utterance vectors ``x`` (n, d)."""
    with torch.no_grad():
        pred, e = net(torch.from_numpy(x)[:, None, :].to(device), modality)
    return pred[:, -1, :].cpu().numpy(), e[:, -1, :].cpu().numpy()


class Timer:
    """Wall seconds since creation (progress lines)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.start:.1f} s"
