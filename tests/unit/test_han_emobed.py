"""Han et al. EmoBed (003): the triplet loss, the F1(UAP, UAR) metric, the label back-shift,
monomodal inference, the experiment grammar and the training loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from emorepro import metrics as M
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families import get_family
from emorepro.families.han_emobed import data as D
from emorepro.families.han_emobed.losses import batch_hard_triplet, high_low, regression_loss
from emorepro.families.han_emobed.nets import EmoBedNet
from emorepro.families.han_emobed.train import NetSettings, TrainSet, train_network


def _brute_force_triplet(e_t, e_a, y_t, y_a, margin=None) -> float:
    """For every anchor of [e_t; e_a]: farthest same-label point, nearest other-label point."""
    e = np.concatenate([e_t, e_a])
    y = np.concatenate([y_t, y_a])
    terms = []
    for i in range(len(e)):
        pos = [np.linalg.norm(e[i] - e[j]) for j in range(len(e)) if j != i and y[j] == y[i]]
        neg = [np.linalg.norm(e[i] - e[j]) for j in range(len(e)) if y[j] != y[i]]
        if not pos or not neg:
            continue
        gap = max(pos) - min(neg)
        terms.append(gap if margin is None else max(0.0, gap + margin))
    return float(np.mean(terms)) if terms else 0.0


@pytest.mark.parametrize("margin", [None, 0.5])
def test_triplet_loss_matches_a_brute_force_loop(margin) -> None:
    rng = np.random.default_rng(3)
    e_t, e_a = rng.normal(size=(5, 4)), rng.normal(size=(6, 4)) + 0.3
    y_t, y_a = rng.integers(0, 2, 5), rng.integers(0, 2, 6)
    got = batch_hard_triplet(
        torch.tensor(e_t), torch.tensor(e_a), torch.tensor(y_t), torch.tensor(y_a), margin=margin
    )
    assert float(got) == pytest.approx(_brute_force_triplet(e_t, e_a, y_t, y_a, margin), abs=1e-9)


def test_triplet_loss_uses_inter_modal_pairs() -> None:
    # one point per modality and label: an anchor's only positive is in the other modality
    e_t = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    e_a = torch.tensor([[0.0, 3.0], [10.0, 4.0]])
    y = torch.tensor([0, 1])
    got = float(batch_hard_triplet(e_t, e_a, y, y))
    assert got == pytest.approx(_brute_force_triplet(e_t.numpy(), e_a.numpy(), y, y), abs=1e-6)
    # anchor (0,0): positive (0,3) at 3, nearest negative (10,0) at 10 -> -7
    assert got < 0  # as printed: no hinge, the loss can be negative


def test_triplet_loss_without_negatives_is_zero_and_has_a_gradient() -> None:
    e = torch.randn(3, 2, requires_grad=True)
    loss = batch_hard_triplet(
        e, e.detach() + 1, torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long)
    )
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert e.grad is not None


def test_f1_uap_uar_against_a_hand_computation() -> None:
    labels = ["a", "b", "c"]
    y_true = ["a", "a", "a", "b", "b", "c"]
    y_pred = ["a", "a", "b", "b", "c", "a"]
    # recall: a 2/3, b 1/2, c 0 -> UAR 7/18; precision: a 2/3, b 1/2, c 0 -> UAP 7/18
    uar, uap = 7 / 18, 7 / 18
    assert M.uar(y_true, y_pred, labels=labels) == pytest.approx(uar)
    assert M.uap(y_true, y_pred, labels=labels) == pytest.approx(uap)
    assert M.f1_uap_uar(y_true, y_pred, labels=labels) == pytest.approx(2 * uap * uar / (uap + uar))
    # a case where UAP != UAR, and the harmonic mean differs from macro-F1
    y_pred2 = ["a", "a", "a", "a", "b", "c"]
    p = (3 / 4 + 1 / 1 + 1 / 1) / 3
    r = (1 + 1 / 2 + 1) / 3
    assert M.f1_uap_uar(y_true, y_pred2, labels=labels) == pytest.approx(2 * p * r / (p + r))
    assert M.macro_f1(y_true, y_pred2, labels=labels) != pytest.approx(2 * p * r / (p + r))


def test_f1_uap_uar_all_wrong_is_zero() -> None:
    assert M.f1_uap_uar(["a", "b"], ["b", "a"], labels=["a", "b"]) == 0.0


def test_label_back_shift_pairs_features_with_later_labels() -> None:
    assert D.shift_frames(2.4) == 60
    assert D.shift_frames(0.0) == 0
    with pytest.raises(ConfigError):
        D.shift_frames(-1)
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.stack([np.arange(10) * 10, -np.arange(10)], axis=1).astype(np.float32)
    rec = D.Recordings(["r"], [np.arange(10) * 0.04], [x], [y], ["f"])
    ((xs, ys),) = D.shifted_pairs(rec, 0, 3)
    assert xs[:, 0].tolist() == list(range(7))  # x[0:T-S]
    assert ys.tolist() == [30, 40, 50, 60, 70, 80, 90]  # y[S:T]
    with pytest.raises(CorruptInputError, match="label shift"):
        D.shifted_pairs(rec, 0, 10)
    # inference: the label at k takes the output at k - S, the first S hold out[0]
    out = np.arange(10.0)
    assert D.align_predictions(out, 3).tolist() == [0, 0, 0, 0, 1, 2, 3, 4, 5, 6]
    assert D.align_predictions(out, 0).tolist() == out.tolist()


def test_chunks_cover_every_frame() -> None:
    assert D.chunk_starts(10, 4) == [0, 4, 6]
    assert D.chunk_starts(8, 4) == [0, 4]
    pairs = [(np.zeros((10, 2), np.float32), np.arange(10.0)), (np.zeros((7, 2)), np.arange(7.0))]
    x, y = D.chunks(pairs, 8)
    assert x.shape == (3, 7, 2)  # the shortest pair caps L at 7: chunks at 0, 3 and 0
    covered = set(itertools.chain.from_iterable(row.tolist() for row in y[:2]))
    assert covered == set(range(10))


def test_monomodal_inference_drops_the_auxiliary_branch() -> None:
    torch.manual_seed(0)
    net = EmoBedNet({"audio": 5, "app": 7}, hidden=8, branch_layers=2, shared_layers=1, n_out=1)
    x = torch.randn(2, 11, 5)
    before = net(x, "audio")[0]
    n_params = sum(p.numel() for p in net.parameters())
    mono = net.monomodal("audio")
    assert list(mono.branches) == ["audio"]
    assert sum(p.numel() for p in mono.parameters()) < n_params
    assert torch.equal(mono(x, "audio")[0], before)  # the same function of the target input
    with pytest.raises(KeyError):
        mono(torch.randn(2, 11, 7), "app")
    with pytest.raises(KeyError, match="no branch"):
        mono.monomodal("geo")


def test_high_low_and_regression_losses() -> None:
    assert high_low(torch.tensor([0.1, 0.5, 0.9]), 0.5).tolist() == [0, 0, 1]
    pred, gold = torch.tensor([[0.0, 1.0, 2.0]]), torch.tensor([[0.0, 1.0, 2.0]])
    assert float(regression_loss(pred, gold, "ccc")) == pytest.approx(0.0, abs=1e-6)
    assert float(regression_loss(pred + 1, gold, "mse")) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        regression_loss(pred, gold, "l1")


def _toy_sets(seed: int = 0) -> dict[str, TrainSet]:
    rng = np.random.default_rng(seed)
    y = rng.uniform(-1, 1, size=(12, 20)).astype(np.float32)
    xa = (y[..., None] + 0.1 * rng.normal(size=(12, 20, 3))).astype(np.float32)
    xv = rng.normal(size=(12, 20, 4)).astype(np.float32)
    thr = float(np.median(y))
    return {"audio": TrainSet(xa, y, thr), "app": TrainSet(xv, y, thr)}


SMALL = NetSettings(
    hidden=8,
    branch_layers=1,
    shared_layers=1,
    epochs=3,
    lr=0.01,
    weight_decay=1e-4,
    batch_size=4,
    triplet_frames=5,
)


@pytest.mark.parametrize("alpha,beta", [(0.0, 0.0), (0.5, 0.0), (0.0, 1.0), (0.5, 1.0)])
def test_training_is_seeded_and_uses_the_auxiliary_branch_only_when_weighted(alpha, beta) -> None:
    sets = _toy_sets()
    kw = dict(
        alpha=alpha,
        beta=beta,
        settings=SMALL,
        seed=7,
        classify=False,
        n_out=1,
        device=torch.device("cpu"),
    )
    net1, curve1 = train_network(sets, "audio", "app", **kw)
    net2, curve2 = train_network(sets, "audio", "app", **kw)
    assert curve1 == curve2 and len(curve1) == SMALL.epochs
    for p1, p2 in zip(net1.parameters(), net2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    assert ("app" in net1.branches) == (alpha > 0 or beta > 0)


def test_classification_training_runs_on_utterance_vectors() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 7, 30)
    sets = {
        "audio": TrainSet(rng.normal(size=(30, 1, 5)).astype(np.float32), y),
        "video": TrainSet(rng.normal(size=(30, 1, 6)).astype(np.float32), y),
    }
    net, curve = train_network(
        sets,
        "audio",
        "video",
        alpha=0.5,
        beta=0.3,
        settings=SMALL,
        seed=1,
        classify=True,
        n_out=7,
        device=torch.device("cpu"),
    )
    assert len(curve) == SMALL.epochs and all(np.isfinite(curve))
    assert net(torch.zeros(2, 1, 5), "audio")[0].shape == (2, 1, 7)


def test_grammar_accepts_the_card_names_and_explains_bad_ones() -> None:
    fam = get_family("han_emobed")
    e = fam.parse("emobed_audio_app")
    assert e.task == "regression" and e.spec.aux == "app" and "tsne" in e.figure_kinds
    assert e.spec.sibling("joint") == "joint_audio_app"
    assert e.spec.classic_of("app") == "classic_app"
    c = fam.parse("triplet_video_audio_7class")
    assert c.task == "classification" and "sweep" in c.figure_kinds
    assert c.spec.classic_of("audio") == "classic_audio_7class"
    for bad, match in (
        ("classic_audio_app", "no auxiliary"),
        ("joint_audio", "need one"),
        ("joint_app_geo", "audio"),
        ("joint_audio_video", "no regression"),
        ("joint_audio_app_7class", "no classification"),
        ("fancy_audio", "unknown"),
    ):
        with pytest.raises(ConfigError, match=match):
            fam.parse(bad)


def test_emobed_inputs_name_the_runs_it_reads() -> None:
    from emorepro.layout import Layout

    fam = get_family("han_emobed")
    inputs = fam.inputs(fam.parse("emobed_geo_audio"), "recola_avec2016", "avec2016", Layout())
    assert "joint_geo_audio" in inputs["joint"] and "triplet_geo_audio" in inputs["triplet"]
    assert "classic_geo/" in inputs["classic_target"] and "classic_audio/" in inputs["classic_aux"]
    assert inputs["geo"].endswith("video_geometric_windowed.parquet")
    omg = fam.inputs(fam.parse("classic_video_7class"), "omg_emotion", "official", Layout())
    assert omg["faces"].endswith("faces_tzirakis.parquet")


def test_face_pixel_stand_in_shape_and_values() -> None:
    crops = np.zeros((3, 96, 96, 3), np.uint8)
    crops[1] = 255
    v = D.face_pixel_stats(crops)
    n = D.STANDIN_SIZE**2
    assert v.shape == (2 * n,)
    assert np.allclose(v[:n], 1 / 3, atol=1e-3)  # mean of 0, 1, 0
    assert np.allclose(v[n:], np.std([0, 1, 0]), atol=1e-3)


def test_bad_frame_tables_and_functionals_name_the_file(tmp_path) -> None:
    import pandas as pd

    good = pd.DataFrame(
        {"item_id": ["a"] * 3, "time_s": [0.0, 0.04, 0.08], "f": [1.0, 2.0, 3.0],
         "arousal": [0.1, 0.2, 0.3], "valence": [0.0, 0.1, 0.2]}
    )  # fmt: skip
    path = tmp_path / "frames.parquet"
    good.to_parquet(path)
    rec = D.read_recordings(path)
    assert rec.items == ["a"] and rec.x[0].shape == (3, 1) and rec.y[0].shape == (3, 2)
    good.assign(valence=[0.0, float("nan"), 0.2]).to_parquet(path)
    with pytest.raises(CorruptInputError, match=r"frames\.parquet.*NaN"):
        D.read_recordings(path)
    good.drop(columns="arousal").to_parquet(path)
    with pytest.raises(CorruptInputError, match="missing columns"):
        D.read_recordings(path)
    with pytest.raises(CorruptInputError, match="no frames"):
        rec.subset(["b"])
    funcs = tmp_path / "functionals.parquet"
    pd.DataFrame({"item_id": ["u1"], "x": [1.0]}).to_parquet(funcs)
    assert D.utterance_functionals(funcs, ["u1"]).shape == (1, 1)
    with pytest.raises(CorruptInputError, match=r"functionals\.parquet.*u2"):
        D.utterance_functionals(funcs, ["u1", "u2"])
    with pytest.raises(CorruptInputError, match="not among"):
        D.class_indices(["joy"], ["anger", "neutral"], "index.csv")
