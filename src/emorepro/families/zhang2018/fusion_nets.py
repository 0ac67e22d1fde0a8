"""Fusion networks on concatenated fc7 features: the DBN (Zhang et al. 2018) and FC baselines.

Shapes (Table X): ``sizes`` lists the input and the hidden layers, the C-way softmax layer is
added on top. DBN-1/2/3 and FC-1/2/3 are ``(8192, 4096)``, ``(8192, 4096, 2048)`` and
``(8192, 4096, 2048, 1024)``: each hidden layer halves the one below, which
:func:`fusion_sizes` builds for any input size (narrow profiles).

* :class:`DBN`: sigmoid layers initialised by greedy layer-wise pre-training
  (:meth:`DBN.pretrain`: a Gaussian-Bernoulli RBM on the standardised input, then
  Bernoulli-Bernoulli RBMs, each trained on the hidden probabilities of the one below, as
  Hinton and Salakhutdinov 2006 do), then fine-tuned with back-propagation as an ``nn.Module``.
* :class:`FCFusion`: the same shapes with randomly initialised ReLU layers (PyTorch's default
  ``nn.Linear`` initialisation), the "FC" fusion of [61].

Both standardise their input per dimension with training-set statistics (buffers): the
Gaussian RBM assumes unit-variance visibles, and the FC networks get the same input so the two
differ only in activation and initialisation. Both put dropout before the softmax layer, 0.3 by
default. The paper gives 0.3 for "these fusion networks" of Table X, which lists DBN-1/2/3
next to FC-1/2/3, and DBN-2 of Table X is the DBN of Table VI (same accuracies), so the DBN
gets it too (ambiguity 8). ``hidden(x)`` is the last hidden layer (the 2048-d segment feature
that the paper average-pools per video into a linear SVM), without dropout.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from emorepro.errors import ConfigError
from emorepro.families.zhang2018.inputs import STD_FLOOR
from emorepro.families.zhang2018.rbm import RBM, BernoulliRBM, GaussianBernoulliRBM, RBMConfig

PAPER_INPUT = 8192
"""Concatenated fc7 features of the audio and the visual network (4096 + 4096)."""
FUSION_DROPOUT = 0.3


def fusion_sizes(depth: int, input_dim: int = PAPER_INPUT) -> tuple[int, ...]:
    """``(input_dim, input_dim/2, ..., input_dim/2**depth)``: DBN-``depth`` / FC-``depth``."""
    if depth < 1:
        raise ConfigError(f"fusion depth must be >= 1, got {depth}")
    if input_dim < 2**depth:
        raise ConfigError(f"input_dim={input_dim} is too small for {depth} halvings")
    return tuple(input_dim // 2**i for i in range(depth + 1))


class FusionNet(nn.Module):
    """Standardise -> hidden layers (activation) -> dropout -> C-way linear layer (logits)."""

    def __init__(
        self, sizes: Sequence[int], n_classes: int, *, activation: nn.Module, dropout: float
    ) -> None:
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError(f"{type(self).__name__}: sizes need an input and >= 1 hidden layer")
        if n_classes < 2:
            raise ConfigError(f"{type(self).__name__}: n_classes={n_classes}; need at least 2")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"{type(self).__name__}: dropout={dropout}; use [0, 1)")
        self.sizes, self.n_classes = sizes, int(n_classes)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(sizes))
        self.activation = activation
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(sizes[-1], self.n_classes)
        self.register_buffer("input_mean", torch.zeros(sizes[0]))
        self.register_buffer("input_std", torch.ones(sizes[0]))

    @property
    def feature_dim(self) -> int:
        """Size of :meth:`hidden`."""
        return self.sizes[-1]

    @torch.no_grad()
    def fit_input_stats(self, x: torch.Tensor) -> None:
        """Per-dimension mean and std of training inputs (std < 1e-6 is replaced by 1)."""
        self._check(x)
        x64 = x.to(torch.float64)
        std = x64.std(dim=0, correction=0)
        self.input_mean.copy_(x64.mean(dim=0))
        self.input_std.copy_(torch.where(std < STD_FLOOR, torch.ones_like(std), std))

    def standardise(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` per input dimension."""
        return (x - self.input_mean) / self.input_std

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(
                f"{type(self).__name__}: expected (B, {self.sizes[0]}) inputs, got {tuple(x.shape)}"
            )

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer ``(B, sizes[-1])``."""
        self._check(x)
        h = self.standardise(x)
        for layer in self.layers:
            h = self.activation(layer(h))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.hidden(x)))


class DBN(FusionNet):
    """Deep belief network ``sizes[0]-...-sizes[-1]-n_classes`` (sigmoid hidden layers)."""

    def __init__(
        self, sizes: Sequence[int], n_classes: int, *, dropout: float = FUSION_DROPOUT
    ) -> None:
        super().__init__(sizes, n_classes, activation=nn.Sigmoid(), dropout=dropout)

    def rbm_types(self) -> list[type[RBM]]:
        """Gaussian-Bernoulli for the first layer, Bernoulli-Bernoulli above."""
        return [GaussianBernoulliRBM] + [BernoulliRBM] * (len(self.layers) - 1)

    @torch.no_grad()
    def load_rbms(self, rbms: Sequence[RBM]) -> None:
        """Hidden layer ``i`` takes RBM ``i``'s weights and hidden biases."""
        if len(rbms) != len(self.layers):
            raise ConfigError(f"DBN: {len(self.layers)} layers, got {len(rbms)} RBMs")
        for layer, rbm in zip(self.layers, rbms, strict=True):
            if tuple(rbm.weight.shape) != tuple(layer.weight.shape):
                raise ConfigError(
                    f"DBN: RBM {tuple(rbm.weight.shape)} does not fit {tuple(layer.weight.shape)}"
                )
            layer.weight.copy_(rbm.weight)
            layer.bias.copy_(rbm.hidden_bias)

    @torch.no_grad()
    def pretrain(
        self,
        x: torch.Tensor,
        *,
        config: RBMConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> list[list[float]]:
        """Fit the input statistics, then train one RBM per hidden layer bottom-up on ``x``
        ``(N, sizes[0])`` and copy them in; returns each layer's reconstruction error per
        epoch. RBM ``i + 1`` is trained on ``p(h | v)`` of RBM ``i`` (probabilities). All
        random numbers come from ``generator``, which must live on ``x``'s device."""
        self.fit_input_stats(x)
        data = self.standardise(x.to(self.input_mean.dtype))
        rbms: list[RBM] = []
        histories: list[list[float]] = []
        for layer, rbm_type in zip(self.layers, self.rbm_types(), strict=True):
            rbm = rbm_type(layer.in_features, layer.out_features, generator=generator)
            rbm.to(data.device)
            rbm.init_visible_bias(data)
            histories.append(rbm.fit(data, config=config, generator=generator))
            data = rbm.hidden_probs(data)
            rbms.append(rbm)
        self.load_rbms(rbms)
        return histories


class FCFusion(FusionNet):
    """Fully connected fusion ``sizes[0]-...-sizes[-1]-n_classes`` (ReLU, random init)."""

    def __init__(
        self, sizes: Sequence[int], n_classes: int, *, dropout: float = FUSION_DROPOUT
    ) -> None:
        super().__init__(sizes, n_classes, activation=nn.ReLU(), dropout=dropout)
