"""The post-processing step: a continuous result, post-processed with a family's grid."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.errors import ConfigError
from emorepro.families import find_grid
from emorepro.postprocess import postprocess_table
from emorepro.protocols import read_sheet
from emorepro.results import Identity, Outcome, read_result, source_of, write_result

log = logging.getLogger("emorepro")


def _train_reference(
    labels: Path | str, sheet: Path | str, targets: list[str]
) -> dict[str, tuple[float, float]]:
    """Gold-standard mean and population std of the training recordings, per target."""
    folds = read_sheet(sheet)
    train_items = set(folds.loc[folds["role"] == "train", "item_id"])
    gold = pd.read_parquet(labels)
    gold = gold[gold["item_id"].astype(str).isin(train_items)]
    if gold.empty:
        raise ConfigError(f"{sheet}: no training recordings with labels in {labels}")
    return {t: (float(gold[t].mean()), float(gold[t].std(ddof=0))) for t in targets}


def postprocess_step(
    *,
    predictions: Path | str,
    metrics: Path | str,
    labels: Path | str,
    sheet: Path | str,
    grid: str,
    out_predictions: Path | str,
    out_metrics: Path | str,
) -> dict[str, Any]:
    """Post-process a regression result with a grid (:mod:`emorepro.postprocess`).

    Centring and scaling use the gold-standard mean and standard deviation of the training
    recordings of the fold sheet; every step is chosen on dev and applied unchanged to test.
    The chosen parameters and the dev CCC after each step are recorded in the result, the
    metrics before post-processing in ``raw_metrics``.
    """
    base = read_result(metrics)
    if base["task"] != "regression":
        raise ConfigError(
            f"{metrics}: post-processing applies to regression results, this one is "
            f"{base['task']}; remove `postprocess:` from the card row"
        )
    table = pd.read_parquet(predictions)
    reference = _train_reference(labels, sheet, sorted(table["target"].unique()))
    out_table, pp = postprocess_table(table, grid=find_grid(grid), train_reference=reference)
    identity = Identity(
        paper=base["paper"],
        family=base["family"],
        experiment=base["experiment"],
        corpus=base["corpus"],
        protocol=base["protocol"],
        source=source_of(base),
        rule="postprocess",
        fold_sheet_sha256=base["fold_sheet_sha256"],
        settings={**base.get("settings", {}), "postprocess_grid": grid},
        postprocess=grid,
        replicate=base.get("replicate"),
    )
    outcome = Outcome(
        "regression",
        out_table,
        pp["metrics"],
        pp["metric_variants"],
        [{"fold": 0, "metrics": pp["metrics"], "params": {"grid": grid}}],
        params={**base["params"], "postprocess": pp["params"], "grid": grid},
        targets=base["targets"],
        profile=base.get("profile"),
        device=base.get("device"),
        raw_metrics=base["metrics"],
        extra=base.get("extra") or {},
    )
    result = write_result(
        identity, outcome, metrics_path=out_metrics, predictions_path=out_predictions
    )
    log.info("%s post-processed (%s): %s", base["experiment"], grid, pp["metrics"])
    return result
