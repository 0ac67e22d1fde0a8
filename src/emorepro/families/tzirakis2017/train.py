"""Train and evaluate one end-to-end experiment of Tzirakis et al. on one fixed partition.

Each run selects its epoch on dev CCC (train + dev runs: last epoch), predicts dev and test
whole recordings (long predictions table, ``<target>.<role>.ccc`` metrics), and writes
``model.pt`` beside its result (the kept weights and the settings that rebuild the network),
which multimodal runs and Fig. 2 start from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from emorepro.evaluation import summarise_regression
from emorepro.families.base import RunContext, model_file_of
from emorepro.families.tzirakis2017.data import load_recordings, make_dataset, standardise_landmarks
from emorepro.families.tzirakis2017.spec import TARGETS, E2ESpec
from emorepro.results import Outcome

log = logging.getLogger("emorepro")


def visual_init(spec: E2ESpec, settings: Mapping[str, Any]) -> str | None:
    """How the visual CNN started, for the table row: ImageNet file digest or random."""
    if spec.network == "speech":
        return None
    if spec.network == "multimodal":
        return "from " + ", ".join(spec.init)
    sha = settings.get("visual_sha256")
    if settings.get("visual_weights"):
        return f"ImageNet weights (sha256 {sha})" if sha else "ImageNet weights (unchecked file)"
    return "random initialisation (no ImageNet weights configured)"


def prediction_table(dataset: Any, predicted: Mapping[str, np.ndarray], role: str) -> pd.DataFrame:
    """Long table ``item_id, time_s, role, target, y_true, y_pred`` of one partition."""
    parts = []
    for target_idx, target in enumerate(TARGETS):
        for item in dataset.items:
            gold = dataset.labels[item][:, target_idx]
            parts.append(
                pd.DataFrame(
                    {
                        "item_id": item,
                        "time_s": np.arange(len(gold)) * 0.04,
                        "role": role,
                        "target": target,
                        "y_true": gold.astype(np.float64),
                        "y_pred": predicted[item][:, target_idx].astype(np.float64),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def _datasets(ctx: RunContext, spec: E2ESpec, settings: dict[str, Any]) -> tuple[Any, dict, dict]:
    """(training set, dev/test sets, extra records): recordings of every role loaded, the
    landmarks standardised with training statistics when the spec uses them."""
    sheet = ctx.sheet()
    recs = {
        role: load_recordings(
            spec,
            ctx.corpus,
            sheet.loc[sheet["role"] == role, "item_id"].tolist(),
            root=ctx.path("root"),
            index_csv=ctx.path("index"),
            faces=ctx.inputs.get("faces"),
            landmarks=ctx.inputs.get("landmarks"),
            cache_dir=ctx.cache_dir,
        )
        for role in ("train", "dev", "test")
    }
    extra: dict[str, Any] = {}
    if spec.landmarks:
        extra["landmark_standardisation"] = standardise_landmarks(recs)
        settings["landmarks_dim"] = int(recs["train"][0].landmarks.shape[1])
    train_recs = [r for role in spec.train_roles for r in recs[role]]
    train_set = make_dataset(spec, train_recs, settings, train=True)
    sets = {r: make_dataset(spec, recs[r], settings, train=False) for r in ("dev", "test")}
    return train_set, sets, extra


def _params(
    spec: E2ESpec, settings: Mapping[str, Any], history: Mapping[str, Any], network: Any
) -> dict[str, Any]:
    """What a run records besides its metrics: the spec, the settings (without the weights
    path), the parameter counts, the kept epoch and the training curves."""
    from emorepro.families.tzirakis2017.models import count_parameters

    return {
        "network": spec.network,
        "version": spec.version,
        "loss": spec.loss,
        "train_roles": "+".join(spec.train_roles),
        "epoch_selection": "best dev CCC" if spec.select_on_dev else "last epoch",
        "init": list(spec.init),
        "cnns_frozen": spec.freeze_cnns,
        "visual_init": visual_init(spec, settings),
        **{k: v for k, v in settings.items() if k != "visual_weights"},
        "n_parameters": count_parameters(network),
        "n_trainable": count_parameters(network, trainable_only=True),
        "best_epoch": history["best_epoch"],
        "history": history["epochs"],
    }


def run_e2e(ctx: RunContext) -> Outcome:
    """Train one end-to-end experiment (module docstring); ``model.pt`` goes beside the
    result; the job's checkpoint makes an interrupted run resume to the same numbers."""
    from emorepro.families.tzirakis2017.models import count_parameters
    from emorepro.families.tzirakis2017.networks import (
        build_network,
        initialise,
        input_keys,
        save_model,
    )
    from emorepro.training.runtime import seed_everything, torch_device
    from emorepro.training.trainer import DictInput, TrainConfig, predict, train

    spec: E2ESpec = ctx.experiment.spec
    settings = dict(ctx.settings)
    device = torch_device(ctx.execution)
    train_set, sets, extra = _datasets(ctx, spec, settings)
    seed_everything(ctx.seed, device=device)  # the weights' initialisation too
    network = build_network(spec, settings)
    if spec.init:
        initialise(network, spec, [model_file_of(m) for m in ctx.paths("init")])
    cfg = TrainConfig(
        loss=spec.loss,
        epochs=int(settings["epochs"]),
        lr=float(settings["lr"]),
        batch_size=int(settings["batch_size"]),
        seed=ctx.seed,
        device=str(device),
        name=spec.name,
    )
    log.info(
        "%s profile %s: %d parameters (%d trainable), %d training sequences from %s, %d "
        "epochs, on %s", spec.name, settings["profile"], count_parameters(network),
        count_parameters(network, trainable_only=True), len(train_set),
        "+".join(spec.train_roles), cfg.epochs, device,
    )  # fmt: skip
    dev_set = sets["dev"] if spec.select_on_dev else None
    model = DictInput(network, input_keys(spec))
    model, history = train(model, train_set, dev_set, cfg, checkpoint=ctx.checkpoint)
    table = pd.concat(
        [prediction_table(sets[r], predict(model, sets[r], device=device), r) for r in sets],
        ignore_index=True,
    )
    save_model(ctx.result_dir / "model.pt", network, spec, settings)
    summary = summarise_regression(
        table, targets=TARGETS, fold_params={"best_epoch": history["best_epoch"]}
    )
    return summary.outcome(
        "regression",
        table,
        params=_params(spec, settings, history, network),
        targets=TARGETS,
        profile=settings["profile"],
        files=["model.pt"],
        device=str(device),
        timing=history.get("timing", []),
        extra=extra,
    )
