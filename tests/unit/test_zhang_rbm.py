"""Zhang et al. (002) RBMs, DBN and FC fusion networks: energies against brute force, CD-k
against the exact log-likelihood gradient, learning, shapes, fine-tuning, determinism."""

from __future__ import annotations

import itertools

import pytest
import torch

from emorepro.errors import ConfigError
from emorepro.families.zhang2018.fusion_nets import DBN, FCFusion, fusion_sizes
from emorepro.families.zhang2018.rbm import BernoulliRBM, GaussianBernoulliRBM, RBMConfig
from emorepro.training.settings import TrainConfig
from emorepro.training.tasks import ClassificationTask
from emorepro.training.trainer import DictInput, train


@pytest.fixture(autouse=True)
def one_thread():
    """These tensors are tiny: one thread avoids OpenMP spinning on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def binary_states(n: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n)), dtype=torch.float64)


def tiny_bernoulli() -> BernoulliRBM:
    """3 visible, 2 hidden, weights large enough that data and model terms differ."""
    rbm = BernoulliRBM(3, 2, init_std=1.0, generator=gen(0)).double()
    with torch.no_grad():
        rbm.visible_bias.copy_(torch.tensor([0.5, -1.0, 0.2]))
        rbm.hidden_bias.copy_(torch.tensor([-0.3, 0.8]))
    return rbm


def joint_energy(rbm, v: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """E(v, h) for every pair of rows: (n_v, n_h), written out from the definitions."""
    inter = torch.einsum("vi,hj,ji->vh", v, h, rbm.weight)
    hid = (h @ rbm.hidden_bias)[None, :]
    if isinstance(rbm, GaussianBernoulliRBM):
        vis = 0.5 * ((v - rbm.visible_bias) ** 2).sum(1)[:, None]
    else:
        vis = -(v @ rbm.visible_bias)[:, None]
    return vis - hid - inter


DATA = torch.tensor([[1.0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=torch.float64)


# ---------------------------------------------------------------- energies


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_free_energy_and_conditionals_match_brute_force(kind: str) -> None:
    rbm_type = BernoulliRBM if kind == "bernoulli" else GaussianBernoulliRBM
    rbm = rbm_type(3, 4, init_std=0.8, generator=gen(1)).double()
    with torch.no_grad():
        rbm.visible_bias.copy_(torch.tensor([0.3, -0.2, 0.7]))
        rbm.hidden_bias.copy_(torch.tensor([0.1, -0.5, 0.4, 0.0]))
    v = binary_states(3) if kind == "bernoulli" else torch.randn(6, 3, generator=gen(2)).double()
    h = binary_states(4)
    e = joint_energy(rbm, v, h)
    assert torch.allclose(rbm.free_energy(v), -torch.logsumexp(-e, dim=1), atol=1e-10)
    # p(h_j = 1 | v) by enumerating h
    p_h = torch.softmax(-e, dim=1)
    assert torch.allclose(rbm.hidden_probs(v), p_h @ h, atol=1e-10)


def test_visible_conditionals() -> None:
    rbm = tiny_bernoulli()
    h = binary_states(2)
    # p(v | h) by enumerating v for each h
    v = binary_states(3)
    p_v = torch.softmax(-joint_energy(rbm, v, h).T, dim=1)
    assert torch.allclose(rbm.visible_probs(h), p_v @ v, atol=1e-10)
    g = GaussianBernoulliRBM(3, 2, init_std=1.0, generator=gen(3)).double()
    assert torch.allclose(g.visible_mean(h), g.visible_bias + h @ g.weight)
    draws = torch.stack([g.sample_visible(h, gen(s)) for s in range(2000)])
    assert torch.allclose(draws.mean(0), g.visible_mean(h), atol=0.1)
    assert torch.allclose(draws.var(0), torch.ones(4, 3, dtype=torch.float64), atol=0.15)


# ---------------------------------------------------------------- contrastive divergence


def exact_gradient_terms(rbm: BernoulliRBM) -> tuple[torch.Tensor, torch.Tensor]:
    """Data term E_data[p(h|v) vᵀ] and model term E_model[h vᵀ] of d log p / dW (brute force)."""
    v, h = binary_states(3), binary_states(2)
    e = joint_energy(rbm, v, h)
    p_joint = torch.softmax(-e.reshape(-1), dim=0).reshape(e.shape)
    model = torch.einsum("vh,vi,hj->ji", p_joint, v, h)
    e_data = joint_energy(rbm, DATA, h)
    p_h = torch.softmax(-e_data, dim=1) @ h  # E[h | v] for each data row
    return p_h.T @ DATA / len(DATA), model


def test_cd_positive_phase_is_the_exact_data_term() -> None:
    """CD-1's positive statistics use p(h | v_data): they equal the data term of the exact
    log-likelihood gradient, computed here by enumerating the hidden states."""
    rbm = tiny_bernoulli()
    data_term, _ = exact_gradient_terms(rbm)
    stats = rbm.cd_statistics(DATA, k=1, generator=gen(0))
    assert torch.allclose(stats.positive.weight, data_term, atol=1e-12)
    assert torch.allclose(stats.positive.visible_bias, DATA.mean(0))
    # and it is minus the gradient of the mean free energy
    rbm.weight.requires_grad_(True)
    rbm.free_energy(DATA).mean().backward()
    assert torch.allclose(-rbm.weight.grad, data_term, atol=1e-12)


def test_long_gibbs_chains_reach_the_model_expectation() -> None:
    """With sampled visibles and k = 50, the negative phase averaged over 8000 chains matches
    E_model[h vᵀ] from enumerating all 32 joint states (Monte Carlo error ~0.005); CD-1 with
    mean-field reconstructions is visibly biased for these weights."""
    rbm = tiny_bernoulli()
    data_term, model_term = exact_gradient_terms(rbm)
    chains = DATA.repeat(2000, 1)
    long = rbm.cd_statistics(chains, k=50, generator=gen(5), sample_visible=True)
    assert torch.allclose(long.negative.weight, model_term, atol=0.02)
    assert torch.allclose(long.gradient().weight, data_term - model_term, atol=0.02)
    short = rbm.cd_statistics(chains, k=1, generator=gen(5))
    assert (short.negative.weight - model_term).abs().max() > 0.05


def test_cd_step_applies_momentum_and_weight_decay() -> None:
    rbm, twin = tiny_bernoulli(), tiny_bernoulli()
    lr, mom, wd = 0.1, 0.9, 0.01
    g_step, g_ref = gen(7), gen(7)
    w0 = twin.weight.clone()
    s1 = twin.cd_statistics(DATA, generator=g_ref)
    vel = lr * (s1.gradient().weight - wd * w0)
    vel_b = lr * s1.gradient().visible_bias
    err = rbm.cd_step(DATA, lr=lr, momentum=mom, weight_decay=wd, generator=g_step)
    assert torch.allclose(rbm.weight, w0 + vel)
    assert err == pytest.approx(float(rbm.reconstruction_error(DATA, s1.reconstruction).mean()))
    with torch.no_grad():
        twin.weight.add_(vel)
        twin.visible_bias.add_(vel_b)
        twin.hidden_bias.add_(lr * s1.gradient().hidden_bias)
    s2 = twin.cd_statistics(DATA, generator=g_ref)
    vel = mom * vel + lr * (s2.gradient().weight - wd * twin.weight)
    rbm.cd_step(DATA, lr=lr, momentum=mom, weight_decay=wd, generator=g_step)
    assert torch.allclose(rbm.weight, twin.weight + vel)
    vel_b = mom * vel_b + lr * s2.gradient().visible_bias  # biases: momentum, no decay
    assert torch.allclose(rbm.visible_bias, twin.visible_bias + vel_b)


def noisy_bars(n: int, g: torch.Generator) -> torch.Tensor:
    """4x4 images with one horizontal or vertical bar, 5 % of the pixels flipped."""
    kind = torch.randint(0, 8, (n,), generator=g)
    rows = torch.arange(4)
    img = torch.zeros(n, 4, 4)
    horizontal = (kind[:, None, None] < 4) & (rows[None, :, None] == kind[:, None, None])
    vertical = (kind[:, None, None] >= 4) & (rows[None, None, :] == kind[:, None, None] - 4)
    img[horizontal.expand(n, 4, 4) | vertical.expand(n, 4, 4)] = 1.0
    flip = torch.rand(n, 16, generator=g) < 0.05
    x = img.reshape(n, 16)
    return torch.where(flip, 1.0 - x, x)


def test_bernoulli_rbm_learns_bars() -> None:
    g = gen(0)
    x = noisy_bars(300, g)
    assert torch.allclose(x.mean(0), torch.full((16,), 0.25), atol=0.12)
    rbm = BernoulliRBM(16, 8, generator=g)
    rbm.init_visible_bias(x)
    history = rbm.fit(x, config=RBMConfig(epochs=25), generator=g)
    assert len(history) == 25
    assert history[-1] < 0.6 * history[0]
    assert history[-1] < min(history[:3])


def test_gaussian_rbm_on_standardised_data() -> None:
    g = gen(1)
    z = torch.randn(300, 3, generator=g)
    y = z @ torch.randn(3, 10, generator=g) + 0.3 * torch.randn(300, 10, generator=g)
    y = (y - y.mean(0)) / y.std(0)
    rbm = GaussianBernoulliRBM(10, 16, generator=g)
    rbm.init_visible_bias(y)
    assert torch.allclose(rbm.visible_bias, torch.zeros(10), atol=1e-6)
    history = rbm.fit(y, config=RBMConfig(epochs=20, lr_gaussian=0.01), generator=g)
    # before learning the reconstruction is about the mean: error ~ sum of variances = 10
    assert history[0] == pytest.approx(10.0, rel=0.1)
    assert history[-1] < 0.6 * history[0]


def test_rbm_fit_is_deterministic_with_a_seeded_generator() -> None:
    x = noisy_bars(60, gen(3))

    def run(seed: int) -> tuple[torch.Tensor, list[float]]:
        g = gen(seed)
        rbm = BernoulliRBM(16, 5, generator=g)
        hist = rbm.fit(x, config=RBMConfig(epochs=3, batch_size=7), generator=g)
        return rbm.weight.clone(), hist

    w1, h1 = run(11)
    w2, h2 = run(11)
    w3, _ = run(12)
    assert torch.equal(w1, w2) and h1 == h2
    assert not torch.equal(w1, w3)


def test_rbm_config_checks_and_momentum_schedule() -> None:
    cfg = RBMConfig()
    assert (cfg.lr_bernoulli, cfg.lr_gaussian, cfg.k, cfg.batch_size) == (0.1, 0.001, 1, 30)
    assert cfg.momentum(5) == 0.5 and cfg.momentum(6) == 0.9
    with pytest.raises(ConfigError):
        RBMConfig(k=0)
    with pytest.raises(ConfigError):
        RBMConfig(momentum_final=1.0)
    with pytest.raises(ConfigError, match="k >= 1"):
        tiny_bernoulli().cd_statistics(DATA, k=0)


# ---------------------------------------------------------------- DBN and FC fusion


def test_fusion_sizes_are_the_papers() -> None:
    assert fusion_sizes(1) == (8192, 4096)
    assert fusion_sizes(2) == (8192, 4096, 2048)
    assert fusion_sizes(3) == (8192, 4096, 2048, 1024)
    assert fusion_sizes(2, 256) == (256, 128, 64)
    with pytest.raises(ConfigError):
        fusion_sizes(0)


@pytest.mark.parametrize("net_type", [DBN, FCFusion])
def test_fusion_network_shapes(net_type) -> None:
    torch.manual_seed(0)
    net = net_type(fusion_sizes(3, 64), 6).eval()
    assert [tuple(layer.weight.shape) for layer in net.layers] == [(32, 64), (16, 32), (8, 16)]
    assert net.head.weight.shape == (6, 8) and net.feature_dim == 8
    assert net.dropout.p == 0.3
    x = torch.randn(5, 64)
    h, logits = net.hidden(x), net(x)
    assert h.shape == (5, 8) and logits.shape == (5, 6)
    if net_type is DBN:
        assert ((h > 0) & (h < 1)).all()
    else:
        assert (h >= 0).all()
    with pytest.raises(ValueError, match=r"\(B, 64\)"):
        net(torch.randn(5, 63))


def test_dbn_pretrain_stacks_gaussian_then_bernoulli_rbms() -> None:
    g = gen(0)
    x = torch.rand(90, 24, generator=g) * 5.0 + 2.0  # non-negative like fc7 features
    dbn = DBN((24, 12, 6), 3, dropout=0.0)
    assert [t.__name__ for t in dbn.rbm_types()] == ["GaussianBernoulliRBM", "BernoulliRBM"]
    hist = dbn.pretrain(x, config=RBMConfig(epochs=4), generator=g)
    assert [len(h) for h in hist] == [4, 4]
    z = dbn.standardise(x)
    assert torch.allclose(z.mean(0), torch.zeros(24), atol=1e-5)
    assert torch.allclose(z.std(0, correction=0), torch.ones(24), atol=1e-4)
    # the first layer is the Gaussian RBM's p(h | standardised v)
    rbm = GaussianBernoulliRBM(24, 12)
    with torch.no_grad():
        rbm.weight.copy_(dbn.layers[0].weight)
        rbm.hidden_bias.copy_(dbn.layers[0].bias)
    first = torch.sigmoid(dbn.layers[0](z))
    assert torch.allclose(first, rbm.hidden_probs(z))


def test_dbn_pretraining_is_deterministic() -> None:
    x = torch.randn(60, 16, generator=gen(4))

    def run(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)  # the softmax layer's initialisation
        dbn = DBN((16, 8, 4), 2)
        dbn.pretrain(x, config=RBMConfig(epochs=2), generator=gen(seed))
        return dbn.state_dict()

    a, b, c = run(1), run(1), run(2)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["layers.0.weight"], c["layers.0.weight"])


def test_fit_input_stats_keeps_constant_dimensions() -> None:
    x = torch.randn(20, 8, generator=gen(0))
    x[:, 3] = 0.0  # a dead ReLU unit
    net = FCFusion((8, 4), 2)
    net.fit_input_stats(x)
    assert net.input_std[3] == 1.0
    assert torch.isfinite(net.hidden(x)).all()


class Rows(torch.utils.data.Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"item": f"u{i}", "target": int(self.y[i]), "x": self.x[i]}


def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    with torch.no_grad():
        return float((net(x).argmax(1) == y).double().mean())


def test_dbn_fine_tuning_with_the_shared_trainer_improves_accuracy() -> None:
    """Three Gaussian clusters in 20-d: the pre-trained DBN with a random softmax layer is at
    chance; back-propagation through the shared trainer (SGD, momentum 0.9) separates them.
    (The Gaussian RBM's default lr 0.001 hardly moves the weights in 10 epochs of 240 rows;
    0.01 keeps the toy fast.)"""
    g = gen(0)
    centres = 2.0 * torch.randn(3, 20, generator=g)
    y = torch.arange(3).repeat(80)
    x = centres[y] + torch.randn(240, 20, generator=g)
    dbn = DBN((20, 16, 8), 3)
    dbn.pretrain(x, config=RBMConfig(epochs=10, lr_gaussian=0.01), generator=g)
    before = accuracy(dbn, x, y)
    cfg = TrainConfig(
        loss="cross_entropy", optimizer="sgd", lr=0.1, momentum=0.9, batch_size=30, epochs=5
    )
    task = ClassificationTask(("a", "b", "c"), metric="accuracy")
    _, history = train(DictInput(dbn, ("x",)), Rows(x, y), Rows(x, y), cfg, task=task)
    after = accuracy(dbn, x, y)
    assert after >= 0.95 and after > before + 0.3
    assert history["best_dev_accuracy"] >= 0.95
