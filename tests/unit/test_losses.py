"""CCC and MSE losses against metrics.ccc, the written-out gradient and finite differences;
cross-entropy against torch and a written-out log-softmax."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emorepro import metrics as M
from emorepro.training.losses import (
    CLASSIFICATION_LOSSES,
    LOSSES,
    ccc_loss,
    ccc_per_target,
    cross_entropy_loss,
    mse_loss,
)


def _data(shape: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    gold = torch.randn(shape, generator=g, dtype=torch.float64)
    pred = 0.6 * gold + 0.5 * torch.randn(shape, generator=g, dtype=torch.float64) + 0.3
    return pred, gold


@pytest.mark.parametrize("shape", [(50, 1), (7, 30, 2), (2, 3, 20, 3)])
def test_batch_loss_is_one_minus_pooled_ccc(shape: tuple[int, ...]) -> None:
    pred, gold = _data(shape)
    k = shape[-1]
    ref = np.mean(
        [
            1.0 - M.ccc(gold[..., j].reshape(-1).numpy(), pred[..., j].reshape(-1).numpy())
            for j in range(k)
        ]
    )
    assert ccc_loss(pred, gold, eps=0.0).item() == pytest.approx(ref, abs=1e-12)
    assert ccc_loss(pred, gold).item() == pytest.approx(ref, abs=1e-7)  # default eps


def test_per_sequence_loss_is_mean_of_sequence_cccs() -> None:
    pred, gold = _data((5, 40, 2), seed=1)
    ref = np.mean(
        [
            1.0 - M.ccc(gold[b, :, j].numpy(), pred[b, :, j].numpy())
            for b in range(5)
            for j in range(2)
        ]
    )
    got = ccc_loss(pred, gold, per_sequence=True, eps=0.0).item()
    assert got == pytest.approx(ref, abs=1e-12)
    # pooling matters: the batch-pooled value is a different number on this data
    assert abs(got - ccc_loss(pred, gold, eps=0.0).item()) > 1e-4
    assert ccc_per_target(pred, gold, per_sequence=True).shape == (5, 2)


def _grad_formula(x: np.ndarray, y: np.ndarray, *, mu_of: str) -> np.ndarray:
    """d(1 - rho_c)/dx, population moments: (2/n)[2 s_xy (x - mu) / psi^2 - (y - mu_y) / psi].

    ``mu_of="y"`` is Eq. (4) as printed in 000 (x - mu_y); ``"x"`` is 001's (x - mu_x).
    """
    n = x.size
    mx, my = x.mean(), y.mean()
    sxy = np.mean((x - mx) * (y - my))
    psi = x.var() + y.var() + (mx - my) ** 2
    mu = my if mu_of == "y" else mx
    return (2.0 / n) * (2.0 * sxy * (x - mu) / psi**2 - (y - my) / psi)


def test_gradient_matches_eq4_of_000_and_not_001() -> None:
    pred, gold = _data((4, 25, 2), seed=2)
    p = pred.clone().requires_grad_(True)
    ccc_loss(p, gold, eps=0.0).backward()
    grad = p.grad.numpy()
    for j in range(2):
        x, y = pred[..., j].reshape(-1).numpy(), gold[..., j].reshape(-1).numpy()
        want = _grad_formula(x, y, mu_of="y") / 2  # Eq. 5 averages the 2 targets
        np.testing.assert_allclose(grad[..., j].reshape(-1), want, rtol=1e-10, atol=1e-14)
        wrong = _grad_formula(x, y, mu_of="x") / 2
        assert np.max(np.abs(grad[..., j].reshape(-1) - wrong)) > 1e-4


@pytest.mark.parametrize("per_sequence", [False, True])
def test_gradcheck_finite_differences(per_sequence: bool) -> None:
    pred, gold = _data((3, 8, 2), seed=3)
    p = pred.clone().requires_grad_(True)
    g = gold.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: ccc_loss(a, b, per_sequence=per_sequence), (p, g), eps=1e-6, atol=1e-7
    )
    assert torch.autograd.gradcheck(lambda a, b: mse_loss(a, b), (p, g), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("per_sequence", [False, True])
def test_perfect_prediction_gives_zero(per_sequence: bool) -> None:
    _, gold = _data((3, 20, 2), seed=4)
    assert ccc_loss(gold, gold, eps=0.0, per_sequence=per_sequence).item() == pytest.approx(
        0.0, abs=1e-15
    )
    assert ccc_loss(gold, gold, per_sequence=per_sequence).item() == pytest.approx(0.0, abs=1e-7)
    assert mse_loss(gold, gold).item() == 0.0


@pytest.mark.parametrize(
    ("pred_value", "gold_kind", "want"),
    [
        (0.0, "random", 1.0),  # constant prediction: cov = 0 -> rho_c = 0
        (0.5, "constant", 1.0),  # both constant, different means: rho_c = 0
        (0.5, "same", 1.0),  # both constant and equal: 0 / eps = 0, loss 1 (metrics.ccc says 1)
    ],
)
def test_constant_prediction_is_finite(pred_value: float, gold_kind: str, want: float) -> None:
    _, gold = _data((2, 10, 2), seed=5)
    if gold_kind == "constant":
        gold = torch.full_like(gold, -0.25)
    elif gold_kind == "same":
        gold = torch.full_like(gold, pred_value)
    p = torch.full_like(gold, pred_value).requires_grad_(True)
    value = ccc_loss(p, gold)
    value.backward()
    assert value.item() == pytest.approx(want, abs=1e-9)
    assert torch.isfinite(p.grad).all()


def test_mse_matches_numpy_and_losses_registry() -> None:
    pred, gold = _data((4, 9, 2), seed=6)
    assert mse_loss(pred, gold).item() == pytest.approx(
        float(np.mean((pred.numpy() - gold.numpy()) ** 2)), rel=1e-12
    )
    assert set(LOSSES) == {"ccc", "mse"}
    assert LOSSES["ccc"](pred, gold).item() == ccc_loss(pred, gold).item()


@pytest.mark.parametrize(
    ("pred", "gold", "match"),
    [
        (torch.zeros(5, 2), torch.zeros(5, 3), "shape"),
        (torch.zeros(5), torch.zeros(5), "target axis"),
        (torch.zeros(0, 2), torch.zeros(0, 2), "empty"),
    ],
)
@pytest.mark.parametrize("fn", [ccc_loss, mse_loss])
def test_bad_shapes_raise(fn, pred: torch.Tensor, gold: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(pred, gold)


# --------------------------------------------------------------------------- cross-entropy


def test_cross_entropy_is_mean_negative_log_softmax() -> None:
    g = torch.Generator().manual_seed(7)
    logits = 3.0 * torch.randn(6, 4, generator=g, dtype=torch.float64)
    target = torch.tensor([0, 3, 1, 1, 2, 3])
    got = cross_entropy_loss(logits, target)
    torch.testing.assert_close(got, torch.nn.functional.cross_entropy(logits, target), rtol=0,
                               atol=0)  # fmt: skip
    z = logits.numpy()
    log_softmax = z - z.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    manual = -np.mean([log_softmax[b, int(target[b])] for b in range(6)])
    assert got.item() == pytest.approx(manual, rel=1e-12)
    p = logits.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: cross_entropy_loss(x, target), (p,), eps=1e-6)
    assert set(CLASSIFICATION_LOSSES) == {"cross_entropy"}
    assert CLASSIFICATION_LOSSES["cross_entropy"] is cross_entropy_loss


@pytest.mark.parametrize(
    ("logits", "target", "match"),
    [
        (torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.long), "batch"),
        (torch.zeros(3, 2), torch.zeros(2, dtype=torch.long), "batch"),
        (torch.zeros(0, 2), torch.zeros(0, dtype=torch.long), "empty"),
        (torch.zeros(3, 2), torch.zeros(3), "integer class indices"),
        (torch.zeros(3, 2), torch.tensor([0, 2, 1]), "outside"),
        (torch.zeros(3, 2), torch.tensor([0, -1, 1]), "outside"),
    ],
)
def test_cross_entropy_bad_input_raises(logits, target, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        cross_entropy_loss(logits, target)
