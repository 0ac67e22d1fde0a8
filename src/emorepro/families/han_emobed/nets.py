"""The EmoBed network (003 Sec. 3, Fig. 2(d)): modality-specific GRU subnetworks ``f_A`` and
``f_V`` map each modality into a common E-dimensional space, a shared GRU subnetwork ``f`` and
a linear output layer predict the target from either modality's embedding.

RECOLA: 2 GRU layers per subnetwork, 120 units (E = 120), one regression output per frame.
OMG-Emotion: 1 layer per subnetwork, an utterance is a length-1 sequence, 7 logits. The
embedding is the last layer of the modality-specific subnetwork (not stated: §3.7 item 10).
After training the auxiliary branch is discarded (:meth:`EmoBedNet.monomodal`), inference
uses only the target modality.
"""

from __future__ import annotations

import torch
from torch import nn


class Branch(nn.Module):
    """A modality-specific subnetwork: a stacked GRU, (B, T, d_in) -> (B, T, hidden)."""

    def __init__(self, n_in: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, num_layers=layers, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


class Shared(nn.Module):
    """The shared prediction subnetwork ``f``: stacked GRU + linear output per time step."""

    def __init__(self, hidden: int, layers: int, n_out: int) -> None:
        super().__init__()
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, n_out)

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.out(self.gru(e)[0])


class EmoBedNet(nn.Module):
    """``branches[m]`` for each training modality and one :class:`Shared` head.

    ``forward(x, modality)`` -> ``(prediction (B, T, n_out), embedding (B, T, hidden))``.
    """

    def __init__(
        self,
        n_in: dict[str, int],
        *,
        hidden: int,
        branch_layers: int,
        shared_layers: int,
        n_out: int,
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleDict(
            {m: Branch(d, hidden, branch_layers) for m, d in n_in.items()}
        )
        self.shared = Shared(hidden, shared_layers, n_out)

    def forward(self, x: torch.Tensor, modality: str) -> tuple[torch.Tensor, torch.Tensor]:
        e = self.branches[modality](x)
        return self.shared(e), e

    def monomodal(self, modality: str) -> EmoBedNet:
        """This network with every branch but ``modality`` removed (the inference system);
        the remaining parameters are shared, not copied."""
        if modality not in self.branches:
            raise KeyError(f"no branch {modality!r}; this network has {sorted(self.branches)}")
        for m in [m for m in self.branches if m != modality]:
            del self.branches[m]
        return self
