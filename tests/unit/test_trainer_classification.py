"""The shared trainer on item-level classification, and its optimiser/schedule/selection settings.

Toy data: items of 2-4 segments, each segment a 4-d feature vector around its class's centre.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from emorepro import metrics as M
from emorepro.errors import ConfigError, EmoreproError
from emorepro.training.tasks import POOLINGS, pool_logits
from emorepro.training.trainer import (
    ClassificationTask,
    ClassPredictions,
    TrainConfig,
    predict_classes,
    train,
)

CLASSES = ("angry", "happy", "sad")
TASK = ClassificationTask(CLASSES)
CFG = TrainConfig(loss="cross_entropy", epochs=3, lr=0.05, batch_size=8, seed=3)


class Segments(Dataset):
    """Samples ``{"features": (4,), "target": int, "item": str}``; samples of an item share
    its label (the class of ``item`` number ``i`` is ``i % 3``)."""

    def __init__(self, n_items: int, seed: int, prefix: str, spread: float = 0.6) -> None:
        rng = np.random.default_rng(seed)
        centres = np.eye(3, 4) * 2.0
        self.rows: list[tuple[np.ndarray, int, str]] = []
        for i in range(n_items):
            label = i % 3
            for _ in range(int(rng.integers(2, 5))):
                x = centres[label] + spread * rng.standard_normal(4)
                self.rows.append((x.astype(np.float32), label, f"{prefix}{i}"))

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        x, y, item = self.rows[i]
        return {"features": torch.from_numpy(x), "target": y, "item": item}


class Classifier(nn.Module):
    """features -> linear -> ReLU -> dropout -> linear: logits (B, 3)."""

    def __init__(self, p: float = 0.2) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(p))
        self.head = nn.Linear(8, 3)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(self.trunk(batch["features"]))


@pytest.fixture(scope="module")
def data() -> tuple[Segments, Segments]:
    return Segments(12, 0, "tr"), Segments(9, 1, "dv")


def fresh(seed: int = 0, p: float = 0.2) -> Classifier:
    torch.manual_seed(seed)
    return Classifier(p)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def cfg(**kw) -> TrainConfig:
    return TrainConfig(**{**CFG.__dict__, **kw})


def no_timing(hist: dict) -> dict:
    return {k: v for k, v in hist.items() if k != "timing"}


# --------------------------------------------------------------------------- learning


def test_learns_a_separable_problem(data) -> None:
    train_ds, dev_ds = data
    model, hist = train(fresh(), train_ds, dev_ds, cfg(epochs=8), task=TASK)
    assert set(hist) == {"epochs", "best_epoch", "best_dev_uar", "timing"}
    assert list(hist["epochs"][0]) == ["epoch", "train_loss", "dev_uar", "dev_accuracy"]
    assert hist["best_dev_uar"] >= 0.9  # chance is 1/3
    assert hist["epochs"][-1]["train_loss"] < hist["epochs"][0]["train_loss"]
    # the returned model is the best epoch's; its dev UAR is what the history says
    pred = predict_classes(model, dev_ds, CLASSES, batch_size=CFG.batch_size)
    assert isinstance(pred, ClassPredictions)
    assert pred.items == tuple(f"dv{i}" for i in range(9))
    assert pred.gold == tuple(CLASSES[i % 3] for i in range(9))
    assert M.uar(pred.gold, pred.predicted, labels=CLASSES) == hist["best_dev_uar"]
    np.testing.assert_allclose(pred.probs.sum(axis=1), 1.0, rtol=1e-12)
    frame = pred.frame()
    assert list(frame.columns) == [
        "item_id", "predicted", "gold", "n_samples", "p.angry", "p.happy", "p.sad",
    ]  # fmt: skip
    assert frame["n_samples"].sum() == len(dev_ds)
    acc = cfg(epochs=2)
    _, h2 = train(
        fresh(), train_ds, dev_ds, acc, task=ClassificationTask(CLASSES, metric="accuracy")
    )
    assert list(h2["epochs"][0])[2:] == ["dev_accuracy", "dev_uar"] and "best_dev_accuracy" in h2


def test_same_seed_same_numbers_other_seed_not(data) -> None:
    train_ds, dev_ds = data
    m1, h1 = train(fresh(), train_ds, dev_ds, CFG, task=TASK)
    m2, h2 = train(fresh(), train_ds, dev_ds, CFG, task=TASK)
    assert same(weights(m1), weights(m2)) and no_timing(h1) == no_timing(h2)
    m3, _ = train(fresh(), train_ds, dev_ds, cfg(seed=4), task=TASK)
    assert not same(weights(m1), weights(m3))


# --------------------------------------------------------------------------- pooling


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _hand(logits: np.ndarray, pooling: str) -> np.ndarray:
    """Written out per the definitions, independent of emorepro.training.tasks."""
    if pooling == "mean_prob":
        return _softmax(logits).mean(axis=0)
    if pooling == "mean_logit":
        return _softmax(logits.mean(axis=0, keepdims=True))[0]
    if pooling == "max_prob":
        m = _softmax(logits).max(axis=0)
        return m / m.sum()
    counts = np.zeros(logits.shape[1])
    for row in logits:
        best = 0
        for k in range(1, len(row)):
            if row[k] > row[best]:
                best = k
        counts[best] += 1
    return counts / counts.sum()


class EchoLogits(nn.Module):
    """Returns the sample's stored logits."""

    def __init__(self) -> None:
        super().__init__()
        self.zero = nn.Parameter(torch.zeros(()))

    def forward(self, batch: dict) -> torch.Tensor:
        return batch["logits"] + self.zero


