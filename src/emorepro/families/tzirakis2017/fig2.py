"""Fig. 2 of Tzirakis et al. (000 Sec. V-B1) as an experiment: on the first test recording
(sorted; unseen in training), the three last-layer LSTM units of the trained speech network
most correlated with the arousal gold standard, and their Pearson correlation with openSMILE
ComParE_2016 functionals (:mod:`emorepro.families.tzirakis2017.cells`).

The result (task ``analysis``) holds ``<feature>.test.pcc`` metrics; its predictions table
holds, per feature, the feature (``y_true``) and the chosen unit's activation (``y_pred``),
from which :func:`draw_fig2` draws the figure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.base import RunContext, model_file_of
from emorepro.families.tzirakis2017.cells import (
    FIG2_FEATURES,
    cell_feature_correlations,
    fig2_figure,
)
from emorepro.results import Outcome, source_of

log = logging.getLogger("emorepro")
VARIANT = "pcc[one recording, last LSTM layer unit vs openSMILE feature, |r|]"


def hidden_states(network: Any, dataset: Any, item: str) -> np.ndarray:
    """``(T, hidden)`` last-layer LSTM outputs of a unimodal network over one recording:
    every window from a zero state (as in training), later windows overwrite the overlap of
    the tail window."""
    import torch

    k = dataset.items.index(item)
    out = np.zeros((len(dataset.labels[item]), network.rnn.hidden_size), np.float32)
    network.eval()
    with torch.no_grad():
        for idx, (j, a, b) in enumerate(dataset.windows):
            if j != k:
                continue
            x = dataset[idx]["audio"][None]
            _, hidden = network(x, return_hidden=True)
            out[a:b] = hidden[0].numpy()
    return out


def _features_of(path: Path, item: str, n_labels: int) -> pd.DataFrame:
    """The windowed functionals of one recording, checked against its label frames. Reads
    only that recording's rows and the Fig. 2 columns (the ComParE table of a corpus has
    6,373 columns for every frame of every recording)."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except (OSError, ValueError) as err:
        raise CorruptInputError(
            path, f"not a readable parquet file ({err})", fix="rerun windowed_functionals"
        ) from err
    wanted = ["item_id", "time_s", *FIG2_FEATURES.values()]
    columns = [c for c in wanted if c in names]  # a missing one is named by the analysis
    table = pd.read_parquet(path, columns=columns, filters=[("item_id", "==", item)])
    feats = table.sort_values("time_s").reset_index(drop=True)
    if feats.empty:
        raise CorruptInputError(path, f"no rows for {item}", fix="rerun windowed_functionals")
    if abs(len(feats) - n_labels) > 1:
        raise CorruptInputError(
            path,
            f"{len(feats)} frames for {item} but {n_labels} label frames",
            fix="rerun windowed_functionals",
        )
    return feats


def _table(item: str, time_s: np.ndarray, hidden: np.ndarray, feats: pd.DataFrame, analysis):
    rows = []
    for key, info in analysis["features"].items():
        unit = hidden[:, int(info["unit"])] if info["unit"] is not None else np.nan
        rows.append(
            pd.DataFrame(
                {
                    "item_id": item,
                    "time_s": time_s,
                    "role": "test",
                    "target": key,
                    "y_true": feats[FIG2_FEATURES[key]].to_numpy(np.float64),
                    "y_pred": np.broadcast_to(unit, time_s.shape).astype(np.float64),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def run_fig2(ctx: RunContext) -> Outcome:
    """Fig. 2 analysis of the trained ``speech000_ccc`` model (module docstring)."""
    from emorepro.families.tzirakis2017.data import load_recordings, make_dataset
    from emorepro.families.tzirakis2017.networks import load_model
    from emorepro.training.runtime import torch_device

    torch_device(ctx.execution)  # thread settings; the analysis runs on the CPU
    model_file = model_file_of(ctx.path("model"))
    network, spec, settings = load_model(model_file)
    if spec.network != "speech":
        raise ConfigError(f"{model_file}: Fig. 2 analyses a speech network, not {spec.network}")
    sheet = ctx.sheet()
    test = sorted(sheet.loc[sheet["role"] == "test", "item_id"])
    if not test:
        raise ConfigError(f"{ctx.path('sheet')}: no test recordings to analyse")
    item = test[0]
    recs = load_recordings(
        spec, ctx.corpus, [item], root=ctx.path("root"), index_csv=ctx.path("index")
    )
    dataset = make_dataset(spec, recs, settings, train=False)
    hidden = hidden_states(network, dataset, item)
    gold = dataset.labels[item][:, 0]
    feats = _features_of(ctx.path("functionals"), item, len(gold))
    n = min(len(feats), len(gold))
    hidden, gold, feats = hidden[:n], gold[:n], feats.iloc[:n]
    analysis = cell_feature_correlations(hidden, gold, feats)
    table = _table(item, np.arange(n) * 0.04, hidden, feats, analysis)
    metrics = {
        f"{key}.test.pcc": float("nan") if info["pcc"] is None else float(info["pcc"])
        for key, info in analysis["features"].items()
    }
    params = {
        "model": "speech000_ccc",
        "recording": item,
        "profile": settings.get("profile"),
        "hidden": int(hidden.shape[1]),
        "analysis": analysis,
    }
    log.info("Fig. 2 on %s: units %s -> %s", item, analysis["units"], metrics)
    return Outcome(
        "analysis",
        table,
        metrics,
        dict.fromkeys(metrics, VARIANT),
        [{"fold": 0, "metrics": metrics, "params": {"recording": item}}],
        params=params,
        targets=list(analysis["features"]),
        profile=settings.get("profile"),
    )


def draw_fig2(result: Mapping[str, Any], predictions: pd.DataFrame, out: Path) -> None:
    """Fig. 2 from a ``fig2_cells`` result: each feature with its chosen unit, z-scored."""
    analysis = result["params"]["analysis"]
    entries = analysis["features"]
    units = [int(e["unit"]) for e in entries.values() if e["unit"] is not None]
    first = predictions[predictions["target"] == next(iter(entries))].sort_values("time_s")
    n = len(first)
    hidden = np.zeros((n, max(units, default=0) + 1))
    feats = pd.DataFrame(index=range(n))
    for key, entry in entries.items():
        rows = predictions[predictions["target"] == key].sort_values("time_s")
        feats[entry["column"]] = rows["y_true"].to_numpy()
        if entry["unit"] is not None:
            hidden[:, int(entry["unit"])] = rows["y_pred"].to_numpy()
    title = (
        f"Fig. 2 · {result['corpus']}/{result['protocol']} · test {result['params']['recording']}"
        f" ({source_of(result).describe()})"
    )
    fig2_figure(out, first["time_s"].to_numpy(), hidden, feats, analysis, title=title)
