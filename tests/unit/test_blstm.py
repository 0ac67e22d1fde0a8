"""BLSTM baseline, shared training runtime (seeding, devices, checkpoints) and openSMILE LLDs."""

from __future__ import annotations

import logging
import random

import numpy as np
import pandas as pd
import pytest
import torch

from emorepro import metrics as M
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.evaluation import summarise_regression
from emorepro.families.baselines.blstm import (
    BLSTMRegressor,
    BLSTMRun,
    BLSTMSettings,
    blstm_on_partition,
    feature_columns,
    fit_scaler,
    make_sequences,
    predict_recordings,
    train_blstm,
)
from emorepro.features.opensmile_features import lld_at_label_rate, llds
from emorepro.training import runtime
from emorepro.training.runtime import (
    Checkpointer,
    get_rng_state,
    pick_device,
    seed_everything,
    set_rng_state,
)

FEATS = ["f0", "f1", "f2", "f3"]
SMALL = dict(lr=0.01, batch_size=8, seq_len=40, hidden=16, layers=1, seed=3)


def _split_kw(kw: dict) -> tuple[BLSTMSettings, BLSTMRun]:
    run = {k: kw.pop(k) for k in ("seed", "device", "checkpoint") if k in kw}
    return BLSTMSettings(**kw), BLSTMRun(**run)


def _train(train: pd.DataFrame, dev: pd.DataFrame, **kw):
    return train_blstm(train, dev, *_split_kw(dict(kw)))


def _partition(frames: pd.DataFrame, sheet: pd.DataFrame, **kw):
    return blstm_on_partition(frames, sheet, *_split_kw(dict(kw)))


def synth_frames(n_items: int = 7, n: int = 240, seed: int = 0) -> pd.DataFrame:
    """AR(1) features on very different scales; arousal = tanh of an 8-frame moving average
    of f0 (lagged context), valence = f1 five frames earlier minus a little f2, plus noise."""
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_items):
        e = rng.standard_normal((n + 20, 4))
        x = np.zeros_like(e)
        for t in range(1, len(e)):
            x[t] = 0.9 * x[t - 1] + 0.45 * e[t]
        arousal = np.tanh(np.convolve(x[:, 0], np.ones(8) / 8, mode="full")[: len(x)])[20:]
        valence = (0.7 * np.roll(x[:, 1], 5) - 0.3 * x[:, 2])[20:]
        df = pd.DataFrame(x[20:] * [50.0, 0.01, 3.0, 1.0] + [200.0, 0.0, -5.0, 0.0], columns=FEATS)
        df.insert(0, "time_s", np.round(np.arange(n) * 0.04, 6))
        df.insert(0, "item_id", f"it{i}")
        df["arousal"] = arousal + 0.05 * rng.standard_normal(n)
        df["valence"] = valence + 0.05 * rng.standard_normal(n)
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def synth_sheet(n_items: int = 7) -> pd.DataFrame:
    roles = ["train"] * 4 + ["dev"] * 2 + ["test"] * (n_items - 6)
    ids = [f"it{i}" for i in range(n_items)]
    return pd.DataFrame({"fold": 0, "item_id": ids, "subject": ids, "role": roles})


@pytest.fixture(scope="module")
def frames() -> pd.DataFrame:
    return synth_frames()