class Stored(Dataset):
    def __init__(self, rows: list[tuple[str, list[float], int | None]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        item, logits, y = self.rows[i]
        out = {"item": item, "logits": torch.tensor(logits, dtype=torch.float32)}
        if y is not None:
            out["target"] = y
        return out


ROWS = [
    ("u1", [2.0, 0.5, -1.0], 0),
    ("u2", [0.0, 3.0, 1.0], 1),
    ("u1", [0.1, 1.2, 0.3], 0),
    ("u2", [1.0, 0.0, 4.0], 1),
    ("u3", [0.5, 0.5, 0.0], 2),  # tie inside one sample -> class 0
    ("u2", [5.0, -2.0, 0.0], 1),
    ("u2", [-1.0, -1.0, 2.0], 1),
]


@pytest.mark.parametrize("pooling", sorted(POOLINGS))
@pytest.mark.parametrize("batch_size", [1, 3])
def test_pooling_matches_hand_computation(pooling: str, batch_size: int) -> None:
    ds = Stored(ROWS)
    pred = predict_classes(EchoLogits(), ds, CLASSES, pooling=pooling, batch_size=batch_size)
    assert pred.items == ("u1", "u2", "u3") and pred.n_samples == (2, 4, 1)
    assert pred.gold == ("angry", "happy", "sad")
    for i, item in enumerate(pred.items):
        logits = np.array([r[1] for r in ROWS if r[0] == item], dtype=np.float32)
        want = _hand(logits.astype(np.float64), pooling)
        np.testing.assert_allclose(pred.probs[i], want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(pool_logits(logits, pooling), want, rtol=1e-12, atol=1e-15)
        top = [k for k in range(3) if want[k] == want.max()]
        assert pred.predicted[i] == CLASSES[top[0]]  # ties -> lowest class index
    if pooling == "vote":
        # u2 votes: argmax 1, 2, 0, 2 -> class 2 wins; u3's own logits tie 0/1 -> class 0
        np.testing.assert_array_equal(pred.probs[1], [0.25, 0.25, 0.5])
        assert pred.predicted == ("angry", "sad", "angry")


def test_vote_tie_goes_to_the_lowest_class() -> None:
    logits = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 3.0], [0.0, 2.0, 0.0]])
    probs = pool_logits(logits, "vote")
    np.testing.assert_array_equal(probs, [0.0, 0.5, 0.5])
    ds = Stored([("x", row.tolist(), None) for row in logits])
    pred = predict_classes(EchoLogits(), ds, CLASSES, pooling="vote")
    assert pred.predicted == ("happy",) and pred.gold is None
    with pytest.raises(EmoreproError, match="no 'target'"):
        pred.scores()
    with pytest.raises(ConfigError, match="pooling"):
        pool_logits(logits, "median")


