"""The Tzirakis et al. family on a 4-recording AVEC 2016 twin, run through the generic
experiment step: experiment names, settings, the speech/visual/multimodal runs, model files,
initialisation, frozen CNNs, Fig. 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from emorepro.corpora.index import write_index
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families import get_family
from emorepro.families.tzirakis2017 import data as D
from emorepro.families.tzirakis2017 import networks as N
from emorepro.families.tzirakis2017.data import load_recola_recording
from emorepro.families.tzirakis2017.spec import resolve_settings
from emorepro.plan import ResultKey
from emorepro.steps.data import index_step
from emorepro.steps.experiment import JobParams, experiment_step
from emorepro.steps.features import (
    CorpusFiles,
    face_crops_step,
    landmark_frames_step,
    landmark_model_step,
)
from emorepro.synth import generate_corpus
from emorepro.synth.media import write_wav
from emorepro.training.sequences import AudioSequences

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
FAMILY = get_family("tzirakis2017")


def parse(name: str):
    return FAMILY.parse(name).spec


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
    spec = parse(name)
    assert (spec.network, spec.version, spec.loss, spec.train_roles, spec.init) == (
        network, version, loss, roles, init,
    )  # fmt: skip
    assert FAMILY.parse(name).task == "regression" and FAMILY.parse(name).trains_network
    # Table II reports dev "after 60 epochs": its ablation runs score the last epoch
    assert spec.select_on_dev == ("dev" not in roles and "_seq" not in name)


@pytest.mark.parametrize("bad", ["speech002_ccc", "visual_l1", "speech_seq0", "multimodal", ""])
def test_unknown_experiment_names_are_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="unknown"):
        FAMILY.parse(bad)


def test_fig2_is_an_analysis_with_its_own_figure() -> None:
    exp = FAMILY.parse("fig2_cells")
    assert (exp.task, exp.figure_kinds, exp.trains_network) == ("analysis", ("fig2",), False)


def test_resolve_settings_applies_the_experiment_overrides() -> None:
    s = resolve_settings(parse("speech_seq75"), PROFILE)
    assert (s["steps"], s["epochs"], s["n_filters_1"], s["batch_size"]) == (75, 3, 4, 8)
    s = resolve_settings(parse("multimodal_traindev"), PROFILE)
    assert (s["steps"], s["epochs"], s["batch_size"]) == (50, 2, 4)  # 2x epochs, video batch
    s = resolve_settings(parse("visual_seq150"), PROFILE)
    assert (s["lr"], s["batch_size"], s["epochs"]) == (0.002, 4, 3)  # the visual lr and batch
    s = resolve_settings(parse("speech001_ccc"), PROFILE)
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
    files = CorpusFiles("recola_avec2016", root, base / "index.csv", cache)
    face_crops_step(files, base / "faces.parquet", kind="tzirakis")
    model = landmark_model_step(base / "lm.dat", seed=0)
    landmark_frames_step(files, base / "lm.parquet", landmark_model=model)
    return {"root": root, "index": base / "index.csv", "sheet": base / "sheet.csv",
            "meta": base / "sheet.json", "faces": base / "faces.parquet",
            "landmarks": base / "lm.parquet", "cache": cache, "runs": base / "runs"}  # fmt: skip


def _step(twin: dict[str, Path], name: str, out: Path, inputs: dict, settings: dict) -> dict:
    common = {
        "root": twin["root"],
        "index": twin["index"],
        "sheet": twin["sheet"],
        "sheet_meta": twin["meta"],
    }
    params = JobParams(settings, {"device": "cpu", "torch_threads": 1}, SOURCE,
                       str(out / "ck.pt"), str(twin["cache"]))  # fmt: skip
    key = ResultKey("tzirakis2017", name, "recola_avec2016", "avec2016")
    return experiment_step(key, {**common, **inputs}, params, out)


def _run(twin: dict[str, Path], name: str, out: Path | None = None) -> dict:
    spec = parse(name)
    settings = {**resolve_settings(spec, PROFILE), "profile": "unit", "visual_weights": None,
                "visual_sha256": None}  # fmt: skip
    inputs = {"faces": twin["faces"], "landmarks": twin["landmarks"],
              "init": [twin["runs"] / n / "metrics.json" for n in spec.init]}  # fmt: skip
    return _step(twin, name, out or twin["runs"] / name, inputs, settings)


@pytest.fixture(scope="module")
def runs(twin: dict[str, Path]) -> dict[str, dict]:
    names = ["speech000_ccc", "visual_ccc", "multimodal_traindev", "multimodal_landmarks"]
    names.append("speech_seq75")
    return {n: _run(twin, n) for n in names}


def test_every_network_writes_the_shared_result_layout(twin, runs) -> None:
    keys = {f"{t}.{r}.ccc" for t in ("arousal", "valence") for r in ("dev", "test")}
    for name, result in runs.items():
        assert set(result["metrics"]) == keys and result["experiment"] == name
        assert (result["task"], result["family"], result["profile"]) == (
            "regression", "tzirakis2017", "unit",
        )  # fmt: skip
        assert result["files"] == ["model.pt"] and (twin["runs"] / name / "model.pt").is_file()
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


def test_table_ii_ablation_scores_the_last_epoch(runs) -> None:
    """Table II reports dev values "after 60 epochs": the ablation keeps the last epoch and
    never looks at dev while training (the epoch is not chosen on the reported partition)."""
    p = runs["speech_seq75"]["params"]
    assert p["epoch_selection"] == "last epoch" and p["train_roles"] == "train"
    assert len(p["history"]) == PROFILE["ablation_epochs"]
    assert p["best_epoch"] == PROFILE["ablation_epochs"]
    assert all(math.isnan(epoch["dev_ccc"]) for epoch in p["history"])  # dev never scored
    assert set(runs["speech_seq75"]["metrics"]) >= {"arousal.dev.ccc", "valence.dev.ccc"}


CHILD = """
import pickle, sys, time
from emorepro.runlog import job_log
from emorepro.steps.experiment import experiment_step
from emorepro.training import runtime