def _split(frames: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = frames[frames["item_id"].isin(["it0", "it1", "it2", "it3"])]
    dev = frames[frames["item_id"].isin(["it4", "it5"])]
    return train, dev


# --------------------------------------------------------------------------- model and data


def test_model_shapes_and_parameter_count() -> None:
    model = BLSTMRegressor(5, hidden=8, layers=2, n_targets=3)
    out = model(torch.zeros(4, 17, 5))
    assert out.shape == (4, 17, 3)

    def lstm(inp: int, h: int) -> int:  # W_ih, W_hh, b_ih, b_hh for 4 gates, per direction
        return 2 * (4 * h * inp + 4 * h * h + 8 * h)

    want = lstm(5, 8) + lstm(16, 8) + (16 * 3 + 3)
    assert sum(p.numel() for p in model.parameters()) == want


def test_scaler_is_applied_inside_forward() -> None:
    torch.manual_seed(0)
    model = BLSTMRegressor(3, hidden=4, layers=1)
    x = torch.randn(2, 6, 3) * torch.tensor([10.0, 0.1, 1.0]) + torch.tensor([5.0, 0.0, -2.0])
    plain = model(x.clone())
    model.set_scaler(np.array([5.0, 0.0, -2.0]), np.array([10.0, 0.1, 1.0]))
    scaled_in = (x - torch.tensor([5.0, 0.0, -2.0])) / torch.tensor([10.0, 0.1, 1.0])
    torch.testing.assert_close(model(x), _unscaled_copy(model)(scaled_in))
    assert not torch.allclose(plain, model(x))


def _unscaled_copy(model: BLSTMRegressor) -> BLSTMRegressor:
    other = BLSTMRegressor(3, hidden=4, layers=1)
    other.load_state_dict(model.state_dict())
    other.set_scaler(np.zeros(3), np.ones(3))
    return other


@pytest.mark.parametrize(("n", "seq_len", "hop", "starts"), [
    (10, 4, 3, [0, 3, 6]), (11, 4, 3, [0, 3, 6, 7]), (4, 4, 2, [0]), (9, 3, 3, [0, 3, 6]),
])  # fmt: skip
def test_make_sequences_windows(n: int, seq_len: int, hop: int, starts: list[int]) -> None:
    rng = np.random.default_rng(1)
    table = pd.DataFrame({"item_id": "a", "time_s": np.arange(n) * 0.04,
                          "x": rng.normal(size=n), "y": rng.normal(size=n)})  # fmt: skip
    shuffled = table.sample(frac=1.0, random_state=0)  # rows out of time order
    X, Y, index = make_sequences(shuffled, ["x"], ["y"], items=["a"], seq_len=seq_len, hop=hop)
    assert X.shape == (len(starts), seq_len, 1) and Y.shape == (len(starts), seq_len, 1)
    assert index["start"].tolist() == starts and set(index["item_id"]) == {"a"}
    for w, s in enumerate(starts):
        np.testing.assert_array_equal(X[w, :, 0], table["x"].to_numpy(np.float32)[s : s + seq_len])
        np.testing.assert_array_equal(Y[w, :, 0], table["y"].to_numpy(np.float32)[s : s + seq_len])


def test_make_sequences_errors(frames: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="it0 has 240 frames"):
        make_sequences(frames, FEATS, ["arousal"], items=["it0"], seq_len=241, hop=1)
    with pytest.raises(ValueError, match="no rows for items"):
        make_sequences(frames, FEATS, ["arousal"], items=["nope"], seq_len=4, hop=1)
    with pytest.raises(ValueError, match="empty"):
        make_sequences(frames.iloc[:0], FEATS, ["arousal"], items=["it0"], seq_len=4, hop=1)


def test_fit_scaler_matches_numpy() -> None:
    x = np.random.default_rng(2).normal(3.0, 2.0, size=(50, 3))
    x[:, 2] = 7.0
    mean, std = fit_scaler(x)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    np.testing.assert_allclose(std[:2], np.sqrt(((x[:, :2] - x[:, :2].mean(0)) ** 2).mean(0)))
    assert std[2] == 1.0


# --------------------------------------------------------------------------- training


@pytest.mark.parametrize("loss", ["ccc", "mse"])
def test_training_beats_constant_predictor(frames: pd.DataFrame, loss: str) -> None:
    train, dev = _split(frames)
    model, history = _train(train, dev, loss=loss, epochs=8, device="cpu", **SMALL)
    pred = predict_recordings(model, dev)
    for t in ("arousal", "valence"):
        assert M.ccc(dev[t].to_numpy(), pred[t].to_numpy()) > 0.3
        const = M.ccc(dev[t].to_numpy(), np.full(len(dev), train[t].mean()))
        assert const == pytest.approx(0.0, abs=1e-12)
    assert history["best_dev_ccc"] == max(h["dev_ccc"] for h in history["epochs"])
    best = history["epochs"][history["best_epoch"] - 1]
    mean_ccc = np.mean(
        [M.ccc(dev[t].to_numpy(), pred[t].to_numpy()) for t in ("arousal", "valence")]
    )
    assert best["dev_ccc"] == pytest.approx(mean_ccc, abs=1e-9)  # returned model = best epoch


def test_partition_outputs_and_cpu_determinism(frames: pd.DataFrame) -> None:
    sheet = synth_sheet()
    kw = dict(loss="ccc", epochs=2, **SMALL)
    preds, params = _partition(frames, sheet, **kw)
    again, params2 = _partition(frames, sheet, **kw)
    pd.testing.assert_frame_equal(preds, again)  # bitwise: exact float equality
    assert params == params2
    assert list(preds.columns) == ["item_id", "time_s", "role", "target", "y_true", "y_pred"]
    assert len(preds) == 2 * 240 * 3  # 2 targets x 240 frames x (2 dev + 1 test) items
    summary = summarise_regression(preds, targets=("arousal", "valence"))
    assert set(summary.metrics) == {
        f"{t}.{r}.ccc" for t in ("arousal", "valence") for r in ("dev", "test")
    }
    assert set(summary.metric_variants) == set(summary.metrics)
    assert len(params["history"]) == 2 and params["best_epoch"] in (1, 2)
    rows = preds[(preds["role"] == "test") & (preds["target"] == "valence")]
    np.testing.assert_array_equal(rows["y_true"], frames.loc[frames["item_id"] == "it6", "valence"])
    assert summary.metrics["valence.test.ccc"] == M.ccc(rows["y_true"], rows["y_pred"])


def test_scaler_uses_training_frames_only(frames: pd.DataFrame) -> None:
    train, dev = _split(frames)
    model, _ = _train(train, dev, loss="mse", epochs=1, **SMALL)
    mean, std = fit_scaler(train[FEATS].to_numpy())
    np.testing.assert_allclose(model.feat_mean.numpy(), mean, rtol=1e-6)
    np.testing.assert_allclose(model.feat_std.numpy(), std, rtol=1e-6)
    # changing test features changes test predictions only: nothing is fitted on test
    sheet = synth_sheet()
    changed = frames.copy()
    test_rows = changed["item_id"] == "it6"
    changed.loc[test_rows, FEATS] = changed.loc[test_rows, FEATS] * 10.0 + 1e3
    kw = dict(loss="mse", epochs=1, **SMALL)
    preds, params = _partition(frames, sheet, **kw)
    preds2, params2 = _partition(changed, sheet, **kw)
    dev_rows = preds["role"] == "dev"
    pd.testing.assert_frame_equal(preds[dev_rows], preds2[dev_rows])
    assert params["history"] == params2["history"]
    assert not np.array_equal(preds.loc[~dev_rows, "y_pred"], preds2.loc[~dev_rows, "y_pred"])


class _Interrupt(Exception):
    pass


class _StopAfter(logging.Handler):
    def __init__(self, epoch: int) -> None:
        super().__init__()
        self.epoch = epoch

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(f"blstm epoch {self.epoch}/"):
            raise _Interrupt


def test_resume_after_interrupt_gives_identical_weights(frames: pd.DataFrame, tmp_path) -> None:
    train, dev = _split(frames)
    kw = {**SMALL, "loss": "ccc", "epochs": 3, "dropout": 0.3, "layers": 2}
    ref, ref_hist = _train(train, dev, **kw)
    ckpt = tmp_path / "blstm.pt"
    logger = logging.getLogger("emorepro")
    handler = _StopAfter(2)
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with pytest.raises(_Interrupt):
            _train(train, dev, checkpoint=ckpt, **kw)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert Checkpointer(ckpt).load()["epoch"] == 2
    random.random(), np.random.rand(), torch.rand(3)  # noqa: NPY002 (disturb global RNGs)
    resumed, hist = _train(train, dev, checkpoint=ckpt, **kw)
    assert hist == ref_hist
    for (k, a), (_, b) in zip(ref.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    with pytest.raises(ConfigError, match="other settings"):
        _train(train, dev, checkpoint=ckpt, **{**kw, "lr": 0.02})


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"loss": "mae"}, ConfigError, "loss must be one of"),
        ({"epochs": 0}, ConfigError, "epochs must be a positive int"),
        ({"lr": -1.0}, ConfigError, "lr must be > 0"),
        ({"train": "empty"}, ValueError, r"train_blstm\(train\): frame table is empty"),
        ({"dev": "empty"}, ValueError, r"train_blstm\(dev\): frame table is empty"),
        ({"train": "nan"}, ValueError, "NaN in columns"),
    ],
)
def test_bad_training_input_raises(frames: pd.DataFrame, change: dict, error, match: str) -> None:
    train, dev = _split(frames)
    if change.get("train") == "empty":
        train = train.iloc[:0]
    if change.get("dev") == "empty":
        dev = dev.iloc[:0]
    if change.get("train") == "nan":
        train = train.copy()
        train.loc[train.index[3], "f2"] = np.nan
    kw = {"loss": "ccc", "epochs": 1, **SMALL}
    kw.update({k: v for k, v in change.items() if k not in ("train", "dev")})
    with pytest.raises(error, match=match):
        _train(train, dev, **kw)


