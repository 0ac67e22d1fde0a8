"""Training loop for the end-to-end models; tiny stand-in models (batch dict -> (B, T, 2))."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from emorepro import metrics as M
from emorepro.errors import ConfigError, EmoreproError
from emorepro.training.sequences import AudioSequences, AVSequences, VideoSequences
from emorepro.training.trainer import DictInput, TrainConfig, dev_ccc, predict, train

STEPS = 10


class AudioStub(nn.Module):
    """Per 40 ms frame: (mean, std) of its 640 samples -> MLP with dropout -> 2 outputs."""

    def __init__(self, hidden: int = 16, p: float = 0.1) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(p),
                                 nn.Linear(hidden, 2))  # fmt: skip

    def forward(self, batch: dict) -> torch.Tensor:
        x = batch["audio"]
        frames = x.view(x.shape[0], -1, 640)
        feats = torch.stack([frames.mean(-1), frames.std(-1)], dim=-1)
        return self.net(feats)


class VisualStub(nn.Module):
    """(B, T, 3, H, W) -> channel means -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3, 2)

    def forward(self, batch: dict) -> torch.Tensor:
        return self.head(batch["frames"].mean(dim=(-1, -2)))


class AVStub(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.audio, self.video = AudioStub(p=0.0), VisualStub()

    def forward(self, batch: dict) -> torch.Tensor:
        return self.audio(batch) + self.video(batch)


def make_recording(n_labels: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Label i = (a_i, v_i); the 640 samples ending at label time i (align="end") are
    a_i * N(0, 1) + v_i, so arousal is the frame's std and valence its mean."""
    a = rng.uniform(0.2, 1.0, n_labels)
    v = rng.uniform(-0.5, 0.5, n_labels)
    chunks = [a[i] * rng.standard_normal(640) + v[i] for i in range(1, n_labels)]
    audio = np.concatenate(chunks).astype(np.float32)
    return audio, np.stack([a, v], axis=1).astype(np.float32)


def make_data(seed: int = 0) -> tuple[AudioSequences, AudioSequences]:
    rng = np.random.default_rng(seed)
    train_recs = [make_recording(41, rng) for _ in range(4)]
    dev_recs = [make_recording(31, rng) for _ in range(2)]
    train_ds = AudioSequences(train_recs, steps=STEPS, items=[f"tr{i}" for i in range(4)])
    dev_ds = AudioSequences(dev_recs, steps=STEPS, items=["dv0", "dv1"])
    return train_ds, dev_ds


@pytest.fixture(scope="module")
def data() -> tuple[AudioSequences, AudioSequences]:
    return make_data()


CFG = TrainConfig(loss="ccc", epochs=3, lr=1e-2, batch_size=4, seed=7, device="cpu")


def fresh_model(seed: int = 7) -> AudioStub:
    torch.manual_seed(seed)
    return AudioStub()


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(loss="l1"), "loss"),
        (dict(epochs=0), "epochs"),
        (dict(batch_size=1.5), "batch_size"),
        (dict(lr=0), "lr"),
        (dict(grad_clip=-1.0), "grad_clip"),
        (dict(num_workers=-1), "num_workers"),
        (dict(seed="1"), "seed"),
        (dict(eval_batch_size=0), "eval_batch_size"),
        (dict(optimizer="adamw"), "optimizer"),
        (dict(selection="best"), "selection"),
    ],
)
def test_config_rejects(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


def test_config_defaults_are_the_papers() -> None:
    cfg = TrainConfig()
    assert (cfg.lr, cfg.loss, cfg.amp, cfg.grad_clip) == (1e-4, "ccc", False, None)


# --------------------------------------------------------------------------- learning


def test_ccc_training_beats_constant_predictor(data, caplog) -> None:
    train_ds, dev_ds = data
    cfg = TrainConfig(loss="ccc", epochs=15, lr=1e-2, batch_size=4, seed=1, log_every=5)
    with caplog.at_level(logging.INFO, logger="emorepro"):
        model, hist = train(fresh_model(1), train_ds, dev_ds, cfg)
    # the trainer scored dev in batches of cfg.batch_size: the same batches give the same bits
    # (another batch size changes float32 rounding in the BLAS kernels)
    pred = predict(model, dev_ds, device="cpu", batch_size=cfg.batch_size)
    gold = np.concatenate([dev_ds.labels[it] for it in dev_ds.items])
    hat = np.concatenate([pred[it] for it in dev_ds.items])
    for k in range(2):
        constant = M.ccc(gold[:, k], np.full(len(gold), gold[:, k].mean()))
        assert constant == 0.0
        assert M.ccc(gold[:, k], hat[:, k]) > 0.6
    assert hist["best_dev_ccc"] == pytest.approx(
        np.mean([M.ccc(gold[:, k], hat[:, k]) for k in range(2)]), abs=1e-12
    )
    assert hist["epochs"][-1]["train_loss"] < hist["epochs"][0]["train_loss"]
    lines = [r.getMessage() for r in caplog.records if " epoch " in r.getMessage()]
    assert len(lines) == 3  # epochs 5, 10, 15
    assert lines[0].startswith("train epoch 5/15 loss ")
    assert " dev CCC a=" in lines[0] and " v=" in lines[0] and "sequences/s" in lines[0]


def test_mse_loss_runs_and_timing_recorded(data) -> None:
    train_ds, dev_ds = data
    cfg = TrainConfig(loss="mse", epochs=2, lr=1e-2, batch_size=8, seed=0)
    _, hist = train(fresh_model(), train_ds, dev_ds, cfg)
    assert [t["epoch"] for t in hist["timing"]] == [1, 2]
    assert all(t["sequences_per_s"] > 0 and t["train_s"] > 0 for t in hist["timing"])
    assert set(hist["epochs"][0]) == {
        "epoch", "train_loss", "dev_ccc", "dev_ccc.arousal", "dev_ccc.valence",
    }  # fmt: skip


# --------------------------------------------------------------------------- determinism/resume


def test_cpu_determinism(data) -> None:
    train_ds, dev_ds = data
    m1, h1 = train(fresh_model(), train_ds, dev_ds, CFG)
    m2, h2 = train(fresh_model(), train_ds, dev_ds, CFG)
    assert same_weights(weights(m1), weights(m2))
    assert h1["epochs"] == h2["epochs"]
    m3, _ = train(fresh_model(), train_ds, dev_ds, TrainConfig(**{**CFG.__dict__, "seed": 8}))
    assert not same_weights(weights(m1), weights(m3))


class Interrupt(Exception):
    pass


def test_resume_after_interruption_is_identical(data, tmp_path: Path) -> None:
    train_ds, dev_ds = data
    ref_model, ref_hist = train(fresh_model(), train_ds, dev_ds, CFG, checkpoint=tmp_path / "a.pt")

    def stop_after_first(epoch: int, model: nn.Module, entry: dict) -> None:
        if epoch == 1:
            raise Interrupt

    ckpt = tmp_path / "b.pt"
    with pytest.raises(Interrupt):
        train(fresh_model(), train_ds, dev_ds, CFG, checkpoint=ckpt, on_epoch_end=stop_after_first)
    torch.manual_seed(12345)  # a resumed process starts with other RNG states
    np.random.seed(99)  # noqa: NPY002
    seen: list[int] = []
    model, hist = train(fresh_model(3), train_ds, dev_ds, CFG, checkpoint=ckpt,
                        on_epoch_end=lambda e, m, x: seen.append(e))  # fmt: skip
    assert seen == [2, 3]
    assert same_weights(weights(model), weights(ref_model))
    assert hist["epochs"] == ref_hist["epochs"]
    assert (hist["best_epoch"], hist["best_dev_ccc"]) == (
        ref_hist["best_epoch"],
        ref_hist["best_dev_ccc"],
    )
    # a finished checkpoint: no more epochs, same answer
    again, hist2 = train(fresh_model(4), train_ds, dev_ds, CFG, checkpoint=ckpt)
    assert same_weights(weights(again), weights(ref_model)) and hist2["epochs"] == hist["epochs"]


def test_checkpoint_from_other_settings_is_refused(data, tmp_path: Path) -> None:
    train_ds, dev_ds = data
    cfg = TrainConfig(**{**CFG.__dict__, "epochs": 1})
    train(fresh_model(), train_ds, dev_ds, cfg, checkpoint=tmp_path / "c.pt")
    other = TrainConfig(**{**cfg.__dict__, "lr": 1e-3})
    with pytest.raises(ConfigError, match="other settings"):
        train(fresh_model(), train_ds, dev_ds, other, checkpoint=tmp_path / "c.pt")


# --------------------------------------------------------------------------- model selection


def test_dev_ccc_selection_keeps_the_best_epoch(data) -> None:
    train_ds, dev_ds = data
    noise = {1: 2.0, 2: 0.1, 3: 0.5, 4: 0.1}  # epoch 2 best; epoch 4 ties and must not win
    rng = np.random.default_rng(0)
    calls: list[int] = []
    given: dict[int, dict[str, np.ndarray]] = {}

    def fake_predict(model, ds, device):
        epoch = len(calls) + 1
        calls.append(epoch)
        r = np.random.default_rng(epoch if epoch != 4 else 2)
        out = {it: ds.labels[it] + noise[epoch] * r.standard_normal(ds.labels[it].shape)
               for it in ds.items}  # fmt: skip
        given[epoch] = out
        return out

    snapshots: dict[int, dict[str, torch.Tensor]] = {}
    cfg = TrainConfig(**{**CFG.__dict__, "epochs": 4})
    model, hist = train(fresh_model(), train_ds, dev_ds, cfg, predict_fn=fake_predict,
                        on_epoch_end=lambda e, m, x: snapshots.update({e: weights(m)}))  # fmt: skip
    del rng
    gold = np.concatenate([dev_ds.labels[it] for it in dev_ds.items])
    expected = []
    for epoch in range(1, 5):
        hat = np.concatenate([given[epoch][it] for it in dev_ds.items])
        per = [M.ccc(gold[:, k], hat[:, k]) for k in range(2)]
        expected.append(np.mean(per))
        row = hist["epochs"][epoch - 1]
        assert row["dev_ccc"] == pytest.approx(np.mean(per), abs=1e-12)
        assert row["dev_ccc.arousal"] == pytest.approx(per[0], abs=1e-12)
    assert expected[1] == pytest.approx(expected[3], abs=1e-12)
    assert int(np.argmax(expected)) + 1 == 2 == hist["best_epoch"]
    assert hist["best_dev_ccc"] == pytest.approx(expected[1], abs=1e-12)
    assert same_weights(weights(model), snapshots[2])
    assert not same_weights(snapshots[2], snapshots[4])
    assert not model.training


def test_selection_last_keeps_the_last_epoch_and_still_scores_dev(data) -> None:
    train_ds, dev_ds = data
    noise = {1: 2.0, 2: 0.1, 3: 0.5}  # epoch 2 is the best on dev
    calls: list[int] = []

    def fake_predict(model, ds, device):
        r = np.random.default_rng(len(calls))
        calls.append(1)
        return {it: ds.labels[it] + noise[len(calls)] * r.standard_normal(ds.labels[it].shape)
                for it in ds.items}  # fmt: skip

    runs = {}
    for selection in ("best_dev", "last"):
        calls.clear()
        snaps: dict[int, dict[str, torch.Tensor]] = {}
        cfg = TrainConfig(**{**CFG.__dict__, "selection": selection})
        model, hist = train(
            fresh_model(),
            train_ds,
            dev_ds,
            cfg,
            predict_fn=fake_predict,
            on_epoch_end=lambda e, m, x, s=snaps: s.update({e: weights(m)}),
        )
        runs[selection] = (weights(model), hist, snaps)
    (best_w, best, _), (last_w, last, snaps) = runs["best_dev"], runs["last"]
    assert last["epochs"] == best["epochs"]  # selection does not change training or scoring
    assert best["best_epoch"] == 2 and last["best_epoch"] == 3
    assert last["best_dev_ccc"] == last["epochs"][-1]["dev_ccc"] < best["best_dev_ccc"]
    assert same_weights(last_w, snaps[3]) and same_weights(best_w, snaps[2])


def test_default_checkpoint_records_only_the_original_settings(data, tmp_path: Path) -> None:
    """Checkpoints written before the optimiser/schedule/selection/task settings existed
    still resume: at their defaults those settings are not recorded."""
    train_ds, dev_ds = data
    cfg = TrainConfig(**{**CFG.__dict__, "epochs": 1})
    train(fresh_model(), train_ds, dev_ds, cfg, checkpoint=tmp_path / "d.pt")
    state = torch.load(tmp_path / "d.pt", weights_only=True)
    assert set(state["config"]) == {
        "loss", "lr", "batch_size", "seed", "grad_clip", "num_workers", "amp", "device", "model",
        "n_parameters", "n_trainable", "n_train", "n_dev",
    }  # fmt: skip
    assert "scheduler" not in state
    sgd = TrainConfig(**{**cfg.__dict__, "optimizer": "sgd", "momentum": 0.9})
    with pytest.raises(ConfigError, match="other settings"):
        train(fresh_model(), train_ds, dev_ds, sgd, checkpoint=tmp_path / "d.pt")


def test_regression_with_sgd_and_restarts_trains(data) -> None:
    train_ds, dev_ds = data
    cfg = TrainConfig(**{**CFG.__dict__, "optimizer": "sgd", "momentum": 0.9, "lr": 0.05,
                         "schedule": "cosine_restarts", "restart_epochs": 2})  # fmt: skip
    model, hist = train(fresh_model(), train_ds, dev_ds, cfg)
    assert [round(row["lr"], 12) for row in hist["epochs"]] == [0.05, 0.025, 0.05]
    assert np.isfinite(hist["best_dev_ccc"]) and not model.training


def test_without_dev_keeps_last_epoch(data) -> None:
    train_ds, _ = data
    snaps: dict[int, dict[str, torch.Tensor]] = {}
    model, hist = train(fresh_model(), train_ds, None, CFG,
                        on_epoch_end=lambda e, m, x: snaps.update({e: weights(m)}))  # fmt: skip
    assert hist["best_epoch"] == 3 and same_weights(weights(model), snaps[3])
    assert np.isnan(hist["epochs"][0]["dev_ccc"])


# --------------------------------------------------------------------------- predict


class StartEcho(nn.Module):
    """Predicts (start, start + j) for step j of a window that starts at ``start``."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, batch: dict) -> torch.Tensor:
        b, t = batch["target"].shape[:2]
        start = batch["start"].view(b, 1).float()
        steps = torch.arange(t, dtype=torch.float32).view(1, t)
        return torch.stack([start.expand(b, t), start + steps], dim=-1) + self.dummy


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_predict_stitches_in_order_and_averages_overlaps(batch_size: int) -> None:
    lengths = {"r1": 25, "r2": 10, "r3": 13}
    recs = [(np.zeros((n - 1) * 640, np.float32), np.zeros((n, 2), np.float32))
            for n in lengths.values()]  # fmt: skip
    ds = AudioSequences(recs, steps=STEPS, items=list(lengths))
    out = predict(StartEcho(), ds, device="cpu", batch_size=batch_size)
    assert list(out) == ["r1", "r2", "r3"]
    # r1 windows (0,10) (10,20) (15,25): frames 15..19 average starts 10 and 15
    expected_start = np.array([0.0] * 10 + [10.0] * 5 + [12.5] * 5 + [15.0] * 5)
    np.testing.assert_allclose(out["r1"][:, 0], expected_start)
    np.testing.assert_allclose(out["r1"][:, 1], np.arange(25))
    np.testing.assert_allclose(out["r2"][:, 0], np.zeros(10))
    # r3 windows (0,10) (3,13)
    np.testing.assert_allclose(out["r3"][:, 0], [0, 0, 0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5,
                                                 3, 3, 3])  # fmt: skip
    np.testing.assert_allclose(out["r3"][:, 1], np.arange(13))
    scores = dev_ccc(ds, {k: np.stack([np.arange(n), np.arange(n)], 1) for k, n in lengths.items()})
    assert set(scores) == {"arousal", "valence"}


def test_bad_model_output_is_named(data) -> None:
    train_ds, dev_ds = data

    class Wrong(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, batch: dict) -> torch.Tensor:
            return batch["target"][..., :1] * self.w

    with pytest.raises(EmoreproError, match=r"must map a batch dict to \(batch, steps, 2\)"):
        train(Wrong(), train_ds, dev_ds, CFG)


# --------------------------------------------------------------------------- other inputs


def test_video_and_av_datasets_train() -> None:
    rng = np.random.default_rng(3)
    recs = []
    for _ in range(2):
        labels = rng.uniform(-1, 1, (12, 2)).astype(np.float32)
        crops = rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
        audio = rng.standard_normal(11 * 640).astype(np.float32)
        recs.append((audio, crops, labels))
    cfg = TrainConfig(loss="ccc", epochs=2, lr=1e-3, batch_size=2, seed=0)

    def jitter(crops: np.ndarray) -> torch.Tensor:  # global-RNG augmentation, like FaceTransform
        x = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255
        return x + 0.1 * torch.rand(())

    video = VideoSequences([(c, y) for _, c, y in recs], steps=4, transform=jitter)
    torch.manual_seed(0)
    m1, hist = train(VisualStub(), video, video, cfg)
    torch.manual_seed(0)
    m2, hist2 = train(VisualStub(), video, video, cfg)
    assert same_weights(weights(m1), weights(m2)) and hist == {**hist2, "timing": hist["timing"]}
    assert len(hist["epochs"]) == 2 and np.isfinite(hist["epochs"][-1]["train_loss"])
    av = AVSequences(recs, steps=4)
    torch.manual_seed(0)
    _, hist = train(AVStub(), av, av, cfg)
    assert hist["best_epoch"] in (1, 2)


class TensorModel(nn.Module):
    """Takes tensors, not a batch dict (like models.tzirakis.MultimodalModel)."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.v = nn.Linear(640, 2), nn.Linear(3, 2)

    def forward(self, audio: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        b = audio.shape[0]
        return self.a(audio.view(b, -1, 640)) + self.v(video.mean(dim=(-1, -2)))


def test_dict_input_adapter() -> None:
    model = TensorModel()
    wrapped = DictInput(model, ("audio", "frames"))
    batch = {"audio": torch.randn(2, 3 * 640), "frames": torch.rand(2, 3, 3, 4, 4),
             "target": torch.zeros(2, 3, 2), "item": ["x", "y"]}  # fmt: skip
    assert torch.equal(wrapped(batch), model(batch["audio"], batch["frames"]))
    assert wrapped.model is model
    with pytest.raises(EmoreproError, match="batch has no 'landmarks'"):
        DictInput(model, ("audio", "landmarks"))(batch)
    with pytest.raises(ConfigError, match="keys"):
        DictInput(model, ())


def test_frozen_parameters_stay_fixed(data) -> None:
    train_ds, dev_ds = data
    model = fresh_model()
    first = model.net[0]
    first.requires_grad_(False)
    before = weights(first)
    trained, _ = train(model, train_ds, dev_ds, CFG)
    assert same_weights(weights(trained.net[0]), before)
    assert not same_weights(weights(trained.net[3]), weights(fresh_model().net[3]))
    model.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        train(model, train_ds, dev_ds, CFG)