def test_prediction_contract_errors() -> None:
    mixed = Stored([("a", [1.0, 0.0, 0.0], 0), ("a", [1.0, 0.0, 0.0], 1)])
    with pytest.raises(EmoreproError, match="different labels"):
        predict_classes(EchoLogits(), mixed, CLASSES)
    with pytest.raises(EmoreproError, match=r"\(batch, 2\) logits"):
        predict_classes(EchoLogits(), Stored(ROWS), CLASSES[:2])
    with pytest.raises(EmoreproError, match="outside"):
        predict_classes(EchoLogits(), Stored([("a", [1.0, 0.0, 0.0], 5)]), CLASSES)


# --------------------------------------------------------------------------- selection


def _scripted(correct: dict[int, int]):
    """predict_fn whose epoch-e predictions get ``correct[e]`` of the 3 items right."""
    calls: list[int] = []

    def fn(model, ds, device) -> ClassPredictions:
        calls.append(1)
        k = correct[len(calls)]
        gold = ("angry", "happy", "sad")
        hat = tuple(
            g if i < k else "angry" if g != "angry" else "happy" for i, g in enumerate(gold)
        )
        probs = np.full((3, 3), 1 / 3)
        return ClassPredictions(CLASSES, ("a", "b", "c"), probs, hat, gold, (1, 1, 1))

    return fn


@pytest.mark.parametrize(("selection", "expected"), [("best_dev", 2), ("last", 4)])
def test_selection_best_dev_vs_last(data, selection: str, expected: int) -> None:
    train_ds, dev_ds = data
    correct = {1: 1, 2: 3, 3: 0, 4: 3}  # epoch 2 best, epoch 4 ties it and must not win
    snaps: dict[int, dict[str, torch.Tensor]] = {}
    model, hist = train(fresh(), train_ds, dev_ds, cfg(epochs=4, selection=selection),
                        task=TASK, predict_fn=_scripted(correct),
                        on_epoch_end=lambda e, m, x: snaps.update({e: weights(m)}))  # fmt: skip
    uars = [row["dev_uar"] for row in hist["epochs"]]
    assert uars == [pytest.approx(v / 3) for v in (1, 3, 0, 3)]
    assert hist["best_epoch"] == expected
    assert hist["best_dev_uar"] == uars[expected - 1]
    assert same(weights(model), snaps[expected]) and not same(snaps[2], snaps[4])


def test_without_dev_keeps_the_last_epoch(data) -> None:
    train_ds, _ = data
    snaps: dict[int, dict[str, torch.Tensor]] = {}
    model, hist = train(fresh(), train_ds, None, CFG, task=TASK,
                        on_epoch_end=lambda e, m, x: snaps.update({e: weights(m)}))  # fmt: skip
    assert hist["best_epoch"] == 3 and same(weights(model), snaps[3])
    assert np.isnan(hist["epochs"][0]["dev_uar"]) and np.isnan(hist["best_dev_uar"])


# --------------------------------------------------------------------------- optimiser