args = pickle.loads(open(sys.argv[1], "rb").read())
save = runtime.Checkpointer.save
def save_then_wait(self, state):  # the signal lands after the first epoch's checkpoint
    save(self, state)
    open(sys.argv[2], "w").write("saved")
    time.sleep(60)
runtime.Checkpointer.save = save_then_wait
with job_log(sys.argv[3]):
    experiment_step(*args)
"""


def test_sigterm_mid_training_resumes_to_the_same_numbers(
    twin, runs, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM after the first of three epochs (Snakemake stopping a job, scancel): the job
    fails without a result, keeps its checkpoint, and the rerun gives exactly the numbers of
    the uninterrupted run."""
    import pickle
    import signal
    import subprocess
    import sys
    import time

    name, out = "speech_seq75", tmp_path / "run"
    spec = parse(name)
    settings = {**resolve_settings(spec, PROFILE), "profile": "unit", "visual_weights": None,
                "visual_sha256": None}  # fmt: skip
    common = {"root": twin["root"], "index": twin["index"], "sheet": twin["sheet"],
              "sheet_meta": twin["meta"], "faces": twin["faces"],
              "landmarks": twin["landmarks"], "init": []}  # fmt: skip
    params = JobParams(settings, {"device": "cpu", "torch_threads": 1}, SOURCE,
                       str(out / "ck.pt"), str(twin["cache"]))  # fmt: skip
    key = ResultKey("tzirakis2017", name, "recola_avec2016", "avec2016")
    (tmp_path / "args.pkl").write_bytes(pickle.dumps((key, common, params, out)))
    saved, log = tmp_path / "saved", tmp_path / "job.log"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path / "args.pkl"),
                             str(saved), str(log)], stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 600
    while not saved.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert saved.exists(), proc.communicate()[1][-3000:]
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode != 0 and "stopped by SIGTERM" in log.read_text()
    assert (out / "ck.pt").is_file() and not (out / "metrics.json").exists()
    assert not list(out.glob(".*.tmp"))
    with caplog.at_level("INFO", logger="emorepro"):
        resumed = experiment_step(key, common, params, out)
    assert "resuming from" in caplog.text and "after epoch 1" in caplog.text
    reference = runs[name]
    assert resumed["metrics"] == reference["metrics"]
    same = json.dumps(resumed["params"]["history"]) == json.dumps(reference["params"]["history"])
    assert same  # (json: the dev scores of this ablation are NaN, and NaN != NaN)


