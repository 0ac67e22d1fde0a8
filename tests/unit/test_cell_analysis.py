"""Fig. 2 cell analysis (Tzirakis et al. 2017): Pearson r, unit selection, feature pairing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emorepro.errors import EmoreproError
from emorepro.families.tzirakis2017.cells import (
    FIG2_FEATURES,
    MissingFeatureColumnError,
    cell_feature_correlations,
    fig2_figure,
    pearson,
    top_units,
)

T, H = 400, 32


def _scipy_r(x: np.ndarray, y: np.ndarray) -> float:
    m = np.isfinite(x) & np.isfinite(y)
    return float(stats.pearsonr(x[m], y[m]).statistic)


# --------------------------------------------------------------------------- pearson


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pearson_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(200)
    y = 0.5 * x + rng.standard_normal(200)
    assert pearson(x, y) == pytest.approx(_scipy_r(x, y), abs=1e-12)


def test_pearson_ignores_nan_pairs() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100)
    y = x + rng.standard_normal(100)
    x[[3, 10, 50]] = np.nan
    y[[10, 70]] = np.nan
    expected = _scipy_r(x, y)
    assert pearson(x, y) == pytest.approx(expected, abs=1e-12)
    keep = ~np.isin(np.arange(100), [3, 10, 50, 70])
    assert expected == pytest.approx(stats.pearsonr(x[keep], y[keep]).statistic, abs=1e-12)


@pytest.mark.parametrize(
    ("x", "y"),
    [
        ([1.0, 2.0], [2.0, 1.0]),  # fewer than 3 pairs
        ([1.0, 2.0, np.nan, 4.0], [1.0, 3.0, 2.0, np.nan]),  # only 2 finite pairs
        ([2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]),  # x constant
        ([1.0, 2.0, 3.0, 4.0], [0.1, 0.1, 0.1, 0.1]),  # y constant
        ([1.0, 2.0, 3.0, np.nan], [5.0, 5.0, 5.0, 1.0]),  # constant over the finite pairs
        ([], []),
    ],
)
def test_pearson_degenerate_is_nan(x: list[float], y: list[float]) -> None:
    assert math.isnan(pearson(np.array(x), np.array(y)))


def test_pearson_length_mismatch_names_both_lengths() -> None:
    with pytest.raises(ValueError, match=r"5.*7"):
        pearson(np.zeros(5), np.zeros(7))


def test_pearson_perfect_and_bounded() -> None:
    x = np.linspace(0, 1, 50)
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert pearson(x, -x) == pytest.approx(-1.0)
    assert -1.0 <= pearson(x, -x) <= 1.0


# --------------------------------------------------------------------------- top_units


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise units plus planted ones: 7 = gold + little noise, 2 = -gold + some, 20 weaker."""
    rng = np.random.default_rng(seed)
    gold = np.cumsum(rng.standard_normal(T))
    gold = (gold - gold.mean()) / gold.std()
    hidden = rng.standard_normal((T, H))
    hidden[:, 7] = gold + 0.1 * rng.standard_normal(T)
    hidden[:, 2] = -gold + 0.4 * rng.standard_normal(T)
    hidden[:, 20] = gold + 1.0 * rng.standard_normal(T)
    return hidden, gold


def test_top_units_picks_planted_by_abs_r() -> None:
    hidden, gold = _planted()
    top = top_units(hidden, gold, k=3)
    assert [j for j, _ in top] == [7, 2, 20]
    for j, r in top:
        assert r == pytest.approx(_scipy_r(hidden[:, j], gold), abs=1e-12)
    assert top[1][1] < 0  # the negatively correlated unit keeps its sign


def test_top_units_matches_brute_force_ranking() -> None:
    hidden, gold = _planted(5)
    rs = np.array([_scipy_r(hidden[:, j], gold) for j in range(H)])
    expected = list(np.argsort(-np.abs(rs), kind="stable")[:5])
    assert [j for j, _ in top_units(hidden, gold, k=5)] == expected


def test_top_units_ties_broken_by_lower_index() -> None:
    hidden, gold = _planted()
    hidden[:, 15] = hidden[:, 7]
    hidden[:, 4] = hidden[:, 7]
    top = top_units(hidden, gold, k=4)
    assert [j for j, _ in top] == [4, 7, 15, 2]


