"""End-to-end steps of Tzirakis et al. on a 4-recording AVEC 2016 twin: experiment names,
settings, the speech/visual/multimodal runs, model files, initialisation, frozen CNNs, Fig. 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emorepro import endtoend as E
from emorepro.corpora.index import write_index
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.features.landmark_frames import landmark_frames_step
from emorepro.pipeline import face_crops_step, index_step, landmark_model_step
from emorepro.synth import generate_corpus

PROFILE = {
    "steps": 50,
    "epochs": 1,
    "ablation_epochs": 3,
    "lr": 0.003,
    "batch_size": 8,
    "n_filters_1": {"000": 4, "001": 2},
    "n_filters_2": 10,
    "kernel_2_s": 0.005,
    "channel_pool": 5,
    "hidden": 8,
    "layers": 1,
    "visual_width": "tiny",
    "visual_batch_size": 4,
    "face_size": 32,
    "face_resize": 36,
    "visual_lr": 0.002,
    "face_augment": True,
}
SOURCE = {"source": "synthetic", "scale": "tiny", "seed": 11}


# --------------------------------------------------------------------------- names, settings


@pytest.mark.parametrize(
    ("name", "network", "version", "loss", "roles", "init"),
    [
        ("speech000_ccc", "speech", "000", "ccc", ("train",), ()),
        ("speech001_mse", "speech", "001", "mse", ("train",), ()),
        ("visual_ccc", "visual", "000", "ccc", ("train",), ()),
        ("speech_seq300", "speech", "000", "ccc", ("train",), ()),
        ("multimodal_train", "multimodal", "001", "ccc", ("train",),
         ("speech001_ccc", "visual_ccc")),
        ("multimodal_traindev", "multimodal", "000", "ccc", ("train", "dev"),
         ("speech000_ccc", "visual_ccc")),
        ("multimodal_landmarks", "multimodal", "000", "ccc", ("train", "dev"),
         ("multimodal_traindev",)),
    ],
)  # fmt: skip
def test_parse_experiment(name, network, version, loss, roles, init) -> None:
    spec = E.parse_experiment(name)
    assert (spec.network, spec.version, spec.loss, spec.train_roles, spec.init) == (
        network, version, loss, roles, init,
    )  # fmt: skip
    assert re.fullmatch(E.EXPERIMENT_PATTERN, name)
    assert spec.select_on_dev == ("dev" not in roles)


@pytest.mark.parametrize("bad", ["speech002_ccc", "visual_l1", "speech_seq0", "multimodal", ""])
def test_unknown_experiment_names_are_refused(bad: str) -> None:
    assert not re.fullmatch(E.EXPERIMENT_PATTERN, bad)
    with pytest.raises(ConfigError, match="unknown"):
        E.parse_experiment(bad)


def test_resolve_settings_applies_the_experiment_overrides() -> None:
    s = E.resolve_settings(E.parse_experiment("speech_seq75"), PROFILE)
    assert (s["steps"], s["epochs"], s["n_filters_1"], s["batch_size"]) == (75, 3, 4, 8)
    s = E.resolve_settings(E.parse_experiment("multimodal_traindev"), PROFILE)
    assert (s["steps"], s["epochs"], s["batch_size"]) == (50, 2, 4)  # 2x epochs, video batch
    s = E.resolve_settings(E.parse_experiment("visual_seq150"), PROFILE)
    assert (s["lr"], s["batch_size"], s["epochs"]) == (0.002, 4, 3)  # the visual lr and batch
    s = E.resolve_settings(E.parse_experiment("speech001_ccc"), PROFILE)
    assert s["n_filters_1"] == 2 and PROFILE["n_filters_1"] == {"000": 4, "001": 2}


# --------------------------------------------------------------------------- runs on a twin


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("avec")
    root = base / "recola_avec2016"
    generate_corpus("recola_avec2016", root, scale="tiny", seed=3)
    full = index_step("recola_avec2016", root, base / "full.csv")
    items = ["train_1", "train_2", "dev_1", "test_1"]
    write_index(full[full["item_id"].isin(items)].reset_index(drop=True), base / "index.csv")
    sheet = pd.DataFrame({"fold": 0, "item_id": items, "subject": items,
                          "role": ["train", "train", "dev", "test"]})  # fmt: skip
    sheet.to_csv(base / "sheet.csv", index=False)
    (base / "sheet.json").write_text(json.dumps({"sha256": "0" * 64}))
    cache = base / "cache"
    face_crops_step("recola_avec2016", root, base / "index.csv", base / "faces.parquet",
                    kind="tzirakis", cache_dir=cache)  # fmt: skip
    model = landmark_model_step(base / "lm.dat", seed=0)
    landmark_frames_step("recola_avec2016", root, base / "index.csv", base / "lm.parquet",
                         landmark_model=model, cache_dir=cache)  # fmt: skip
    return {"root": root, "index": base / "index.csv", "sheet": base / "sheet.csv",
            "meta": base / "sheet.json", "faces": base / "faces.parquet",
            "landmarks": base / "lm.parquet", "cache": cache, "runs": base / "runs"}  # fmt: skip


def _run(twin: dict[str, Path], name: str, out: Path | None = None, **kw) -> dict:
    out = out or twin["runs"] / name
    init = [twin["runs"] / n / "model.pt" for n in E.parse_experiment(name).init]
    return E.e2e_step(
        name,
        "recola_avec2016",
        "avec2016",
        root=twin["root"],
        index_csv=twin["index"],
        sheet=twin["sheet"],
        sheet_meta=twin["meta"],
        profile="unit",
        profile_settings=PROFILE,
        execution={"device": "cpu", "torch_threads": 1},
        checkpoint=out / "ck.pt",
        source=SOURCE,
        out_predictions=out / "predictions.parquet",
        out_metrics=out / "metrics.json",
        out_model=out / "model.pt",
        faces=twin["faces"],
        landmarks=twin["landmarks"],
        cache_dir=twin["cache"],
        init_models=init,
        **kw,
    )


@pytest.fixture(scope="module")
def runs(twin: dict[str, Path]) -> dict[str, dict]:
    names = ["speech000_ccc", "visual_ccc", "multimodal_traindev", "multimodal_landmarks"]
    return {n: _run(twin, n) for n in names}


def test_every_network_writes_the_shared_result_layout(twin, runs) -> None:
    keys = {f"{t}.{r}.ccc" for t in ("arousal", "valence") for r in ("dev", "test")}
    for name, result in runs.items():
        assert set(result["metrics"]) == keys and result["experiment"] == name
        assert all(np.isfinite(v) for v in result["metrics"].values())
        preds = pd.read_parquet(twin["runs"] / name / "predictions.parquet")
        assert set(preds["role"]) == {"dev", "test"}
        assert set(preds["item_id"]) == {"dev_1", "test_1"}
        assert not (twin["runs"] / name / "ck.pt").exists()  # removed after success
    assert runs["visual_ccc"]["params"]["visual_init"].startswith("random initialisation")
    assert runs["visual_ccc"]["params"]["batch_size"] == 4


def test_train_dev_runs_train_twice_the_epochs_and_keep_the_last(runs) -> None:
    p = runs["multimodal_traindev"]["params"]
    assert p["train_roles"] == "train+dev" and p["epoch_selection"] == "last epoch"
    assert len(p["history"]) == 2 * PROFILE["epochs"] and p["best_epoch"] == 2
    assert runs["speech000_ccc"]["params"]["epoch_selection"] == "best dev CCC"


def test_same_seed_on_cpu_gives_identical_numbers(twin, runs, tmp_path: Path) -> None:
    again = _run(twin, "speech000_ccc", tmp_path / "again")
    assert again["metrics"] == runs["speech000_ccc"]["metrics"]


def test_model_file_rebuilds_the_network(twin, runs) -> None:
    network, spec, settings = E.load_model(twin["runs"] / "visual_ccc" / "model.pt")
    assert spec == E.parse_experiment("visual_ccc") and settings["face_size"] == 32
    recs = E.load_recordings(spec, "recola_avec2016", ["test_1"], root=twin["root"],
                             index_csv=twin["index"], faces=twin["faces"],
                             cache_dir=twin["cache"])  # fmt: skip
    from emorepro.training.trainer import DictInput, predict

    ds = E.make_dataset(spec, recs, settings, train=False)
    pred = predict(DictInput(network, ("frames",)), ds)["test_1"]
    saved = pd.read_parquet(twin["runs"] / "visual_ccc" / "predictions.parquet")
    got = saved[(saved["item_id"] == "test_1") & (saved["target"] == "arousal")]["y_pred"]
    np.testing.assert_allclose(pred[:, 0], got.to_numpy(), rtol=1e-5, atol=1e-6)


def test_multimodal_cnns_start_from_the_unimodal_models(twin, runs) -> None:
    spec = E.parse_experiment("multimodal_traindev")
    settings = E.resolve_settings(spec, PROFILE)
    net = E.build_network(spec, settings)
    E.initialise(net, spec, [twin["runs"] / n / "model.pt" for n in spec.init])
    speech, _, _ = E.load_model(twin["runs"] / "speech000_ccc" / "model.pt")
    visual, _, _ = E.load_model(twin["runs"] / "visual_ccc" / "model.pt")
    for mine, theirs in ((net.speech, speech.encoder), (net.visual, visual.encoder)):
        theirs_state = theirs.state_dict()
        assert mine.state_dict().keys() == theirs_state.keys()
        for k, a in mine.state_dict().items():
            assert torch.equal(a, theirs_state[k]), k


def test_landmark_variant_retrains_only_the_recurrent_network(twin, runs) -> None:
    base, _, _ = E.load_model(twin["runs"] / "multimodal_traindev" / "model.pt")
    lm, spec, settings = E.load_model(twin["runs"] / "multimodal_landmarks" / "model.pt")
    assert spec.freeze_cnns and settings["landmarks_dim"] > 0
    assert lm.in_dim == base.in_dim + settings["landmarks_dim"]
    for role in ("speech", "visual"):  # weights and BatchNorm statistics untouched
        a, b = getattr(base, role).state_dict(), getattr(lm, role).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), role
    p = runs["multimodal_landmarks"]["params"]
    assert p["n_trainable"] < p["n_parameters"] and p["cnns_frozen"] is True
    stats = runs["multimodal_landmarks"]["landmark_standardisation"]
    assert len(stats["mean"]) == settings["landmarks_dim"]


def test_missing_or_corrupt_model_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptInputError, match="missing"):
        E.load_model(tmp_path / "nope.pt")
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CorruptInputError, match=str(bad.name)):
        E.load_model(bad)
    torch.save({"format": 999}, bad)
    with pytest.raises(CorruptInputError, match="not an emorepro model file"):
        E.load_model(bad)


def _fig2(twin, model: str, out: Path, functionals: Path) -> dict:
    return E.fig2_step(
        "recola_avec2016", "avec2016",
        model=twin["runs"] / model / "model.pt", root=twin["root"],
        index_csv=twin["index"], sheet=twin["sheet"], sheet_meta=twin["meta"],
        functionals=functionals, execution={"device": "cpu", "torch_threads": 1},
        source=SOURCE, out_predictions=out / "p.parquet", out_metrics=out / "m.json",
        out_figure=out / "fig2.png",
    )  # fmt: skip


def test_fig2_step_picks_units_of_the_speech_model(twin, runs, tmp_path: Path) -> None:
    from emorepro.cell_analysis import FIG2_FEATURES

    n = len(pd.read_parquet(twin["runs"] / "speech000_ccc" / "predictions.parquet")
             .query("item_id == 'test_1' and target == 'arousal'"))  # fmt: skip
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"item_id": "test_1", "time_s": np.arange(n) * 0.04})
    for col in FIG2_FEATURES.values():
        table[col] = rng.normal(size=n)
    table.to_parquet(tmp_path / "functionals.parquet")
    result = _fig2(twin, "speech000_ccc", tmp_path, tmp_path / "functionals.parquet")
    assert set(result["metrics"]) == {f"{k}.test.pcc" for k in FIG2_FEATURES}
    assert result["params"]["recording"] == "test_1" and (tmp_path / "fig2.png").stat().st_size
    preds = pd.read_parquet(tmp_path / "p.parquet")
    for key, info in result["params"]["analysis"]["features"].items():
        part = preds[preds["target"] == key]
        r = np.corrcoef(part["y_true"], part["y_pred"])[0, 1]
        assert abs(r) == pytest.approx(result["metrics"][f"{key}.test.pcc"], abs=1e-9), info
    with pytest.raises(ConfigError, match="speech network"):
        _fig2(twin, "visual_ccc", tmp_path / "visual", tmp_path / "functionals.parquet")
    with pytest.raises(CorruptInputError, match="no rows for test_1"):
        table.assign(item_id="other").to_parquet(tmp_path / "other.parquet")
        _fig2(twin, "speech000_ccc", tmp_path / "other", tmp_path / "other.parquet")


def test_paper_profile_has_the_papers_settings() -> None:
    """benchmarks/config.yaml's paper profile resolves to the settings of 000 Sec. IV-V."""
    import yaml

    cfg = yaml.safe_load((Path(__file__).parents[2] / "benchmarks/config.yaml").read_text())
    paper = cfg["models"]["tzirakis2017"]["profiles"]["paper"]
    speech = E.resolve_settings(E.parse_experiment("speech000_ccc"), paper)
    assert (speech["steps"], speech["lr"], speech["batch_size"], speech["hidden"]) == (
        150, 1e-4, 25, 256,
    )  # fmt: skip
    assert (speech["n_filters_1"], speech["n_filters_2"], speech["kernel_2_s"]) == (40, 40, 0.5)
    assert E.resolve_settings(E.parse_experiment("speech001_ccc"), paper)["n_filters_1"] == 20
    visual = E.resolve_settings(E.parse_experiment("visual_ccc"), paper)
    assert (visual["visual_width"], visual["batch_size"]) == ("resnet50", 2)
    assert (visual["face_size"], visual["face_resize"], visual["lr"]) == (96, 110, 1e-4)
    assert visual["face_augment"] is True
    assert E.resolve_settings(E.parse_experiment("visual_seq300"), paper)["epochs"] == 60
    traindev = E.resolve_settings(E.parse_experiment("multimodal_traindev"), paper)
    assert traindev["epochs"] == 2 * paper["epochs"]
    net = E.build_network(E.parse_experiment("multimodal_traindev"), traindev, pretrained=False)
    assert net.in_dim == 1280 + 2048


def test_face_augmentation_follows_the_profile(twin) -> None:
    spec = E.parse_experiment("visual_ccc")
    recs = E.load_recordings(spec, "recola_avec2016", ["train_1"], root=twin["root"],
                             index_csv=twin["index"], faces=twin["faces"],
                             cache_dir=twin["cache"])  # fmt: skip
    torch.manual_seed(0)
    for augment, differs in ((True, True), (False, False)):
        settings = {**E.resolve_settings(spec, PROFILE), "face_augment": augment}
        ds = E.make_dataset(spec, recs, settings, train=True)
        a, b = ds[0]["frames"], ds[0]["frames"]
        assert a.shape == (PROFILE["steps"], 3, 32, 32)
        assert (not torch.equal(a, b)) == differs, augment
    evaluation = E.make_dataset(spec, recs, settings | {"face_augment": True}, train=False)
    assert torch.equal(evaluation[0]["frames"], evaluation[0]["frames"])
