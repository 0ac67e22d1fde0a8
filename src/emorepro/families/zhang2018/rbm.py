"""Restricted Boltzmann machines for the DBN fusion network (Zhang et al. 2018, Sec. III-B).

Energies (weights ``W`` of shape ``(n_hidden, n_visible)``, visible bias ``b``, hidden bias
``c``; hidden units are binary in both machines):

* :class:`BernoulliRBM` (binary visibles): ``E(v, h) = -b·v - c·h - h·W v``, so
  ``F(v) = -b·v - Σ_j softplus(c_j + W_j·v)``, ``p(h_j=1|v) = σ(c_j + W_j·v)`` and
  ``p(v_i=1|h) = σ(b_i + (Wᵀh)_i)``.
* :class:`GaussianBernoulliRBM` (real visibles of unit variance): ``E(v, h) = ½‖v - b‖² - c·h
  - h·W v``, so ``F(v) = ½‖v - b‖² - Σ_j softplus(c_j + W_j·v)`` and ``v | h ~ N(b + Wᵀh, I)``.
  The data must be standardised per dimension first (the DBN does it).

Training is contrastive divergence CD-k (:meth:`cd_step`): the positive statistics use
``p(h|v_data)``; the chain samples binary hidden states and, by default, uses the visible
*means* (probabilities) as reconstructions ("noise-free reconstructions", Hinton 2010, "A
Practical Guide to Training RBMs", §3.2); ``sample_visible=True`` samples them (a true Gibbs
chain). The update is momentum SGD with L2 weight decay on ``W`` only::

    Δθ ← momentum·Δθ + lr·(⟨·⟩_data - ⟨·⟩_recon - weight_decay·θ[W only]);  θ ← θ + Δθ

**Hyper-parameters (the paper states none; :class:`RBMConfig`).** Those of Hinton and
Salakhutdinov's DBN code (Science 2006): lr 0.1 for binary-visible RBMs, momentum 0.5 for the
first 5 epochs then 0.9, weight cost 2e-4, CD-1; lr 0.001 for the Gaussian-visible RBM (the
Guide, §13.2: one to two orders of magnitude smaller than for binary units); initial weights
N(0, 0.01²), hidden biases 0, visible biases log(p/(1-p)) of the data (Bernoulli) or the data
mean (Gaussian) (Guide §8); mini-batch 30 (the paper's batch size); 50 epochs per layer (as
in the 2006 paper). The reconstruction error (:meth:`reconstruction_error`) is Eq. 5 with the sign
corrected (cross-entropy, summed over visible units) for binary visibles and the squared error
summed over visible units for Gaussian ones, each averaged over the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from emorepro.errors import ConfigError

PROB_EPS = 1e-7
"""Probabilities are clipped to [eps, 1 - eps] inside logarithms."""


@dataclass(frozen=True)
class RBMConfig:
    """Greedy pre-training settings of one RBM layer; see the module docstring for the sources."""

    epochs: int = 50
    batch_size: int = 30
    lr_bernoulli: float = 0.1
    lr_gaussian: float = 0.001
    k: int = 1
    momentum_initial: float = 0.5
    momentum_final: float = 0.9
    momentum_switch_epoch: int = 5
    weight_decay: float = 2e-4
    sample_visible: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.k < 1:
            raise ConfigError(f"RBMConfig: epochs, batch_size and k must be >= 1, got {self}")
        if self.lr_bernoulli <= 0 or self.lr_gaussian <= 0 or self.weight_decay < 0:
            raise ConfigError(f"RBMConfig: learning rates must be > 0, weight decay >= 0: {self}")
        if not (0 <= self.momentum_initial < 1 and 0 <= self.momentum_final < 1):
            raise ConfigError(f"RBMConfig: momenta must lie in [0, 1): {self}")

    def momentum(self, epoch: int) -> float:
        """Momentum of 1-based ``epoch``: initial up to the switch epoch, final after it."""
        return self.momentum_initial if epoch <= self.momentum_switch_epoch else self.momentum_final


class Phase(NamedTuple):
    """Batch-averaged sufficient statistics ``⟨h vᵀ⟩``, ``⟨v⟩``, ``⟨h⟩`` of one CD phase."""

    weight: torch.Tensor
    visible_bias: torch.Tensor
    hidden_bias: torch.Tensor


class CDStatistics(NamedTuple):
    """Both phases of a CD-k estimate and the first-step reconstruction ``E[v | h0]``.

    ``positive`` is the exact data term (hidden probabilities given the data); ``negative``
    the k-step chain's term; :meth:`gradient` their difference, the CD-k gradient estimate.
    """

    positive: Phase
    negative: Phase
    reconstruction: torch.Tensor

    def gradient(self) -> Phase:
        """``positive - negative`` for each parameter."""
        return Phase(*(p - n for p, n in zip(self.positive, self.negative, strict=True)))


class RBM(nn.Module):
    """Shared machinery; use :class:`BernoulliRBM` or :class:`GaussianBernoulliRBM`."""

    kind: ClassVar[str] = ""

    def __init__(
        self,
        n_visible: int,
        n_hidden: int,
        *,
        init_std: float = 0.01,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if n_visible < 1 or n_hidden < 1:
            raise ConfigError(
                f"{type(self).__name__}: sizes must be >= 1, got {n_visible}, {n_hidden}"
            )
        device = generator.device if generator is not None else None
        w = torch.randn(n_hidden, n_visible, generator=generator, device=device) * init_std
        self.weight = nn.Parameter(w, requires_grad=False)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible, device=device), requires_grad=False)
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden, device=device), requires_grad=False)
        self._velocity: dict[str, torch.Tensor] = {}

    @property
    def n_visible(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_hidden(self) -> int:
        return int(self.weight.shape[0])

    def hidden_input(self, v: torch.Tensor) -> torch.Tensor:
        """``c + W v`` for each row of ``v``."""
        return F.linear(v, self.weight, self.hidden_bias)

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        """``p(h_j = 1 | v) = σ(c_j + W_j·v)``."""
        return torch.sigmoid(self.hidden_input(v))

    def visible_input(self, h: torch.Tensor) -> torch.Tensor:
        """``b + Wᵀ h`` for each row of ``h``."""
        return h @ self.weight + self.visible_bias

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``E[v | h]``: ``σ(b + Wᵀh)`` (Bernoulli) or ``b + Wᵀh`` (Gaussian)."""
        raise NotImplementedError

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """One draw of ``v | h``."""
        raise NotImplementedError

    def visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        """The visible-only part of the energy: ``-b·v`` or ``½‖v - b‖²``."""
        raise NotImplementedError

    def reconstruction_error(self, v: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        """Per-row reconstruction error summed over visible units (see the module doc)."""
        raise NotImplementedError

    def init_visible_bias(self, data: torch.Tensor) -> None:
        """Visible biases from training data (see the module docstring)."""
        raise NotImplementedError

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = -log Σ_h exp(-E(v, h))`` per row."""
        return self.visible_energy(v) - F.softplus(self.hidden_input(v)).sum(dim=-1)

    def sample_hidden(self, v: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Binary draw of ``h | v``."""
        return torch.bernoulli(self.hidden_probs(v), generator=generator)

    @torch.no_grad()
    def cd_statistics(
        self,
        v: torch.Tensor,
        *,
        k: int = 1,
        generator: torch.Generator | None = None,
        sample_visible: bool = False,
    ) -> CDStatistics:
        """CD-k estimate of the log-likelihood gradient, averaged over the rows of ``v``.

        Data term ``⟨v p(h|v)⟩`` (exact for the batch); reconstruction term from a k-step
        chain started at the data: ``h ~ p(h|v)``, ``v' = E[v|h]`` (or a draw), ``p(h|v')``.
        ``reconstruction`` is the mean ``E[v|h]`` after the first step.
        """
        if k < 1:
            raise ConfigError(f"CD-k needs k >= 1, got {k}")
        n = v.shape[0]
        ph0 = self.hidden_probs(v)
        h = torch.bernoulli(ph0, generator=generator)
        first: torch.Tensor | None = None
        for step in range(k):
            mean = self.visible_mean(h)
            first = mean if first is None else first
            vk = self.sample_visible(h, generator) if sample_visible else mean
            phk = self.hidden_probs(vk)
            if step < k - 1:
                h = torch.bernoulli(phk, generator=generator)
        assert first is not None
        return CDStatistics(
            positive=Phase(ph0.T @ v / n, v.mean(dim=0), ph0.mean(dim=0)),
            negative=Phase(phk.T @ vk / n, vk.mean(dim=0), phk.mean(dim=0)),
            reconstruction=first,
        )

    @torch.no_grad()
    def cd_step(
        self,
        v: torch.Tensor,
        *,
        lr: float,
        k: int = 1,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        generator: torch.Generator | None = None,
        sample_visible: bool = False,
    ) -> float:
        """One CD-k update on the batch ``v``; returns its mean reconstruction error."""
        stats = self.cd_statistics(v, k=k, generator=generator, sample_visible=sample_visible)
        grad = stats.gradient()
        grads = {
            "weight": grad.weight - weight_decay * self.weight,
            "visible_bias": grad.visible_bias,
            "hidden_bias": grad.hidden_bias,
        }
        for name, grad in grads.items():
            param = getattr(self, name)
            vel = self._velocity.get(name)
            vel = lr * grad if vel is None else momentum * vel + lr * grad
            self._velocity[name] = vel
            param.add_(vel)
        return float(self.reconstruction_error(v, stats.reconstruction).mean())

    def reset_momentum(self) -> None:
        """Forget the accumulated update (velocity)."""
        self._velocity.clear()

    @torch.no_grad()
    def fit(
        self,
        data: torch.Tensor,
        *,
        config: RBMConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> list[float]:
        """Greedy pre-training on ``data`` ``(N, n_visible)``; mean reconstruction error per
        epoch. Mini-batches of a fresh permutation each epoch (drawn from ``generator``);
        learning rate ``lr_gaussian`` or ``lr_bernoulli`` by visible type."""
        cfg = config or RBMConfig()
        if data.ndim != 2 or data.shape[1] != self.n_visible or data.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}.fit: need (N, {self.n_visible}) data")
        lr = cfg.lr_gaussian if self.kind == "gaussian" else cfg.lr_bernoulli
        self.reset_momentum()
        history = []
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(data.shape[0], generator=generator, device=_device(generator))
            errors = []
            for start in range(0, data.shape[0], cfg.batch_size):
                batch = data[order[start : start + cfg.batch_size].to(data.device)]
                err = self.cd_step(
                    batch,
                    lr=lr,
                    k=cfg.k,
                    momentum=cfg.momentum(epoch),
                    weight_decay=cfg.weight_decay,
                    generator=generator,
                    sample_visible=cfg.sample_visible,
                )
                errors.append(err * batch.shape[0])
            history.append(sum(errors) / data.shape[0])
        return history


def _device(generator: torch.Generator | None) -> torch.device | None:
    return None if generator is None else generator.device


class BernoulliRBM(RBM):
    """Binary visible and hidden units (the DBN's upper layers)."""

    kind: ClassVar[str] = "bernoulli"

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.visible_input(h))

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return torch.bernoulli(self.visible_mean(h), generator=generator)

    def visible_probs(self, h: torch.Tensor) -> torch.Tensor:
        """``p(v_i = 1 | h)`` (= :meth:`visible_mean`)."""
        return self.visible_mean(h)

    def visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -(v @ self.visible_bias)

    def reconstruction_error(self, v: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        p = recon.clamp(PROB_EPS, 1 - PROB_EPS)
        return -(v * torch.log(p) + (1 - v) * torch.log1p(-p)).sum(dim=-1)

    @torch.no_grad()
    def init_visible_bias(self, data: torch.Tensor) -> None:
        p = data.mean(dim=0).clamp(PROB_EPS, 1 - PROB_EPS)
        self.visible_bias.copy_(torch.log(p) - torch.log1p(-p))


class GaussianBernoulliRBM(RBM):
    """Unit-variance Gaussian visible units, binary hidden units (the DBN's first layer)."""

    kind: ClassVar[str] = "gaussian"

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        return self.visible_input(h)

    def sample_visible(self, h: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        mean = self.visible_mean(h)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + noise

    def visible_energy(self, v: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((v - self.visible_bias) ** 2).sum(dim=-1)

    def reconstruction_error(self, v: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        return ((v - recon) ** 2).sum(dim=-1)

    @torch.no_grad()
    def init_visible_bias(self, data: torch.Tensor) -> None:
        self.visible_bias.copy_(data.mean(dim=0))