def _manual_run(train_ds, model: nn.Module, config: TrainConfig, make_opt) -> nn.Module:
    """The trainer's loop written out: same seed, shuffle and batches, the given optimiser."""
    torch.manual_seed(config.seed)
    shuffle = torch.Generator().manual_seed(config.seed)
    opt = make_opt(model)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(train_ds), generator=shuffle).tolist()
        order = order[: config.samples_per_epoch or len(order)]
        for s in range(0, len(order), config.batch_size):
            rows = [train_ds[i] for i in order[s : s + config.batch_size]]
            x = torch.stack([r["features"] for r in rows])
            y = torch.tensor([r["target"] for r in rows])
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model({"features": x}).float(), y).backward()
            opt.step()
    return model


@pytest.mark.parametrize(
    ("settings", "make_opt"),
    [
        (dict(optimizer="sgd", momentum=0.9, weight_decay=0.01),
         lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, weight_decay=0.01)),
        (dict(weight_decay=0.1),
         lambda m: torch.optim.Adam(m.parameters(), lr=0.05, weight_decay=0.1)),
    ],
)  # fmt: skip
def test_optimizer_settings_are_applied(data, settings: dict, make_opt) -> None:
    train_ds, _ = data
    config = cfg(epochs=2, **settings)
    got, _ = train(fresh(p=0.0), train_ds, None, config, task=TASK)
    want = _manual_run(train_ds, fresh(p=0.0), config, make_opt)
    for k, v in weights(want).items():
        torch.testing.assert_close(weights(got)[k], v, rtol=1e-6, atol=1e-7)
    plain, _ = train(fresh(p=0.0), train_ds, None, cfg(epochs=2), task=TASK)
    assert not same(weights(plain), weights(got))


def test_samples_per_epoch_trains_on_a_fresh_subset_of_each_permutation(data) -> None:
    train_ds, _ = data
    config = cfg(epochs=3, samples_per_epoch=7)
    got, hist = train(fresh(p=0.0), train_ds, None, config, task=TASK)
    want = _manual_run(
        train_ds, fresh(p=0.0), config, lambda m: torch.optim.Adam(m.parameters(), lr=0.05)
    )
    for k, v in weights(want).items():
        torch.testing.assert_close(weights(got)[k], v, rtol=1e-6, atol=1e-7)
    full, _ = train(fresh(p=0.0), train_ds, None, cfg(epochs=3), task=TASK)
    assert not same(weights(full), weights(got))
    assert len(hist["epochs"]) == 3
    # at least the whole set: the same as no cap
    whole, _ = train(fresh(p=0.0), train_ds, None, cfg(epochs=3, samples_per_epoch=10**6),
                     task=TASK)  # fmt: skip
    assert same(weights(whole), weights(full))
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="samples_per_epoch"):
            cfg(samples_per_epoch=bad)