def test_same_seed_on_cpu_gives_identical_numbers(twin, runs, tmp_path: Path) -> None:
    again = _run(twin, "speech000_ccc", tmp_path / "again")
    assert again["metrics"] == runs["speech000_ccc"]["metrics"]


def test_model_file_rebuilds_the_network(twin, runs) -> None:
    network, spec, settings = N.load_model(twin["runs"] / "visual_ccc" / "model.pt")
    assert spec == parse("visual_ccc") and settings["face_size"] == 32
    recs = D.load_recordings(spec, "recola_avec2016", ["test_1"], root=twin["root"],
                             index_csv=twin["index"], faces=twin["faces"],
                             cache_dir=twin["cache"])  # fmt: skip
    from emorepro.training.trainer import DictInput, predict

    ds = D.make_dataset(spec, recs, settings, train=False)
    pred = predict(DictInput(network, ("frames",)), ds)["test_1"]
    saved = pd.read_parquet(twin["runs"] / "visual_ccc" / "predictions.parquet")
    got = saved[(saved["item_id"] == "test_1") & (saved["target"] == "arousal")]["y_pred"]
    np.testing.assert_allclose(pred[:, 0], got.to_numpy(), rtol=1e-5, atol=1e-6)


def test_multimodal_cnns_start_from_the_unimodal_models(twin, runs) -> None:
    spec = parse("multimodal_traindev")
    settings = resolve_settings(spec, PROFILE)
    net = N.build_network(spec, settings)
    N.initialise(net, spec, [twin["runs"] / n / "model.pt" for n in spec.init])
    speech, _, _ = N.load_model(twin["runs"] / "speech000_ccc" / "model.pt")
    visual, _, _ = N.load_model(twin["runs"] / "visual_ccc" / "model.pt")
    for mine, theirs in ((net.speech, speech.encoder), (net.visual, visual.encoder)):
        theirs_state = theirs.state_dict()
        assert mine.state_dict().keys() == theirs_state.keys()
        for k, a in mine.state_dict().items():
            assert torch.equal(a, theirs_state[k]), k


def test_landmark_variant_retrains_only_the_recurrent_network(twin, runs) -> None:
    base, _, _ = N.load_model(twin["runs"] / "multimodal_traindev" / "model.pt")
    lm, spec, settings = N.load_model(twin["runs"] / "multimodal_landmarks" / "model.pt")
    assert spec.freeze_cnns and settings["landmarks_dim"] > 0
    assert lm.in_dim == base.in_dim + settings["landmarks_dim"]
    for role in ("speech", "visual"):  # weights and BatchNorm statistics untouched
        a, b = getattr(base, role).state_dict(), getattr(lm, role).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), role
    p = runs["multimodal_landmarks"]["params"]
    assert p["n_trainable"] < p["n_parameters"] and p["cnns_frozen"] is True
    stats = runs["multimodal_landmarks"]["extra"]["landmark_standardisation"]
    assert len(stats["mean"]) == settings["landmarks_dim"]


def test_missing_or_corrupt_model_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CorruptInputError, match="missing"):
        N.load_model(tmp_path / "nope.pt")
    bad = tmp_path / "model.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CorruptInputError, match=str(bad.name)):
        N.load_model(bad)
    torch.save({"format": 999}, bad)
    with pytest.raises(CorruptInputError, match="not an emorepro model file"):
        N.load_model(bad)