def test_top_units_skips_constant_units_and_nan_frames() -> None:
    hidden, gold = _planted()
    hidden[:, 0] = 1.0
    hidden[:, 1] = 0.0
    gold = gold.copy()
    gold[:10] = np.nan
    top = top_units(hidden, gold, k=H - 2)
    chosen = [j for j, _ in top]
    assert 0 not in chosen and 1 not in chosen
    assert all(np.isfinite(r) for _, r in top)


def test_top_units_too_few_usable_units() -> None:
    hidden = np.ones((T, 4))
    hidden[:, 1] = np.arange(T)
    gold = np.sin(np.arange(T) / 10)
    with pytest.raises(ValueError, match=r"only 1 of 4 units"):
        top_units(hidden, gold, k=2)


@pytest.mark.parametrize(
    ("hidden_shape", "gold_shape"),
    [((T, H), (T - 1,)), ((T,), (T,)), ((T, H), (T, 1))],
)
def test_top_units_shape_mismatch_names_shapes(
    hidden_shape: tuple[int, ...], gold_shape: tuple[int, ...]
) -> None:
    with pytest.raises(ValueError, match=r"hidden \(.*\) and gold \("):
        top_units(np.zeros(hidden_shape), np.zeros(gold_shape))


def test_top_units_rejects_bad_k() -> None:
    hidden, gold = _planted()
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_units(hidden, gold, k=0)


# --------------------------------------------------------------------------- analysis


