"""The speech-network step of Tzirakis et al. on a small RECOLA twin: outputs, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from emorepro.endtoend import speech_step
from emorepro.pipeline import index_step
from emorepro.synth import generate_corpus

SETTINGS = {
    "steps": 50,
    "epochs": 1,
    "lr": 0.003,
    "batch_size": 8,
    "n_filters_1": 4,
    "n_filters_2": 10,
    "kernel_2_s": 0.005,
    "channel_pool": 5,
    "hidden": 8,
    "layers": 1,
}


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("recola")
    root = base / "recola_full"
    generate_corpus("recola_full", root, scale="tiny", seed=3)
    index = index_step("recola_full", root, base / "index.csv")
    items = index["item_id"].tolist()[:7]
    roles = ["train"] * 3 + ["dev"] * 2 + ["test"] * 2
    sheet = pd.DataFrame({"fold": 0, "item_id": items, "subject": items, "role": roles})
    sheet.to_csv(base / "sheet.csv", index=False)
    (base / "sheet.json").write_text(json.dumps({"sha256": "0" * 64}))
    return {"root": root, "index": base / "index.csv", "sheet": base / "sheet.csv",
            "meta": base / "sheet.json"}  # fmt: skip


def _run(twin: dict[str, Path], out: Path, version: str = "000") -> dict:
    return speech_step(
        "recola_full",
        "recola46",
        root=twin["root"],
        index_csv=twin["index"],
        sheet=twin["sheet"],
        sheet_meta=twin["meta"],
        version=version,
        loss="ccc",
        profile="unit",
        settings=SETTINGS,
        execution={"device": "cpu", "torch_threads": 1},
        checkpoint=out / "ck.pt",
        source={"source": "synthetic", "scale": "tiny", "seed": 11},
        out_predictions=out / "predictions.parquet",
        out_metrics=out / "metrics.json",
    )


def test_speech_step_writes_the_shared_result_layout_and_is_deterministic(
    twin: dict[str, Path], tmp_path: Path
) -> None:
    first = _run(twin, tmp_path / "a")
    second = _run(twin, tmp_path / "b")
    assert first["metrics"] == second["metrics"]  # same seed on CPU -> identical numbers
    assert set(first["metrics"]) == {f"{t}.{r}.ccc" for t in ("arousal", "valence")
                                     for r in ("dev", "test")}  # fmt: skip
    assert first["paper"] == "tzirakis2017" and first["experiment"] == "speech000_ccc"
    assert first["params"]["profile"] == "unit" and first["params"]["n_filters_1"] == 4
    preds = pd.read_parquet(tmp_path / "a/predictions.parquet")
    assert set(preds["role"]) == {"dev", "test"} and preds["item_id"].nunique() == 4
    assert not (tmp_path / "a/ck.pt").exists()  # the checkpoint is removed after success