def _fig2(twin, model: str, out: Path, functionals: Path) -> dict:
    inputs = {"model": twin["runs"] / model / "metrics.json", "functionals": functionals}
    return _step(twin, "fig2_cells", out, inputs, {"profile": "unit"})


def test_fig2_step_picks_units_of_the_speech_model(twin, runs, tmp_path: Path) -> None:
    from emorepro.families.tzirakis2017.cells import FIG2_FEATURES
    from emorepro.steps.reporting import figure_step

    n = len(pd.read_parquet(twin["runs"] / "speech000_ccc" / "predictions.parquet")
             .query("item_id == 'test_1' and target == 'arousal'"))  # fmt: skip
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"item_id": "test_1", "time_s": np.arange(n) * 0.04})
    for col in FIG2_FEATURES.values():
        table[col] = rng.normal(size=n)
    table.to_parquet(tmp_path / "functionals.parquet")
    result = _fig2(twin, "speech000_ccc", tmp_path, tmp_path / "functionals.parquet")
    assert set(result["metrics"]) == {f"{k}.test.pcc" for k in FIG2_FEATURES}
    assert result["params"]["recording"] == "test_1" and result["task"] == "analysis"
    figure_step("fig2", tmp_path / "metrics.json", tmp_path / "predictions.parquet",
                tmp_path / "fig2.png")  # fmt: skip
    assert (tmp_path / "fig2.png").read_bytes()[:4] == b"\x89PNG"
    preds = pd.read_parquet(tmp_path / "predictions.parquet")
    for key, info in result["params"]["analysis"]["features"].items():
        part = preds[preds["target"] == key]
        r = np.corrcoef(part["y_true"], part["y_pred"])[0, 1]
        assert abs(r) == pytest.approx(result["metrics"][f"{key}.test.pcc"], abs=1e-9), info
    with pytest.raises(ConfigError, match="speech network"):
        _fig2(twin, "visual_ccc", tmp_path / "visual", tmp_path / "functionals.parquet")
    with pytest.raises(CorruptInputError, match="no rows for test_1"):
        table.assign(item_id="other").to_parquet(tmp_path / "other.parquet")
        _fig2(twin, "speech000_ccc", tmp_path / "other", tmp_path / "other.parquet")


def test_visual_epochs_apply_to_the_unimodal_visual_network_only() -> None:
    """``visual_epochs``/``visual_ablation_epochs`` train the visual network (Tables II, V);
    speech and multimodal runs keep ``epochs``/``ablation_epochs``; absent keys fall back."""
    profile = {**PROFILE, "epochs": 2, "ablation_epochs": 3, "visual_epochs": 5,
               "visual_ablation_epochs": 7}  # fmt: skip
    epochs = {n: resolve_settings(parse(n), profile)["epochs"] for n in (
        "visual_ccc", "visual_seq150", "speech000_mse", "speech_seq150", "multimodal_train",
        "multimodal_traindev", "multimodal_landmarks")}  # fmt: skip
    assert epochs == {"visual_ccc": 5, "visual_seq150": 7, "speech000_mse": 2, "speech_seq150": 3,
                      "multimodal_train": 2, "multimodal_traindev": 4,
                      "multimodal_landmarks": 4}  # fmt: skip
    assert resolve_settings(parse("visual_ccc"), PROFILE)["epochs"] == PROFILE["epochs"]
    assert resolve_settings(parse("visual_seq75"), PROFILE)["epochs"] == PROFILE["ablation_epochs"]