def test_param_groups_give_per_group_learning_rates(data, tmp_path: Path) -> None:
    train_ds, _ = data
    config = cfg(epochs=2, optimizer="sgd", momentum=0.5)

    def groups(m: Classifier) -> list[dict]:
        return [{"params": m.trunk.parameters(), "lr": 1e-5, "name": "trunk"},
                {"params": m.head.parameters(), "name": "head"}]  # fmt: skip

    start = weights(fresh(p=0.0))
    got, _ = train(fresh(p=0.0), train_ds, None, config, task=TASK, param_groups=groups,
                   checkpoint=tmp_path / "g.pt")  # fmt: skip

    def manual(m: Classifier) -> torch.optim.Optimizer:
        groups = [{"params": m.trunk.parameters(), "lr": 1e-5}, {"params": m.head.parameters()}]
        return torch.optim.SGD(groups, lr=0.05, momentum=0.5)

    want = _manual_run(train_ds, fresh(p=0.0), config, manual)
    for k, v in weights(want).items():
        torch.testing.assert_close(weights(got)[k], v, rtol=1e-6, atol=1e-7)
    trunk_move = (got.trunk[0].weight - start["trunk.0.weight"]).abs().max().item()
    head_move = (got.head.weight - start["head.weight"]).abs().max().item()
    assert 0 < trunk_move < 1e-3 < head_move
    state = torch.load(tmp_path / "g.pt", weights_only=True)
    assert [g["name"] for g in state["config"]["param_groups"]] == ["trunk", "head"]
    with pytest.raises(ConfigError, match="other settings"):
        train(fresh(p=0.0), train_ds, None, config, task=TASK, checkpoint=tmp_path / "g.pt")


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        (lambda m: [{"params": m.head.parameters()}], "out of every group"),
        (lambda m: [{"params": m.parameters()}, {"params": m.head.parameters()}], "more than one"),
        (lambda m: [{"params": m.parameters(), "betas": (0.9, 0.99)}], "betas"),
        (lambda m: [{"params": m.parameters(), "lr": -1.0}], "'lr'"),
        (lambda m: [{"params": [torch.zeros(1, requires_grad=True)]}], "not a trainable"),
        (lambda m: m.parameters(), "list of dicts"),
    ],
)
def test_bad_param_groups_are_refused(data, groups, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        train(fresh(), data[0], None, cfg(epochs=1), task=TASK, param_groups=groups)


def test_frozen_parameters_are_dropped_from_groups(data) -> None:
    model = fresh(p=0.0)
    model.trunk.requires_grad_(False)
    before = weights(model.trunk)
    groups = [{"params": model.trunk.parameters(), "lr": 0.1}, {"params": model.head.parameters()}]
    trained, _ = train(model, data[0], None, cfg(epochs=1), task=TASK,
                       param_groups=lambda m: groups)  # fmt: skip
    assert same(weights(trained.trunk), before)


def test_cosine_restarts_schedule_per_epoch(data) -> None:
    train_ds, _ = data
    config = cfg(epochs=7, optimizer="sgd", momentum=0.9, schedule="cosine_restarts",
                 restart_epochs=2, restart_mult=2, min_lr=0.001)  # fmt: skip
    groups = lambda m: [{"params": m.trunk.parameters(), "lr": 0.01},  # noqa: E731
                        {"params": m.head.parameters()}]  # fmt: skip
    _, hist = train(fresh(), train_ds, None, config, task=TASK, param_groups=groups)
    ref_opt = torch.optim.SGD([{"params": [torch.zeros(1)], "lr": 0.01},
                               {"params": [torch.zeros(1)]}], lr=0.05)  # fmt: skip
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        ref_opt, T_0=2, T_mult=2, eta_min=0.001
    )
    want = []
    for _ in range(7):
        want.append([g["lr"] for g in ref_opt.param_groups])
        sched.step()
    got = [[row["lr"], row["lr.1"]] for row in hist["epochs"]]
    assert got == want
    for epoch in (1, 3, 7):  # a restart at epochs 1, 1 + 2 and 1 + 2 + 4: the base rates
        assert got[epoch - 1] == [pytest.approx(0.01), pytest.approx(0.05)]
    assert got[1][1] == pytest.approx(0.001 + 0.049 / 2)  # half-way through the first cycle
    assert got[5][1] < got[4][1] < got[3][1] < got[2][1]


# --------------------------------------------------------------------------- checkpoints


class Stop(Exception):
    pass


