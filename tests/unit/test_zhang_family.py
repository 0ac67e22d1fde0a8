"""The Zhang et al. family through the generic experiment step on a micro RML twin:
grammar, inputs, settings, Anet/Vnet per fold with resumable fold features, fusion runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families import get_family
from emorepro.layout import Layout
from emorepro.plan import ResultKey, job_inputs
from emorepro.steps.data import fold_sheet_step, index_step
from emorepro.steps.experiment import JobParams, experiment_step
from emorepro.steps.features import CorpusFiles, face_crops_step, logmel_step
from emorepro.synth import generate_corpus

ROOT = Path(__file__).resolve().parents[2]
FAMILY = get_family("zhang2018")
SOURCE = {"source": "synthetic", "scale": "tiny", "seed": 3}


def _profile() -> dict:
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    profile = dict(cfg["families"]["zhang2018"]["profiles"]["tiny"])
    profile.update(audio_epochs=2, visual_epochs=1, fusion_epochs=2, rbm_epochs=1)
    return profile


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> dict[str, Path]:
    from emorepro.synth.layouts import rml

    micro = {**rml.SCALES["tiny"], "speakers": 3, "clips_per_emotion": 1, "duration_s": (0.9, 1.0)}
    monkeypatch_module.setitem(rml.SCALES, "tiny", micro)
    base = tmp_path_factory.mktemp("zhang")
    root = base / "rml"
    generate_corpus("rml", root, scale="tiny", seed=3)
    index_step("rml", root, base / "index.csv")
    fold_sheet_step(
        "rml",
        "loso",
        base / "index.csv",
        base / "loso.csv",
        base / "loso.json",
        seed=0,
        protocols={},
    )
    files = CorpusFiles("rml", root, base / "index.csv", base / "cache")
    logmel_step(files, base / "logmel.parquet", length=64)
    face_crops_step(files, base / "faces.parquet", kind="zhang")
    return {
        "base": base,
        "index": base / "index.csv",
        "sheet": base / "loso.csv",
        "meta": base / "loso.json",
        "logmel": base / "logmel.parquet",
        "faces": base / "faces.parquet",
        "cache": base / "cache",
    }


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _run(twin: dict[str, Path], name: str, settings: dict | None = None) -> dict:
    exp = FAMILY.parse(name)
    block = {
        "audio": {"weights": None, "sha256": None},
        "profile": "tiny",
        "visual": {"weights": None, "sha256": None},
        "profiles": {"tiny": _profile()},
    }
    settings = settings or FAMILY.settings(exp, block, {"scale": "tiny"})
    inputs = {
        "index": twin["index"],
        "sheet": twin["sheet"],
        "sheet_meta": twin["meta"],
        "logmel": twin["logmel"],
        "faces": twin["faces"],
    }
    if exp.spec.modality == "fusion":
        for source in ("anet", "vnet"):
            inputs[source] = twin["base"] / "runs" / source / "metrics.json"
    out = twin["base"] / "runs" / name
    params = JobParams(
        settings,
        {"device": "cpu", "torch_threads": 1},
        SOURCE,
        str(out / "ck.pt"),
        str(twin["cache"]),
    )
    return experiment_step(ResultKey("zhang2018", name, "rml", "loso"), inputs, params, out)


def test_grammar_inputs_and_settings() -> None:
    fusion = ResultKey("zhang2018", "fusion_dbn2", "rml", "loso")
    inputs = job_inputs(fusion, Layout("r"), "root")
    assert inputs["anet"] == "r/experiments/zhang2018/anet/rml/loso/metrics.json"
    assert "faces" not in inputs and "logmel" not in inputs
    vnet = job_inputs(ResultKey("zhang2018", "vnet", "baum1s", "logso"), Layout("r"), "root")
    assert vnet["faces"].endswith("baum1s/faces_zhang.parquet")
    assert vnet["logmel"].endswith("baum1s/logmel_64x64.parquet")
    short = job_inputs(ResultKey("zhang2018", "anet_mel64x15", "rml", "loso"), Layout("r"), "x")
    assert short["logmel"].endswith("logmel_64x15.parquet")
    with pytest.raises(ConfigError, match="unknown"):
        FAMILY.parse("fusion_dbn4")


def test_unimodal_runs_keep_resumable_fold_features(twin) -> None:
    anet = _run(twin, "anet")
    assert anet["metrics"]["n_folds"] == 3 and anet["labels"][0] == "anger"
    assert anet["files"] == ["folds/0.npz", "folds/1.npz", "folds/2.npz"]
    curves = anet["params"]["history"]  # per-fold loss per epoch, for MLflow
    assert [e["epoch"] for e in curves] == [1, 2]
    assert set(curves[0]) == {"epoch", "fold0.train_loss", "fold1.train_loss", "fold2.train_loss"}
    assert {f"confusion.anger.{c}" for c in anet["labels"]} <= set(anet["metrics"])
    fold0 = twin["base"] / "runs/anet/folds/0.npz"
    stamp = fold0.stat().st_mtime_ns
    assert _run(twin, "anet")["metrics"] == anet["metrics"]  # same seed, same numbers ...
    assert fold0.stat().st_mtime_ns == stamp  # ... from the finished folds, not retrained
    changed = dict(anet["settings"], audio_epochs=1)
    _run(twin, "anet", settings=changed)
    assert fold0.stat().st_mtime_ns != stamp  # other settings: the fold is trained again
    _run(twin, "anet")  # back to the profile's settings for the fusion tests
    vnet = _run(twin, "vnet")
    assert vnet["params"]["init"].startswith("random initialisation (no C3D Sports-1M")
    with np.load(twin["base"] / "runs/vnet/folds/1.npz") as f:
        assert f["features"].shape[1] == 64  # tiny C3D fc7


def test_fusion_runs_read_the_fold_features(twin) -> None:
    results = {}
    for name in (
        "decision_product",
        "fusion_score_level",
        "fusion_feature_level",
        "fusion_fc1",
        "fusion_dbn1",
    ):
        result = results[name] = _run(twin, name)
        assert result["metrics"]["n_items"] == 18, name
        assert result["params"]["sources"] == "anet, vnet (same fold)"
    kept = twin["base"] / "runs/fusion_fc1/folds/1.npz"
    stamp = kept.stat().st_mtime_ns
    again = _run(twin, "fusion_fc1")  # a rerun keeps the finished fusion folds
    assert kept.stat().st_mtime_ns == stamp
    assert again["metrics"] == results["fusion_fc1"]["metrics"]
    assert len(again["params"]["history"]) == 2  # fusion_epochs
    path = twin["base"] / "runs/vnet/folds/2.npz"
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["seg_items"] = arrays["seg_items"][::-1]
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)
    with pytest.raises(CorruptInputError, match="do not align"):
        _run(twin, "decision_max")


def test_settings_change_with_the_modality_only() -> None:
    profile = _profile()
    block = {
        "audio": {"weights": None, "sha256": None},
        "profile": "tiny",
        "visual": {"weights": None, "sha256": None},
        "profiles": {"tiny": profile},
    }
    audio = FAMILY.settings(FAMILY.parse("anet"), block, {"scale": "tiny"})
    fusion = FAMILY.settings(FAMILY.parse("fusion_dbn1"), block, {"scale": "tiny"})
    assert "visual_epochs" not in audio and "audio_epochs" not in fusion
    assert audio["audio_weights"] is None and fusion["fusion_hidden"] == profile["fusion_hidden"]
    assert json.dumps(audio)  # JSON-ready: Snakemake params and the result's settings