def test_partition_sheet_errors(frames: pd.DataFrame) -> None:
    sheet = synth_sheet()
    kw = dict(loss="ccc", epochs=1, **SMALL)
    with pytest.raises(ValueError, match="no 'test' items"):
        _partition(frames, sheet[sheet["role"] != "test"], **kw)
    with pytest.raises(ValueError, match="one fixed partition"):
        _partition(frames, pd.concat([sheet, sheet.assign(fold=1)]), **kw)
    with pytest.raises(ValueError, match=r"no frames for 1 sheet items, e.g. \['it3'\]"):
        _partition(frames[frames["item_id"] != "it3"], sheet, **kw)
    with pytest.raises(ValueError, match="duplicate"):
        _partition(pd.concat([frames, frames.iloc[:1]]), sheet, **kw)
    with pytest.raises(ValueError, match="non-numeric"):
        feature_columns(frames.assign(speaker="x"))


# --------------------------------------------------------------------------- runtime


def test_seed_everything_repeats_all_generators() -> None:
    def draw() -> tuple:
        return random.random(), float(np.random.rand()), torch.rand(2).tolist()  # noqa: NPY002

    seed_everything(11)
    first = draw()
    seed_everything(11)
    assert draw() == first
    assert torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ConfigError, match="seed"):
        seed_everything("11")  # type: ignore[arg-type]


