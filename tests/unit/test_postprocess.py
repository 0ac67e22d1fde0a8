"""postprocess.py: every step against a NumPy reference, the search on synthetic lags, the table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from emorepro.errors import ConfigError
from emorepro.families import grids
from emorepro.metrics import ccc_partition
from emorepro.postprocess import (
    STEPS,
    Grid,
    Params,
    _shift_scores,
    apply,
    centring_step,
    fit,
    median_step,
    postprocess_table,
    scaling_step,
    shift_step,
    window_frames,
)

LAG = 50  # 2 s at 40 ms


def smooth(rng: np.random.Generator, n: int, tau: float = 40.0) -> np.ndarray:
    a = np.exp(-1.0 / tau)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    e = rng.standard_normal(n) * np.sqrt(1 - a * a)
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    return x


def lagged_partition(rng, n_rec=4, n=1500, noise=0.3):
    """Gold = prediction delayed by LAG frames + noise; the prediction is biased and squashed."""
    trues, preds = [], []
    for _ in range(n_rec):
        lat = smooth(rng, n + LAG)
        trues.append(0.3 * lat[:n] + 0.05 * rng.standard_normal(n) + 0.1)
        preds.append(0.1 * (lat[LAG:] + noise * rng.standard_normal(n)) - 0.2)
    return trues, preds


def long_table(parts: dict[str, tuple[list, list]], target: str = "arousal") -> pd.DataFrame:
    rows = []
    for role, (trues, preds) in parts.items():
        for i, (t, p) in enumerate(zip(trues, preds, strict=True)):
            rows.append(
                pd.DataFrame(
                    {
                        "item_id": f"{role}_{i}",
                        "time_s": np.arange(t.size) * 0.04,
                        "role": role,
                        "target": target,
                        "y_true": t,
                        "y_pred": p,
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------- grids and frame conversion

GRIDS = grids()  # every family's grids (the registry)


def test_grids_sizes_and_values() -> None:
    han = GRIDS["han2018"]
    assert han.median_windows_s == (0.12, 0.2, 0.28, 0.36, 0.44)
    assert len(han.shifts_s) == 15 and han.shifts_s[0] == 0.04 and han.shifts_s[-1] == 0.6
    assert np.allclose(np.diff(han.shifts_s), 0.04)
    assert han.label_shift_s == 2.4 and han.frame_s == 0.04 and han.n_points == 5 + 2 + 15
    tz = GRIDS["tzirakis2017"]
    assert tz.median_windows_s[0] == 0.4 and tz.median_windows_s[-1] == 20.0
    assert tz.shifts_s[0] == 0.04 and tz.shifts_s[-1] == 10.0
    assert len(tz.median_windows_s) == 50 and len(tz.shifts_s) == 250
    assert tz.label_shift_s == 0.0
    assert len(set(tz.shifts_s)) == len(tz.shifts_s)


@pytest.mark.parametrize(
    ("window_s", "frames"),
    [(0.04, 1), (0.12, 3), (0.2, 5), (0.28, 7), (0.36, 9), (0.44, 11), (0.4, 11), (20.0, 501)],
)
def test_window_frames(window_s: float, frames: int) -> None:
    assert window_frames(window_s) == frames


def test_grid_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="shifts_s must be >= half a frame"):
        Grid("x", (0.4,), (0.0,))
    with pytest.raises(ValueError, match="frame_s must be > 0"):
        Grid("x", (0.4,), (0.04,), frame_s=0.0)
    with pytest.raises(ValueError, match="shorter than one frame"):
        window_frames(0.01)


# ---------------------------------------------------------------- the four steps


@pytest.mark.parametrize("frames", [1, 3, 11, 41])
def test_median_step_reference(frames: int) -> None:
    rng = np.random.default_rng(frames)
    preds = [rng.standard_normal(n) for n in (200, 37, 5)]
    h = frames // 2
    ref = [np.median(sliding_window_view(np.pad(p, h, mode="edge"), frames), axis=1) for p in preds]
    for got, exp in zip(median_step(preds, frames), ref, strict=True):
        np.testing.assert_allclose(got, exp, rtol=0, atol=0)


def test_median_even_window_rejected() -> None:
    with pytest.raises(ValueError, match="odd"):
        median_step([np.zeros(5)], 4)


def test_centring_and_scaling_reference() -> None:
    rng = np.random.default_rng(1)
    preds = [rng.normal(0.3, 2.0, 100), rng.normal(-0.1, 1.0, 60)]
    pooled = np.concatenate(preds)
    cen = centring_step(preds, 0.05)
    for got, p in zip(cen, preds, strict=True):
        np.testing.assert_allclose(got, p + (0.05 - pooled.mean()), rtol=1e-12)
    assert np.concatenate(cen).mean() == pytest.approx(0.05)
    sca = scaling_step(preds, 0.2)
    m, s = pooled.mean(), pooled.std(ddof=0)
    for got, p in zip(sca, preds, strict=True):
        np.testing.assert_allclose(got, m + (p - m) * 0.2 / s, rtol=1e-12)
    assert np.concatenate(sca).std() == pytest.approx(0.2)
    assert np.concatenate(sca).mean() == pytest.approx(m)
    const = scaling_step([np.full(4, 2.0)], 0.2)
    np.testing.assert_array_equal(const[0], np.full(4, 2.0))


@pytest.mark.parametrize("k", [0, 1, 3, 9, 10, 25])
def test_shift_step_reference_and_boundaries(k: int) -> None:
    a, b = np.arange(10.0), 100.0 + np.arange(6.0)
    got_a, got_b = shift_step([a, b], k)
    for got, p in ((got_a, a), (got_b, b)):
        ref = np.array([p[max(t - k, 0)] for t in range(p.size)])  # p'[t] = p[t-k], edge-padded
        np.testing.assert_array_equal(got, ref)
    # the second recording never receives values of the first one
    assert (got_b >= 100.0).all() and (got_a < 100.0).all()


@pytest.mark.parametrize("ks", [[1, 2, 5, 50], [7, 400, 2000]])
def test_shift_scores_match_exact_ccc(ks: list[int]) -> None:
    rng = np.random.default_rng(3)
    trues, preds = lagged_partition(rng, n_rec=3, n=600)
    preds.append(rng.standard_normal(300))  # a short recording: k beyond its length
    trues.append(rng.standard_normal(300))
    fast = _shift_scores(trues, preds, ks)
    exact = [ccc_partition(trues, shift_step(preds, k)) for k in ks]
    np.testing.assert_allclose(fast, exact, rtol=1e-9, atol=1e-12)


def test_apply_composes_steps_in_order() -> None:
    rng = np.random.default_rng(4)
    preds = [rng.standard_normal(300), rng.standard_normal(200)]
    params = Params(0.2, True, True, 0.12, train_mean=0.5, train_std=0.3)
    ref = shift_step(scaling_step(centring_step(median_step(preds, 5), 0.5), 0.3), 3)
    for got, exp in zip(apply(preds, params), ref, strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-12)
    shift_first = Params(
        0.2, True, True, 0.12, 0.5, 0.3, order=["shift", "median", "centring", "scaling"]
    )
    ref2 = scaling_step(centring_step(median_step(shift_step(preds, 3), 5), 0.5), 0.3)
    for got, exp in zip(apply(preds, shift_first), ref2, strict=True):
        np.testing.assert_allclose(got, exp, rtol=1e-12)
    untouched = apply(preds, Params(None, False, False, None, 0.0, 1.0))
    for got, p in zip(untouched, preds, strict=True):
        np.testing.assert_array_equal(got, p)


# ---------------------------------------------------------------- the search


SHORT_WINDOWS = Grid("short", GRIDS["han2018"].median_windows_s, GRIDS["tzirakis2017"].shifts_s)


@pytest.mark.parametrize(
    ("grid", "order"),
    [
        (SHORT_WINDOWS, STEPS),
        (GRIDS["tzirakis2017"], ("shift", "median", "centring", "scaling")),
    ],
)
def test_fit_finds_two_second_lag_and_improves_test(grid: Grid, order) -> None:
    rng = np.random.default_rng(2016)
    dev = lagged_partition(rng)
    test = lagged_partition(rng)
    table = long_table({"dev": dev, "test": test})
    out, res = postprocess_table(
        table, grid=grid, train_reference={"arousal": (0.1, 0.3)}, order=order
    )
    p = res["params"]["arousal"]
    assert p["shift_s"] == pytest.approx(2.0, abs=0.04 + 1e-9)
    assert p["centring"] and p["scaling"] and p["order"] == list(order)
    for role in ("dev", "test"):
        key = f"arousal.{role}.ccc"
        assert res["metrics"][key] > res["metrics_raw"][key] + 0.2
    # the dev score recorded by fit equals the score of apply on dev
    assert res["metrics"]["arousal.dev.ccc"] == pytest.approx(p["trace"][-1]["dev_ccc"], rel=1e-12)
    devccc = [s["dev_ccc"] for s in p["trace"]]
    assert devccc == sorted(devccc)  # greedy: never worse after a step
    assert [s["step"] for s in p["trace"]] == ["raw", *order]
    assert res["metric_variants"]["arousal.test.ccc"] == (
        "ccc[pooled over partition, population moments (ddof=0)], post-processed "
        f"(grid {grid.name})"
    )
    np.testing.assert_array_equal(out["y_pred_raw"].to_numpy(), table["y_pred"].to_numpy())
    assert list(out.columns) == [*table.columns, "y_pred_raw"]


def test_default_order_full_tzirakis_grid() -> None:
    """Median first on unaligned predictions keeps a multi-second window (documented caveat);
    the shift is still found near 2 s and both partitions improve."""
    rng = np.random.default_rng(2016)
    dev, test = lagged_partition(rng), lagged_partition(rng)
    params = fit(*dev, grid=GRIDS["tzirakis2017"], train_mean=0.1, train_std=0.3)
    assert params.order == list(STEPS)
    assert params.median_window_s is not None and params.median_window_s >= 2.0
    assert params.shift_s == pytest.approx(2.0, abs=0.2)
    assert ccc_partition(test[0], apply(test[1], params)) > ccc_partition(*test) + 0.2
    shift_first = fit(
        *dev,
        grid=GRIDS["tzirakis2017"],
        train_mean=0.1,
        train_std=0.3,
        order=("shift", "median", "centring", "scaling"),
    )
    assert shift_first.trace[-1]["dev_ccc"] > params.trace[-1]["dev_ccc"]


def test_fit_rejects_every_step_when_nothing_helps() -> None:
    rng = np.random.default_rng(5)
    dev_t = [rng.standard_normal(400) for _ in range(3)]
    test_t = [rng.standard_normal(400) for _ in range(3)]
    pooled = np.concatenate(dev_t)
    ref = (float(pooled.mean()), float(pooled.std()))
    params = fit(dev_t, dev_t, grid=GRIDS["han2018"], train_mean=ref[0], train_std=ref[1])
    assert (params.median_window_s, params.centring, params.scaling, params.shift_s) == (
        None,
        False,
        False,
        None,
    )
    assert not any(s["kept"] for s in params.trace[1:])
    assert all(s["dev_ccc"] == pytest.approx(1.0) for s in params.trace)
    test_p = [t + 0.3 * rng.standard_normal(t.size) for t in test_t]
    for got, p in zip(apply(test_p, params), test_p, strict=True):
        np.testing.assert_array_equal(got, p)
    table = long_table({"dev": (dev_t, dev_t), "test": (test_t, test_p)})
    out, _ = postprocess_table(table, grid=GRIDS["han2018"], train_reference={"arousal": ref})
    np.testing.assert_array_equal(out["y_pred"].to_numpy(), out["y_pred_raw"].to_numpy())


def test_test_predictions_do_not_influence_params() -> None:
    rng = np.random.default_rng(11)
    dev, test = lagged_partition(rng, n=800), lagged_partition(rng, n=800)
    table = long_table({"dev": dev, "test": test})
    grid, ref = GRIDS["han2018"], {"arousal": (0.1, 0.3)}
    _, res_a = postprocess_table(table, grid=grid, train_reference=ref)
    perturbed = table.copy()
    is_test = perturbed["role"] == "test"
    perturbed.loc[is_test, "y_pred"] = rng.standard_normal(int(is_test.sum())) * 5
    perturbed.loc[is_test, "y_true"] = 0.0
    _, res_b = postprocess_table(perturbed, grid=grid, train_reference=ref)
    assert res_a["params"] == res_b["params"]
    assert res_a["metrics"]["arousal.dev.ccc"] == res_b["metrics"]["arousal.dev.ccc"]


def test_table_row_order_and_targets() -> None:
    rng = np.random.default_rng(12)
    parts = {"dev": lagged_partition(rng, n=500), "test": lagged_partition(rng, n=500)}
    table = pd.concat(
        [
            long_table(parts, "arousal"),
            long_table(parts, "valence"),
            long_table({"train": parts["dev"]}, "arousal"),
        ],
        ignore_index=True,
    )
    ref = {"arousal": (0.1, 0.3), "valence": (0.0, 0.2)}
    out, res = postprocess_table(table, grid=GRIDS["han2018"], train_reference=ref)
    shuffled = table.sample(frac=1.0, random_state=0)
    out_s, res_s = postprocess_table(shuffled, grid=GRIDS["han2018"], train_reference=ref)
    assert res_s["metrics"] == pytest.approx(res["metrics"])
    pd.testing.assert_series_equal(out_s["y_pred"].sort_index(), out["y_pred"])
    assert set(res["metrics"]) == {f"{t}.{r}.ccc" for t in ref for r in ("dev", "test")}
    assert set(res["params"]) == {"arousal", "valence"}
    train_rows = out["role"] == "train"
    np.testing.assert_array_equal(out.loc[train_rows, "y_pred"], out.loc[train_rows, "y_pred_raw"])
    # per target, the table's dev predictions equal apply() on that target's recordings
    params = Params.from_dict(res["params"]["valence"])
    exp = np.concatenate(apply(parts["dev"][1], params))
    sel = (out["target"] == "valence") & (out["role"] == "dev")
    np.testing.assert_allclose(out.loc[sel, "y_pred"].to_numpy(), exp, rtol=1e-12)


def test_params_roundtrip_json() -> None:
    rng = np.random.default_rng(13)
    t, p = lagged_partition(rng, n_rec=2, n=300)
    params = fit(t, p, grid=GRIDS["han2018"], train_mean=0.1, train_std=0.3)
    d = json.loads(json.dumps(params.to_dict()))
    assert Params.from_dict(d) == params
    assert d["grid"] == "han2018" and d["train_std"] == 0.3


@pytest.mark.parametrize(
    ("trues", "preds", "kw", "match"),
    [
        ([np.zeros(5)], [np.zeros(4)], {}, "recording 0 has 5 gold vs 4 predicted"),
        ([np.zeros(5)], [], {}, "no recordings"),
        ([np.arange(5.0)], [np.array([0, 1, np.nan, 3, 4])], {}, "NaN/inf predictions"),
        ([np.arange(5.0)], [np.arange(5.0)], {"train_std": 0.0}, "train_std > 0"),
        ([np.arange(5.0)], [np.arange(5.0)], {"order": ("median", "shift")}, "permutation"),
    ],
)
def test_fit_invalid_input(trues, preds, kw, match) -> None:
    args = {"train_mean": 0.0, "train_std": 1.0, **kw}
    with pytest.raises(ValueError, match=match):
        fit(trues, preds, grid=GRIDS["han2018"], **args)


def test_table_invalid_input() -> None:
    rng = np.random.default_rng(14)
    table = long_table({"dev": lagged_partition(rng, n_rec=2, n=200)})
    with pytest.raises(ConfigError, match="no \\(mean, std\\) for target 'arousal'"):
        postprocess_table(table, grid=GRIDS["han2018"], train_reference={"valence": (0, 1)})
    with pytest.raises(ValueError, match=r"lacks columns \['y_true'\]"):
        postprocess_table(
            table.drop(columns="y_true"), grid=GRIDS["han2018"], train_reference={"arousal": (0, 1)}
        )
    only_test = table.assign(role="test")
    with pytest.raises(ValueError, match="no role == 'dev' rows"):
        postprocess_table(only_test, grid=GRIDS["han2018"], train_reference={"arousal": (0, 1)})
    dup = pd.concat([table, table.iloc[:1]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicated time_s"):
        postprocess_table(dup, grid=GRIDS["han2018"], train_reference={"arousal": (0, 1)})
    out, _ = postprocess_table(table, grid=GRIDS["han2018"], train_reference={"arousal": (0, 1)})
    with pytest.raises(ValueError, match="already post-processed"):
        postprocess_table(out, grid=GRIDS["han2018"], train_reference={"arousal": (0, 1)})