def _planted_features(seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Units 7, 2, 20 are the top-3 gold units; each drives one feature.

    Features carry a component private to their unit (independent of gold), so the planted
    unit is the best of the three for its feature. Mean F0 follows -unit 2 (negative signed r).
    """
    rng = np.random.default_rng(seed)
    gold = rng.standard_normal(T)
    priv = rng.standard_normal((T, 3))
    hidden = rng.standard_normal((T, H))
    hidden[:, 7] = gold + 0.6 * priv[:, 0]
    hidden[:, 2] = -gold + 0.8 * priv[:, 1]
    hidden[:, 20] = gold + 1.0 * priv[:, 2]
    noise = 0.3 * rng.standard_normal((T, 3))
    feats = pd.DataFrame(
        {
            FIG2_FEATURES["range_rms_energy"]: 2.0 * priv[:, 0] + noise[:, 0] + 5.0,
            FIG2_FEATURES["loudness"]: priv[:, 2] + noise[:, 1],
            FIG2_FEATURES["mean_f0"]: 150.0 - 20.0 * priv[:, 1] + 10 * noise[:, 2],
            "other": rng.standard_normal(T),
        },
        index=pd.RangeIndex(1000, 1000 + T),  # index is ignored: rows align by position
    )
    feats.iloc[[5, 6, 7], 2] = np.nan  # unvoiced windows
    return hidden, gold, feats


def test_cell_feature_correlations_planted() -> None:
    hidden, gold, feats = _planted_features()
    out = cell_feature_correlations(hidden, gold, feats)
    assert [u["unit"] for u in out["units"]] == [7, 2, 20]
    expected_unit = {"range_rms_energy": 7, "mean_f0": 2, "loudness": 20}
    for key, column in FIG2_FEATURES.items():
        entry = out["features"][key]
        assert entry["column"] == column
        assert entry["unit"] == expected_unit[key]
        rs = {j: _scipy_r(hidden[:, j], feats[column].to_numpy()) for j in (7, 2, 20)}
        best = max(rs, key=lambda j: abs(rs[j]))
        assert best == expected_unit[key]
        assert entry["signed_r"] == pytest.approx(rs[best], abs=1e-12)
        assert entry["pcc"] == pytest.approx(abs(rs[best]), abs=1e-12)
        assert out["metrics"][f"{key}.pcc"] == entry["pcc"]
        assert [d["unit"] for d in entry["r_units"]] == [7, 2, 20]
        for d in entry["r_units"]:
            assert d["r"] == pytest.approx(rs[d["unit"]], abs=1e-12)
    assert out["features"]["mean_f0"]["signed_r"] < 0 < out["features"]["mean_f0"]["pcc"]
    assert set(out["metrics"]) == {"range_rms_energy.pcc", "loudness.pcc", "mean_f0.pcc"}
    assert list(out["features"]) == ["range_rms_energy", "loudness", "mean_f0"]
    assert out["n_frames"] == T and out["k"] == 3
    json.dumps(out, allow_nan=False)  # strictly JSON-able


def test_cell_feature_correlations_constant_feature_is_null() -> None:
    hidden, gold, feats = _planted_features()
    feats[FIG2_FEATURES["loudness"]] = 1.0
    out = cell_feature_correlations(hidden, gold, feats)
    entry = out["features"]["loudness"]
    assert entry["unit"] is None and entry["pcc"] is None and entry["signed_r"] is None
    assert out["metrics"]["loudness.pcc"] is None
    json.dumps(out, allow_nan=False)


def test_cell_feature_correlations_custom_map_and_k() -> None:
    hidden, gold, feats = _planted_features()
    out = cell_feature_correlations(hidden, gold, feats, k=1, feature_map={"x": "other"})
    assert [u["unit"] for u in out["units"]] == [7]
    assert out["features"]["x"]["unit"] == 7
    assert set(out["metrics"]) == {"x.pcc"}


def test_missing_column_error_names_column() -> None:
    hidden, gold, feats = _planted_features()
    feats = feats.drop(columns=[FIG2_FEATURES["loudness"]])
    with pytest.raises(KeyError) as info:
        cell_feature_correlations(hidden, gold, feats)
    err = info.value
    assert isinstance(err, MissingFeatureColumnError) and isinstance(err, EmoreproError)
    msg = str(err)
    assert "audspec_lengthL1norm_sma_amean" in msg and "'loudness'" in msg
    assert "pcm_RMSenergy_sma_range" in msg  # lists available columns
    assert not msg.startswith('"')  # not KeyError's quoted repr


def test_row_count_mismatch() -> None:
    hidden, gold, feats = _planted_features()
    with pytest.raises(ValueError, match=r"features has 399 rows"):
        cell_feature_correlations(hidden, gold, feats.iloc[1:])


# --------------------------------------------------------------------------- names, figure


def test_fig2_features_are_compare_2016_functionals() -> None:
    opensmile = pytest.importorskip("opensmile")
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.ComParE_2016,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    names = set(smile.feature_names)
    assert list(FIG2_FEATURES) == ["range_rms_energy", "loudness", "mean_f0"]
    for column in FIG2_FEATURES.values():
        assert column in names, column


def test_fig2_figure_writes_png(tmp_path: Path) -> None:
    hidden, gold, feats = _planted_features()
    analysis = cell_feature_correlations(hidden, gold, feats)
    out = tmp_path / "sub" / "fig2.png"
    got = fig2_figure(out, np.arange(T) * 0.04, hidden, feats, analysis, title="test")
    assert got == out
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    assert [p.name for p in out.parent.iterdir()] == ["fig2.png"]  # no temp file left


def test_fig2_figure_bad_time_axis_leaves_nothing(tmp_path: Path) -> None:
    hidden, gold, feats = _planted_features()
    analysis = cell_feature_correlations(hidden, gold, feats)
    out = tmp_path / "fig2.png"
    with pytest.raises(ValueError, match="time_s"):
        fig2_figure(out, np.arange(T - 1) * 0.04, hidden, feats, analysis)
    assert not out.exists()


def test_fig2_reads_one_recording_and_its_columns(tmp_path: Path) -> None:
    """Fig. 2 reads only the analysed recording's rows (sorted by time) and the Fig. 2
    columns of the corpus-wide windowed table; a frame-count mismatch or an unreadable file
    is named."""
    from emorepro.errors import CorruptInputError
    from emorepro.families.tzirakis2017.fig2 import _features_of

    rng = np.random.default_rng(0)
    rows = []
    for item, n in (("b", 5), ("a", 4)):
        for t in rng.permutation(n):
            row = {"item_id": item, "time_s": t * 0.04, "other_feature": rng.normal()}
            row.update({c: rng.normal() for c in FIG2_FEATURES.values()})
            rows.append(row)
    table = pd.DataFrame(rows)
    path = tmp_path / "ComParE_2016_windowed.parquet"
    table.to_parquet(path, row_group_size=3)
    got = _features_of(path, "a", 4)
    want = table[table["item_id"] == "a"].sort_values("time_s").reset_index(drop=True)
    assert list(got.columns) == ["item_id", "time_s", *FIG2_FEATURES.values()]
    pd.testing.assert_frame_equal(got, want[got.columns.tolist()])
    with pytest.raises(CorruptInputError, match="4 frames for a but 9 label frames"):
        _features_of(path, "a", 9)
    with pytest.raises(CorruptInputError, match="no rows for c"):
        _features_of(path, "c", 4)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(CorruptInputError, match=r"bad\.parquet: not a readable parquet file"):
        _features_of(bad, "a", 4)