def _draw_three() -> tuple:
    return random.gauss(0, 1), np.random.standard_normal(), torch.rand(3).tolist()  # noqa: NPY002


def test_rng_state_roundtrip_through_checkpoint(tmp_path) -> None:
    seed_everything(5)
    random.gauss(0, 1)  # leaves a cached gaussian in Python's state
    np.random.standard_normal()  # noqa: NPY002 (and in NumPy's legacy state)
    ckpt = Checkpointer(tmp_path / "sub" / "state.pt")
    assert ckpt.load() is None
    ckpt.save({"rng": get_rng_state(), "w": torch.arange(3.0)})
    after = _draw_three()
    loaded = ckpt.load()  # weights_only=True: fails if anything but tensors/plain data is stored
    set_rng_state(loaded["rng"])
    assert _draw_three() == after
    assert torch.equal(loaded["w"], torch.arange(3.0))
    assert [p.name for p in ckpt.path.parent.iterdir()] == ["state.pt"]  # no temp file left


def test_checkpoint_corrupt_file_names_path(tmp_path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CorruptInputError, match=r"bad\.pt.*delete the checkpoint"):
        Checkpointer(path).load()


def test_pick_device(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pick_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(runtime.torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        pick_device("cuda")
    with pytest.raises(ConfigError, match="unknown device"):
        pick_device("tpu")


def test_set_threads_validates() -> None:
    before = torch.get_num_threads()
    runtime.set_threads(1)
    assert torch.get_num_threads() == 1
    runtime.set_threads(before)
    with pytest.raises(ConfigError, match="positive int"):
        runtime.set_threads(0)


# --------------------------------------------------------------------------- openSMILE LLDs

SR = 16000


def _tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 180.0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(
        np.float32
    )


@pytest.mark.parametrize(("feature_set", "n_cols"), [("eGeMAPSv02", 25), ("ComParE_2016", 65)])
def test_llds_shape_and_10ms_frame_rate(feature_set: str, n_cols: int) -> None:
    out = llds(_tone(), SR, feature_set=feature_set, source="tone.wav")
    assert out.shape[1] == n_cols
    assert 94 <= len(out) <= 100  # 1 s at 10 ms, minus the last analysis window
    assert out.index.name == "time_s"
    np.testing.assert_allclose(out.index.to_numpy(), np.arange(len(out)) * 0.01, atol=1e-9)
    assert not out.isna().any().any()
    assert (out.dtypes == np.float64).all()
    if feature_set == "eGeMAPSv02":
        assert "Loudness_sma3" in out.columns
        f0 = out["F0semitoneFrom27.5Hz_sma3nz"].iloc[10:-10]
        # 180 Hz is 12 * log2(180 / 27.5) = 32.5 semitones above 27.5 Hz
        assert np.median(f0) == pytest.approx(12 * np.log2(180 / 27.5), abs=0.5)


@pytest.mark.parametrize("bad", [np.zeros(0, np.float32), np.full(SR, np.nan, np.float32)])
def test_llds_invalid_audio_names_source(bad: np.ndarray) -> None:
    with pytest.raises(CorruptInputError, match=r"clip_3\.wav"):
        llds(bad, SR, feature_set="eGeMAPSv02", source="clip_3.wav")
    with pytest.raises(ValueError, match="unknown feature_set"):
        llds(_tone(), SR, feature_set="GeMAPS")


def test_lld_at_label_rate_means_and_edge_fill() -> None:
    start = np.round(np.arange(10) * 0.01, 6)  # 0.00 .. 0.09
    values = np.arange(20, dtype=np.float64).reshape(10, 2)
    table = pd.DataFrame(values, index=pd.Index(start, name="time_s"), columns=["a", "b"])
    out = lld_at_label_rate(table, np.array([0.0, 0.04, 0.08, 0.12]))
    np.testing.assert_allclose(out[0], values[0:4].mean(0))  # frames at 0.00-0.03
    np.testing.assert_allclose(out[1], values[4:8].mean(0))  # 0.04-0.07
    np.testing.assert_allclose(out[2], values[8:10].mean(0))  # 0.08-0.09
    np.testing.assert_allclose(out[3], values[9])  # no frame: nearest (0.09, 0.03 s away)
    with pytest.raises(ValueError, match="run past the audio"):
        lld_at_label_rate(table, np.array([0.0, 0.04, 0.4]))
    with pytest.raises(ValueError, match="strictly increasing"):
        lld_at_label_rate(table, np.array([0.04, 0.0]))
    with pytest.raises(ValueError, match="empty"):
        lld_at_label_rate(table.iloc[:0], np.array([0.0]))


def test_lld_at_label_rate_on_real_llds() -> None:
    out = llds(_tone(), SR, feature_set="eGeMAPSv02")
    labels = np.round(np.arange(25) * 0.04, 6)  # 0.00 .. 0.96 s, the 40 ms label grid
    lab = lld_at_label_rate(out, labels)
    assert lab.shape == (25, 25)
    np.testing.assert_allclose(lab[3], out.iloc[12:16].mean().to_numpy())  # 0.12-0.15 s
    assert np.isfinite(lab).all()
