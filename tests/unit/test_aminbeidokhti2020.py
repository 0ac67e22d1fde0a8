"""Aminbeidokhti 2020: attention penalty, temporal softmax pooling, GAP@20, context gating,
the fusion designs, the YouTube-8M shard protocol and the grammar, against independent
references (hand formulas, brute-force loops)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import torch

from emorepro import metrics as M
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families import get_family
from emorepro.families.aminbeidokhti2020 import afew
from emorepro.families.aminbeidokhti2020.attention import (
    ClipNet,
    SelfAttention,
    ShiftAttention,
    attention_penalty,
    clip_loss,
    clip_scores,
    frame_importance,
    parse_width,
    temporal_softmax_pooling,
)
from emorepro.families.aminbeidokhti2020.fusion import ContextGating, FusionNet
from emorepro.families.aminbeidokhti2020.fusion_runs import frame_table, train_net
from emorepro.families.aminbeidokhti2020.spec import FUSION_DESIGNS
from emorepro.protocols import shard_holdout

FAMILY = get_family("aminbeidokhti2020")


# --- Ch. 2: penalty and pooling ---------------------------------------------------------------


def _penalty_loop(a: np.ndarray) -> float:
    """||A A^T - I||_F^2 by explicit sums, averaged over the batch."""
    out = []
    for m in a:
        n, length = m.shape
        total = 0.0
        for i in range(n):
            for j in range(n):
                dot = sum(m[i, k] * m[j, k] for k in range(length))
                total += (dot - (1.0 if i == j else 0.0)) ** 2
        out.append(total)
    return float(np.mean(out))


def test_attention_penalty_matches_a_loop_and_its_extremes() -> None:
    rng = np.random.default_rng(0)
    raw = rng.random((3, 4, 9))
    a = raw / raw.sum(axis=2, keepdims=True)
    got = float(attention_penalty(torch.tensor(a)))
    assert got == pytest.approx(_penalty_loop(a), rel=1e-10)
    # one-hot heads on distinct cells: A A^T = I, no penalty
    onehot = np.zeros((1, 3, 9))
    onehot[0, [0, 1, 2], [2, 5, 7]] = 1.0
    assert float(attention_penalty(torch.tensor(onehot))) == pytest.approx(0.0, abs=1e-12)
    # N identical uniform heads over L cells: off-diagonal 1/L, diagonal 1/L
    n, length = 2, 4
    uniform = np.full((1, n, length), 1.0 / length)
    want = n * (1 / length - 1) ** 2 + (n * n - n) * (1 / length) ** 2
    assert float(attention_penalty(torch.tensor(uniform))) == pytest.approx(want)


def test_temporal_softmax_pooling_against_the_formula() -> None:
    rng = np.random.default_rng(1)
    o = rng.normal(size=(2, 5, 7))
    log_pc, log_joint = temporal_softmax_pooling(torch.tensor(o))
    for b in range(2):
        z = sum(math.exp(o[b, f, c]) for f in range(5) for c in range(7))
        for c in range(7):
            p_c = sum(math.exp(o[b, f, c]) for f in range(5)) / z
            assert math.exp(float(log_pc[b, c])) == pytest.approx(p_c, rel=1e-10)
        assert math.exp(float(log_joint[b, 2, 3])) == pytest.approx(math.exp(o[b, 2, 3]) / z)
    imp = frame_importance(torch.tensor(o)).numpy()
    np.testing.assert_allclose(imp.sum(axis=1), 1.0, rtol=1e-12)
    y = torch.tensor([3, 0])
    want = -np.mean([float(log_pc[b, int(y[b])]) for b in range(2)])
    assert float(clip_loss(torch.tensor(o), y, "tp")) == pytest.approx(want)


def test_avg_is_the_frame_wise_loss_and_mean_score() -> None:
    rng = np.random.default_rng(2)
    o = rng.normal(size=(2, 4, 3))
    y = [1, 2]
    want = np.mean(
        [
            sum(-(o[b, f, y[b]] - math.log(np.exp(o[b, f]).sum())) for f in range(4))
            for b in range(2)
        ]
    )
    assert float(clip_loss(torch.tensor(o), torch.tensor(y), "avg")) == pytest.approx(want)
    np.testing.assert_allclose(clip_scores(torch.tensor(o), "avg").numpy(), o.mean(axis=1))


def test_tp_one_frame_equals_softmax_cross_entropy() -> None:
    o = torch.tensor([[[0.3, -1.0, 2.0]]], dtype=torch.float64)
    y = torch.tensor([2])
    want = torch.nn.functional.cross_entropy(o[:, 0], y)
    assert float(clip_loss(o, y, "tp")) == pytest.approx(float(want))
    assert float(clip_loss(o, y, "avg")) == pytest.approx(float(want))


def test_self_attention_is_a_distribution_per_head_and_weights_the_cells() -> None:
    torch.manual_seed(0)
    sa = SelfAttention(d=6, hidden=5, heads=3).double()
    r = torch.randn(2, 9, 6, dtype=torch.float64)
    v, a = sa(r)
    assert a.shape == (2, 3, 9) and v.shape == (2, 18)
    np.testing.assert_allclose(a.sum(dim=2).detach().numpy(), 1.0)
    want = np.einsum("bnl,bld->bnd", a.detach().numpy(), r.numpy()).reshape(2, -1)
    np.testing.assert_allclose(v.detach().numpy(), want, rtol=1e-12)
    # the formula: softmax over cells of W_s2 tanh(W_s1 R^T)
    logits = sa.w_s2.weight.detach().numpy() @ np.tanh(
        sa.w_s1.weight.detach().numpy() @ r[0].numpy().T
    )
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(a[0].detach().numpy(), e / e.sum(axis=1, keepdims=True))


def test_shift_units_are_normalised_to_one_over_sqrt_n() -> None:
    torch.manual_seed(0)
    shift = ShiftAttention(d=8, hidden=4, units=2)
    v, a = shift(torch.randn(3, 16, 8))
    norms = v.reshape(3, 2, 8).norm(dim=2)
    np.testing.assert_allclose(norms.detach().numpy(), 1 / math.sqrt(2), rtol=1e-5)
    np.testing.assert_allclose(a.sum(dim=2).detach().numpy(), 1.0, rtol=1e-6)


def test_clipnet_shapes_and_widths() -> None:
    net = ClipNet(width="narrow16", spatial="sa", heads=2, hidden=8, n_classes=7)
    scores, a = net(torch.randn(2, 3, 3, 64, 64))
    assert scores.shape == (2, 3, 7)
    assert a.shape == (2, 3, 2, 16)  # 64 / 16 = 4 x 4 cells
    assert parse_width("vgg16") == 1 and parse_width("narrow8") == 8
    with pytest.raises(ValueError, match="narrow"):
        parse_width("wide")


def test_vgg16_trunk_keeps_torchvision_keys() -> None:
    from torchvision.models import vgg16

    net = ClipNet(width="vgg16", spatial="mean", heads=1, hidden=4, n_classes=7)
    ours = {k: v.shape for k, v in net.trunk.state_dict().items()}
    theirs = {k: v.shape for k, v in vgg16(weights=None).state_dict().items() if "features" in k}
    assert ours == theirs


def test_regions_and_masks_are_consistent() -> None:
    masks = afew.cell_masks(14, afew.crop_regions())
    assert not (masks["mouth_brow"] & masks["background"]).any()
    assert 0 < masks["mouth_brow"].mean() < 0.4 and 0 < masks["background"].mean() < 0.8
    evals = [{"attention": np.full((2, 1, 14 * 14), 1 / 196)}]
    mass = afew.attention_mass(evals)
    assert mass["attention.mouth_brow_mass"] == pytest.approx(mass["attention.mouth_brow_area"])


# --- GAP@20 ----------------------------------------------------------------------------------


def _gap_brute(labels: list[list[int]], scores: np.ndarray, k: int) -> float:
    """Brute force: list every (score, hit) of every video's top k, sort, sum precisions at
    hits, divide by all positives."""
    pairs = []
    for lab, row in zip(labels, scores, strict=True):
        ranked = sorted(range(len(row)), key=lambda c: (-row[c], c))[:k]
        pairs += [(row[c], c in lab) for c in ranked]
    pairs.sort(key=lambda p: -p[0])
    hits = 0
    total = 0.0
    for i, (_, hit) in enumerate(pairs, start=1):
        if hit:
            hits += 1
            total += hits / i
    positives = sum(len(set(lab)) for lab in labels)
    return total / positives if positives else 0.0


@pytest.mark.parametrize("k", [1, 3, 20])
def test_gap_matches_brute_force(k: int) -> None:
    rng = np.random.default_rng(k)
    scores = rng.random((30, 25))
    labels = [
        sorted(rng.choice(25, size=rng.integers(0, 4), replace=False).tolist()) for _ in range(30)
    ]
    classes, top = M.top_k(scores, k=k)
    assert M.gap(labels, classes, top) == pytest.approx(_gap_brute(labels, scores, k), rel=1e-12)


def test_gap_by_hand() -> None:
    # two videos, k = 2; pooled order 0.9 (hit), 0.8 (miss), 0.7 (hit), 0.1 (miss); 3 positives
    labels = [[0], [2, 3]]
    scores = np.array([[0.9, 0.1, 0.0, 0.0], [0.0, 0.8, 0.7, 0.05]])
    classes, top = M.top_k(scores, k=2)
    assert M.gap(labels, classes, top) == pytest.approx((1 / 1 + 2 / 3) / 3)
    perfect = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0.9]])
    assert M.gap(labels, *M.top_k(perfect, k=2)) == pytest.approx(1.0)
    assert M.gap([[]], *M.top_k(np.array([[0.5, 0.2]]), k=1)) == 0.0
    with pytest.raises(ValueError, match="NaN"):
        M.top_k(np.array([[np.nan, 1.0]]))


# --- Ch. 3: context gating and the designs -------------------------------------------------------


def test_context_gating_shapes_formula_and_gradients() -> None:
    torch.manual_seed(0)
    cg = ContextGating(16, 4)
    x = torch.randn(5, 16, requires_grad=True)
    s, g = cg(x)
    assert cg.w1.weight.shape == (4, 16) and cg.w2.weight.shape == (16, 4)
    want = torch.sigmoid(cg.w2(torch.relu(cg.w1(x)))) * x
    torch.testing.assert_close(s, want)
    assert ((g > 0) & (g < 1)).all()
    s.sum().backward()
    assert (
        x.grad is not None and cg.w1.weight.grad is not None and cg.w2.weight.grad.abs().sum() > 0
    )
    with pytest.raises(ValueError, match="reduction"):
        ContextGating(4, 8)


@pytest.mark.parametrize("design", FUSION_DESIGNS)
def test_every_design_gives_scores_and_trains_all_its_parameters(design: str) -> None:
    torch.manual_seed(0)
    net = FusionNet(design, 6, 10, hidden=8, layers=2, n_out=3, r=4)
    xa, xv = torch.randn(7, 6), torch.randn(7, 10)
    out = net(xa, xv)
    assert out["score"].shape == (7, 3)
    loss = out["score"].pow(2).sum() + sum(a.pow(2).sum() for a in out["aux"])
    loss.backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None]
    assert not dead, dead
    if design == "augmented_ensemble":
        assert len(out["gates"]) == 2
        for layer in out["gates"]:
            torch.testing.assert_close(layer["g"].sum(dim=1), torch.ones(7))
            assert layer["cg_a"].shape == (7, 8) and layer["cg_v"].shape == (7, 8)
    if design == "centralnet":
        assert len(out["aux"]) == 2
    if design == "early_fusion":
        assert net.branch_e[0].weight.shape == (16, 16)  # hidden = sum of the unimodal sizes


def test_single_modality_designs_ignore_the_other_input() -> None:
    torch.manual_seed(0)
    net = FusionNet("audio_only", 4, 5, hidden=8, layers=1, n_out=2, r=2)
    xa = torch.randn(3, 4)
    a = net(xa, torch.randn(3, 5))["score"]
    b = net(xa, torch.randn(3, 5))["score"]
    torch.testing.assert_close(a, b)


def test_fusion_training_is_seeded() -> None:
    rng = np.random.default_rng(0)
    xa, xv = rng.normal(size=(64, 4)), rng.normal(size=(64, 6))
    y = (xa[:, :1] + xv[:, :1]).astype(np.float32)
    s = {"optimizer": "sgd", "lr": 0.05, "lr_decay": 1.0, "decay_steps": 1000,
         "batch_size": 16, "epochs": 3}  # fmt: skip
    curves, outs = [], []
    for _ in range(2):
        torch.manual_seed(1)
        net = FusionNet("augmented_ensemble", 4, 6, hidden=8, layers=2, n_out=1, r=2)
        curves.append(
            train_net(
                net, xa, xv, y, s, torch.nn.MSELoss(), seed=5, device=torch.device("cpu"), label="t"
            )
        )
        outs.append(
            net(torch.tensor(xa, dtype=torch.float32), torch.tensor(xv, dtype=torch.float32))[
                "score"
            ]
        )
    assert curves[0] == curves[1]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    assert curves[0][-1] < curves[0][0]


def test_diverging_training_names_the_fix() -> None:
    xa, xv = np.ones((8, 2)), np.ones((8, 2))
    y = np.full((8, 1), 1e30, np.float32)
    s = {"optimizer": "sgd", "lr": 10.0, "lr_decay": 1.0, "decay_steps": 10,
         "batch_size": 8, "epochs": 2}  # fmt: skip
    net = FusionNet("early_fusion", 2, 2, hidden=2, layers=1, n_out=1, r=1)
    with pytest.raises(ConfigError, match="lower"):
        train_net(
            net, xa, xv, y, s, torch.nn.MSELoss(), seed=0, device=torch.device("cpu"), label="x"
        )


def test_frame_table_joins_on_frames_and_names_bad_files(tmp_path) -> None:
    a = pd.DataFrame({"item_id": ["r1"] * 3, "time_s": [0.0, 0.04, 0.08], "f": [1.0, 2, 3],
                      "arousal": [0.1, 0.2, 0.3], "valence": [0.0, 0, 0]})  # fmt: skip
    v = pd.DataFrame({"item_id": ["r1"] * 2, "time_s": [0.04, 0.08], "g": [5.0, 6],
                      "arousal": [0.2, 0.3], "valence": [0.0, 0]})  # fmt: skip
    pa, pv = tmp_path / "audio.parquet", tmp_path / "video.parquet"
    a.to_parquet(pa)
    v.to_parquet(pv)
    table = frame_table([pa, pv])
    assert table["frame"].tolist() == [1, 2]
    assert table["audio:f"].tolist() == [2.0, 3.0] and table["video:g"].tolist() == [5.0, 6.0]
    a.loc[1, "f"] = np.nan
    a.to_parquet(pa)
    with pytest.raises(CorruptInputError, match=r"audio\.parquet"):
        frame_table([pa, pv])


# --- protocol and grammar ----------------------------------------------------------------------


def _yt8m_index(n_val_shards: int) -> pd.DataFrame:
    rows = [("t", f"train{i:04d}.tfrecord", "train") for i in range(2)]
    rows += [("v", f"validate{i:04d}.tfrecord", "dev") for i in range(n_val_shards)]
    out = []
    for (_kind, shard, part), j in itertools.product(rows, range(3)):
        vid = f"{shard[:-9]}_{j}"
        out.append({"item_id": vid, "subject": vid, "partition": part, "feature_path": shard})
    return pd.DataFrame(out)


@pytest.mark.parametrize("n", [1, 2, 10, 100])
def test_shard_protocol_shares(n: int) -> None:
    index = _yt8m_index(n)
    sheet = shard_holdout(index, seed=3)
    shard = dict(zip(index["item_id"], index["feature_path"], strict=True))
    held = {shard[i] for i in sheet.loc[sheet["role"] == "dev", "item_id"]}
    used = {
        shard[i] for i in sheet.loc[sheet["role"] == "train", "item_id"] if "validate" in shard[i]
    }
    assert held and not held & used
    n_train = min(round(3000 / 3844 * n), n - 1)
    assert len(used) == n_train
    assert len(held) == max(1, round(200 / 844 * (n - n_train)))
    assert sheet.equals(shard_holdout(index, seed=3))
    if n >= 10:
        assert not sheet.equals(shard_holdout(index, seed=4))


def test_grammar_forms_and_errors() -> None:
    exp = FAMILY.parse("vgg16_tp_sa_h4_r0.1")
    assert (exp.spec.heads, exp.spec.reg, exp.task) == (4, 0.1, "classification")
    assert "attention" in exp.figure_kinds
    assert FAMILY.parse("vgg16_avg").spec.pooling == "avg"
    assert FAMILY.parse("centralnet").task == "regression"
    ml = FAMILY.parse("augmented_ensemble_multilabel")
    assert ml.task == "analysis" and ml.figure_kinds == ("gates",)
    for bad, msg in (
        ("vgg16_tp_sa_h2", "penalty"),
        ("vgg16_tp_shift_h2_r1", "SHIFT"),
        ("vgg16_avg_sa_h2_r1", "temporal softmax"),
        ("vgg16_tp_sa_h0_r1", "heads"),
        ("mid_fusion", "unknown"),
    ):
        with pytest.raises(ConfigError, match=msg):
            FAMILY.parse(bad)