def test_paper_profile_has_the_papers_settings() -> None:
    """benchmarks/config.yaml's paper profile resolves to the settings of 000 Sec. IV-V."""
    import yaml

    cfg = yaml.safe_load((Path(__file__).parents[2] / "benchmarks/config.yaml").read_text())
    paper = cfg["families"]["tzirakis2017"]["profiles"]["paper"]
    speech = resolve_settings(parse("speech000_ccc"), paper)
    assert (speech["steps"], speech["lr"], speech["batch_size"], speech["hidden"]) == (
        150, 1e-4, 25, 256,
    )  # fmt: skip
    assert (speech["n_filters_1"], speech["n_filters_2"], speech["kernel_2_s"]) == (40, 40, 0.5)
    assert resolve_settings(parse("speech001_ccc"), paper)["n_filters_1"] == 20
    visual = resolve_settings(parse("visual_ccc"), paper)
    assert (visual["visual_width"], visual["batch_size"]) == ("resnet50", 2)
    assert (visual["face_size"], visual["face_resize"], visual["lr"]) == (96, 110, 1e-4)
    assert visual["face_augment"] is True
    assert resolve_settings(parse("visual_seq300"), paper)["epochs"] == 60
    traindev = resolve_settings(parse("multimodal_traindev"), paper)
    assert traindev["epochs"] == 2 * paper["epochs"]
    net = N.build_network(parse("multimodal_traindev"), traindev, pretrained=False)
    assert net.in_dim == 1280 + 2048


def test_face_augmentation_follows_the_profile(twin) -> None:
    spec = parse("visual_ccc")
    recs = D.load_recordings(spec, "recola_avec2016", ["train_1"], root=twin["root"],
                             index_csv=twin["index"], faces=twin["faces"],
                             cache_dir=twin["cache"])  # fmt: skip
    torch.manual_seed(0)
    for augment, differs in ((True, True), (False, False)):
        settings = {**resolve_settings(spec, PROFILE), "face_augment": augment}
        ds = D.make_dataset(spec, recs, settings, train=True)
        a, b = ds[0]["frames"], ds[0]["frames"]
        assert a.shape == (PROFILE["steps"], 3, 32, 32)
        assert (not torch.equal(a, b)) == differs, augment
    evaluation = D.make_dataset(spec, recs, settings | {"face_augment": True}, train=False)
    assert torch.equal(evaluation[0]["frames"], evaluation[0]["frames"])


# --------------------------------------------------------------------------- RECOLA loader


class _FakeAdapter:
    """Stands in for corpora.recola.AVEC2016: 40 ms labels from 0 s."""

    def __init__(self, n: int) -> None:
        self.n = n

    def read_labels(self, root, row) -> pd.DataFrame:
        t = np.round(np.arange(self.n) * 0.04, 6)
        return pd.DataFrame({"time_s": t, "arousal": t / 10, "valence": -t})


def test_load_recola_recording(tmp_path: Path) -> None:
    sr = 44100
    rng = np.random.default_rng(0)
    write_wav(tmp_path / "a" / "dev_1.wav", 0.3 + 0.1 * rng.standard_normal(sr), sr)  # 1 s
    row = {"item_id": "dev_1", "audio_path": "a/dev_1.wav"}
    audio, labels = load_recola_recording(tmp_path, row, _FakeAdapter(26))
    assert audio.dtype == np.float32 and len(audio) == 16000
    assert abs(float(audio.mean())) < 1e-4 and float(audio.std()) == pytest.approx(1.0, abs=1e-4)
    assert labels.shape == (26, 2) and labels.dtype == np.float32
    np.testing.assert_allclose(labels[:, 1], -np.arange(26) * 0.04, atol=1e-6)
    ds = AudioSequences([(audio, labels)], steps=26, items=["dev_1"])
    np.testing.assert_array_equal(ds[0]["audio"][640:].numpy(), audio)

    write_wav(tmp_path / "a" / "silent.wav", np.zeros(sr), sr)
    with pytest.raises(CorruptInputError, match=r"silent\.wav: .*constant"):
        load_recola_recording(tmp_path, {"audio_path": "a/silent.wav"}, _FakeAdapter(26))
    with pytest.raises(CorruptInputError, match="no audio_path"):
        load_recola_recording(tmp_path, {"item_id": "x"}, _FakeAdapter(26))
