"""Chapter 3 networks: Augmented Ensemble with context gating and its baselines (thesis 004
Sec. 3.2; experiments.md §4.2). Two modalities, ``a`` (audio) and ``v`` (video).

Every design is built from MLP layers (Linear + ReLU) of ``hidden`` units per layer for each
unimodal branch; an early-fusion branch has ``2 * hidden`` (the sum of the unimodal sizes, as
the thesis says) and takes the concatenated inputs.

* ``audio_only`` / ``video_only``: one unimodal branch and its linear score.
* ``early_fusion``: the early-fusion branch alone.
* ``late_fusion``: both unimodal branches, the score is the mean of their scores (the late
  operator F is not stated).
* ``ensemble``: late + early, the two scores added, no augmented features.
* ``augmented_ensemble`` (Eqs. 3.4-3.8): at layer i, context gating on each unimodal branch,
  s_m = sigma(W2 relu(W1 v_m)) * v_m (SE-style, W1: C/r x C, W2: C x C/r), which is also the
  branch's input to layer i + 1; s_12 = [s_a, s_v]; the gate g = softmax(W_g [s_12, v_e])
  (two options, g_0 + g_1 = 1: Eq. 3.7's g_0, g_1; Att is not specified) mixes
  s_e = g_0 v_e + g_1 s_12, the early branch's input to layer i + 1. Score = late + early.
* ``centralnet`` (Vielzeuf et al. 2018): a central branch c_i = relu(W_c (alpha_c c_{i-1} +
  alpha_a h_a,i + alpha_v h_v,i)) (c_0 = 0, learned scalar alphas, initialised to 1) of
  ``hidden`` units; the loss adds the central and both unimodal losses; the score is the
  central one.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from emorepro.families.aminbeidokhti2020.spec import FUSION_DESIGNS


class ContextGating(nn.Module):
    """SE-style gating s = sigma(W2 relu(W1 x)) * x; returns (s, the gate)."""

    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        if r < 1 or c // r < 1:
            raise ValueError(f"reduction r={r} must be in 1..{c} for {c} channels")
        self.w1 = nn.Linear(c, c // r)
        self.w2 = nn.Linear(c // r, c)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.sigmoid(self.w2(torch.relu(self.w1(x))))
        return g * x, g


def _mlp(d_in: int, width: int, layers: int) -> nn.ModuleList:
    dims = [d_in] + [width] * layers
    return nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(dims))


class FusionNet(nn.Module):
    """One of :data:`~emorepro.families.aminbeidokhti2020.spec.FUSION_DESIGNS` (module doc).

    ``forward(xa, xv)`` returns a dict: ``score`` (B, n_out), ``aux`` (other scores the loss
    adds: CentralNet's unimodal heads), ``gates`` (augmented ensemble, per layer: ``g`` (B, 2),
    ``cg_a``, ``cg_v`` (B, hidden)).
    """

    def __init__(
        self, design: str, d_a: int, d_v: int, *, hidden: int, layers: int, n_out: int, r: int
    ) -> None:
        super().__init__()
        if design not in FUSION_DESIGNS:
            raise ValueError(f"design must be one of {FUSION_DESIGNS}, got {design!r}")
        if layers < 1 or hidden < 1:
            raise ValueError(f"need layers >= 1 and hidden >= 1, got {layers}, {hidden}")
        self.design, self.layers = design, layers
        uses_a = design != "video_only" and design != "early_fusion"
        uses_v = design != "audio_only" and design != "early_fusion"
        uses_e = design in ("early_fusion", "ensemble", "augmented_ensemble")
        self.branch_a = _mlp(d_a, hidden, layers) if uses_a else None
        self.branch_v = _mlp(d_v, hidden, layers) if uses_v else None
        self.head_a = nn.Linear(hidden, n_out) if uses_a else None
        self.head_v = nn.Linear(hidden, n_out) if uses_v else None
        self.branch_e = _mlp(d_a + d_v, 2 * hidden, layers) if uses_e else None
        self.head_e = nn.Linear(2 * hidden, n_out) if uses_e else None
        if design == "augmented_ensemble":
            self.cg_a = nn.ModuleList(ContextGating(hidden, r) for _ in range(layers))
            self.cg_v = nn.ModuleList(ContextGating(hidden, r) for _ in range(layers))
            self.att = nn.ModuleList(nn.Linear(4 * hidden, 2) for _ in range(layers))
        if design == "centralnet":
            self.central = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
            self.alphas = nn.Parameter(torch.ones(layers, 3))
            self.head_c = nn.Linear(hidden, n_out)

    def forward(self, xa: torch.Tensor, xv: torch.Tensor) -> dict[str, object]:
        d = self.design
        out: dict[str, object] = {"aux": [], "gates": []}
        if d == "early_fusion":
            out["score"] = self.head_e(self._run(self.branch_e, torch.cat([xa, xv], 1)))
            return out
        if d in ("audio_only", "video_only"):
            branch, head, x = (
                (self.branch_a, self.head_a, xa)
                if d == "audio_only"
                else (self.branch_v, self.head_v, xv)
            )
            out["score"] = head(self._run(branch, x))
            return out
        ha, hv = xa, xv
        he = torch.cat([xa, xv], 1)
        c = None
        for i in range(self.layers):
            ha = torch.relu(self.branch_a[i](ha))
            hv = torch.relu(self.branch_v[i](hv))
            if d == "centralnet":
                al = self.alphas[i]
                z = al[1] * ha + al[2] * hv + (al[0] * c if c is not None else 0.0)
                c = torch.relu(self.central[i](z))
            if d in ("ensemble", "augmented_ensemble"):
                he = torch.relu(self.branch_e[i](he))
            if d == "augmented_ensemble":
                ha, ga = self.cg_a[i](ha)
                hv, gv = self.cg_v[i](hv)
                s12 = torch.cat([ha, hv], 1)
                g = torch.softmax(self.att[i](torch.cat([s12, he], 1)), dim=1)
                he = g[:, :1] * he + g[:, 1:] * s12
                out["gates"].append({"g": g, "cg_a": ga, "cg_v": gv})
        late = (self.head_a(ha) + self.head_v(hv)) / 2
        if d == "late_fusion":
            out["score"] = late
        elif d == "centralnet":
            out["score"] = self.head_c(c)
            out["aux"] = [self.head_a(ha), self.head_v(hv)]
        else:
            out["score"] = late + self.head_e(he)
        return out

    @staticmethod
    def _run(layers: nn.ModuleList, x: torch.Tensor) -> torch.Tensor:
        for layer in layers:
            x = torch.relu(layer(x))
        return x
