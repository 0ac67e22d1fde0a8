"""File-level steps of the end-to-end models of Tzirakis et al. (2017): the speech network.

``speech_step`` trains the raw-waveform speech CNN + 2-layer LSTM (version ``000``: 40 first-
layer filters; ``001``: 20) on the training recordings of a fixed partition, selects the epoch
on dev CCC, predicts dev and test whole recordings, and writes the same result layout as the
classical baselines (long predictions table + ``metrics.json`` with ``<target>.<role>.ccc``),
so the shared post-processing rule, tables, figures and MLflow mirror apply unchanged.

A *profile* (``tiny``/``small``/``paper``) holds the scientific settings: ``paper`` is the
paper's (6 s = 150 steps, 500 ms second-layer filters, LSTM 256, Adam 1e-4, batch 25) and is
meant for a GPU; ``tiny``/``small`` narrow the network and shorten sequences so the same code
path runs on 2 CPU cores. The profile name and settings are stored with the result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.pipeline import _result_header, read_sheet, torch_device, write_json, write_parquet

log = logging.getLogger("emorepro")

TARGETS = ("arousal", "valence")
CCC_VARIANT = "ccc[pooled over partition, population moments (ddof=0)]"


def _recordings(root: Path, index: pd.DataFrame, items: list[str], corpus: str) -> list:
    from emorepro.training.sequences import load_recola_recording

    adapter = get_adapter(corpus)
    rows = index.set_index("item_id")
    out = []
    for item in items:
        row = {"item_id": item, **rows.loc[item].to_dict()}
        out.append(load_recola_recording(root, row, adapter))
    return out


def build_speech_model(version: str, settings: Mapping[str, Any]) -> Any:
    """Speech CNN + unimodal LSTM of a profile (widths from ``settings``)."""
    from emorepro.models.tzirakis import SpeechCNN, UnimodalModel
    from emorepro.training.trainer import DictInput

    cnn = SpeechCNN(
        version,
        n_filters_1=int(settings["n_filters_1"]),
        n_filters_2=int(settings["n_filters_2"]),
        kernel_2_s=float(settings["kernel_2_s"]),
        channel_pool=int(settings["channel_pool"]),
    )
    model = UnimodalModel(cnn, hidden=int(settings["hidden"]), layers=int(settings["layers"]))
    return DictInput(model, ("audio",))


def speech_step(
    corpus: str,
    protocol: str,
    *,
    root: Path | str,
    index_csv: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    version: str,
    loss: str,
    profile: str,
    settings: Mapping[str, Any],
    execution: Mapping[str, Any],
    checkpoint: Path | str,
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """Train and evaluate the speech network on one fixed partition (see module docstring)."""
    from emorepro.models.tzirakis import count_parameters
    from emorepro.training.runtime import seed_everything
    from emorepro.training.sequences import AudioSequences
    from emorepro.training.trainer import TrainConfig, predict, train

    device = torch_device(execution)
    folds = read_sheet(sheet)
    index = read_index(index_csv)
    items = {r: folds.loc[folds["role"] == r, "item_id"].tolist() for r in ("train", "dev", "test")}
    steps = int(settings["steps"])
    data = {r: _recordings(Path(root), index, v, corpus) for r, v in items.items()}
    sets = {r: AudioSequences(data[r], steps=steps, items=items[r], hop=None) for r in items}
    seed_everything(int(source["seed"]), device=device)  # the weights' initialisation too
    model = build_speech_model(version, settings)
    cfg = TrainConfig(
        loss=loss,
        epochs=int(settings["epochs"]),
        lr=float(settings["lr"]),
        batch_size=int(settings["batch_size"]),
        seed=int(source["seed"]),
        device=str(device),
        name=f"speech{version}_{loss}",
    )
    log.info("speech %s/%s version %s loss %s profile %s: %d parameters, %d training sequences "
             "on %s", corpus, protocol, version, loss, profile, count_parameters(model),
             len(sets["train"]), device)  # fmt: skip
    model, history = train(model, sets["train"], sets["dev"], cfg, checkpoint=checkpoint)
    preds, metrics = [], {}
    for role in ("dev", "test"):
        predicted = predict(model, sets[role], device=device)
        for target_idx, target in enumerate(TARGETS):
            parts = []
            for item in items[role]:
                gold = sets[role].labels[item][:, target_idx]
                pred = predicted[item][:, target_idx]
                parts.append(
                    pd.DataFrame(
                        {
                            "item_id": item,
                            "time_s": np.arange(len(gold)) * 0.04,
                            "role": role,
                            "target": target,
                            "y_true": gold.astype(np.float64),
                            "y_pred": pred.astype(np.float64),
                        }
                    )
                )
            table = pd.concat(parts, ignore_index=True)
            metrics[f"{target}.{role}.ccc"] = M.ccc(table["y_true"], table["y_pred"])
            preds.append(table)
    result = {
        **_result_header(
            experiment=f"speech{version}_{loss}",
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="tzirakis_speech",
        ),
        "paper": "tzirakis2017",
        "metrics": metrics,
        "metric_variants": dict.fromkeys(metrics, CCC_VARIANT),
        "params": {
            "version": version,
            "loss": loss,
            "profile": profile,
            **dict(settings),
            "n_parameters": count_parameters(model),
            "best_epoch": history["best_epoch"],
            "history": history["epochs"],
        },
        "folds": [{"fold": 0, "metrics": metrics, "params": {"best_epoch": history["best_epoch"]}}],
        "device": str(device),
        "timing": history.get("timing", []),
    }
    write_parquet(out_predictions, pd.concat(preds, ignore_index=True))
    write_json(out_metrics, result)
    Path(checkpoint).unlink(missing_ok=True)
    log.info("%s/%s speech%s_%s: %s", corpus, protocol, version, loss, metrics)
    return result