def test_resume_is_bitwise_identical(data, tmp_path: Path) -> None:
    train_ds, dev_ds = data
    config = cfg(epochs=4, optimizer="sgd", momentum=0.9, weight_decay=1e-3,
                 schedule="cosine_restarts", restart_epochs=3)  # fmt: skip
    ref, ref_hist = train(fresh(), train_ds, dev_ds, config, task=TASK)

    def stop(epoch: int, model: nn.Module, entry: dict) -> None:
        if epoch == 2:
            raise Stop

    ckpt = tmp_path / "cls.pt"
    with pytest.raises(Stop):
        train(fresh(), train_ds, dev_ds, config, task=TASK, checkpoint=ckpt, on_epoch_end=stop)
    torch.manual_seed(999)  # a new process: other global RNG state, other initial weights
    np.random.seed(5)  # noqa: NPY002
    seen: list[int] = []
    model, hist = train(fresh(11), train_ds, dev_ds, config, task=TASK, checkpoint=ckpt,
                        on_epoch_end=lambda e, m, x: seen.append(e))  # fmt: skip
    assert seen == [3, 4]
    assert same(weights(model), weights(ref)) and no_timing(hist) == no_timing(ref_hist)
    other = ClassificationTask(CLASSES, pooling="vote")
    with pytest.raises(ConfigError, match="other settings"):
        train(fresh(), train_ds, dev_ds, config, task=other, checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other settings"):
        train(fresh(), train_ds, dev_ds, cfg(epochs=4), task=TASK, checkpoint=ckpt)


# --------------------------------------------------------------------------- bad settings


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(optimizer="rmsprop"), r"TrainConfig\.optimizer"),
        (dict(optimizer="sgd", momentum=-0.1), r"TrainConfig\.momentum"),
        (dict(momentum=0.9), r"TrainConfig\.momentum applies to optimizer='sgd'"),
        (dict(weight_decay=-1e-4), r"TrainConfig\.weight_decay"),
        (dict(weight_decay="0.1"), r"TrainConfig\.weight_decay"),
        (dict(schedule="step"), r"TrainConfig\.schedule"),
        (dict(schedule="cosine_restarts"), r"TrainConfig\.restart_epochs"),
        (dict(schedule="cosine_restarts", restart_epochs=0), r"TrainConfig\.restart_epochs"),
        (dict(restart_epochs=5), r"TrainConfig\.restart_epochs applies"),
        (dict(schedule="cosine_restarts", restart_epochs=2, restart_mult=0),
         r"TrainConfig\.restart_mult"),
        (dict(restart_mult=2), r"TrainConfig\.restart_mult applies"),
        (dict(schedule="cosine_restarts", restart_epochs=2, min_lr=1.0), r"TrainConfig\.min_lr"),
        (dict(selection="worst"), r"TrainConfig\.selection"),
        (dict(loss="nll"), r"TrainConfig\.loss"),
    ],
)  # fmt: skip
def test_bad_train_settings_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        cfg(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(classes="abc"), r"ClassificationTask\.classes"),
        (dict(classes=["a"]), r"ClassificationTask\.classes"),
        (dict(classes=["a", "a"]), r"ClassificationTask\.classes has duplicates"),
        (dict(classes=CLASSES, pooling="median"), r"ClassificationTask\.pooling"),
        (dict(classes=CLASSES, metric="f1"), r"ClassificationTask\.metric"),
    ],
)
def test_bad_task_settings_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ClassificationTask(**kwargs)


def test_loss_must_fit_the_task_and_outputs_are_checked(data) -> None:
    train_ds, dev_ds = data
    with pytest.raises(ConfigError, match=r"TrainConfig\.loss 'ccc' does not fit"):
        train(fresh(), train_ds, dev_ds, cfg(loss="ccc"), task=TASK)
    with pytest.raises(ConfigError, match=r"TrainConfig\.loss 'cross_entropy' does not fit"):
        train(fresh(), train_ds, dev_ds, CFG)  # default task: regression
    with pytest.raises(EmoreproError, match=r"\(batch, 2\) logits"):
        train(fresh(), train_ds, dev_ds, CFG, task=ClassificationTask(["a", "b"]))

    class FloatTargets(Segments):
        def __getitem__(self, i: int) -> dict:
            return {**super().__getitem__(i), "target": float(self.rows[i][1])}

    with pytest.raises(EmoreproError, match="integer class indices"):
        train(fresh(), FloatTargets(3, 0, "f"), None, CFG, task=TASK)
    with pytest.raises(EmoreproError, match="ClassPredictions"):
        train(fresh(), train_ds, dev_ds, CFG, task=TASK, predict_fn=lambda m, d, dev: {})
