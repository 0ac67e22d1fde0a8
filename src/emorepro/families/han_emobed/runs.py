"""One EmoBed experiment job: the weight sweep, the chosen network, its predictions.

* ``classic``: one network per target (α = β = 0).
* ``joint``/``triplet``: one network per value of ``alpha_grid`` / ``beta_grid``; the value
  with the best dev score (CCC of the raw predictions on RECOLA, F1(UAP, UAR) on OMG) is kept,
  every dev score is recorded (``<target>.dev_by_alpha`` / ``dev_by_beta``: Figs. 5-7).
* ``emobed``: one network with the α and β that the ``joint`` and ``triplet`` runs of the same
  scenario chose (read from their results: §3.7 item 5 decided this way), plus a t-SNE of the
  dev embeddings of both modalities, EmoBed against the two classic systems (Figs. 3-4).

On OMG-Emotion the test labels were not released: the paper tunes and reports on dev, and so
does this code (said in every result's ``params``). ``model.pt`` holds the monomodal inference
networks (auxiliary branch removed) per target.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from emorepro import metrics as M
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.evaluation import summarise_classification, summarise_regression
from emorepro.families.base import RunContext
from emorepro.families.han_emobed import data as D
from emorepro.families.han_emobed.nets import EmoBedNet
from emorepro.families.han_emobed.spec import HanSpec
from emorepro.families.han_emobed.train import (
    NetSettings,
    Timer,
    TrainSet,
    sequence_outputs,
    train_network,
    utterance_outputs,
)
from emorepro.io import atomic_write
from emorepro.protocols import role_items
from emorepro.results import Outcome, read_result

log = logging.getLogger("emorepro")
MODEL_FORMAT = 1
F1_VARIANT = "F1 = 2 UAP UAR / (UAP + UAR), classes present, pooled (Han et al. 003)"
UAP_VARIANT = "unweighted average precision over classes present, pooled"
TRIPLET_LABELS = "high/low split of the target at the median of its training frames"


def weight_points(
    spec: HanSpec, settings: Mapping[str, Any], chosen: Mapping[str, float] | None = None
) -> list[tuple[float, float]]:
    """The (α, β) pairs one target is trained with (module docstring)."""
    if spec.method == "classic":
        return [(0.0, 0.0)]
    if spec.method == "joint":
        return [(float(a), 0.0) for a in settings["alpha_grid"]]
    if spec.method == "triplet":
        return [(0.0, float(b)) for b in settings["beta_grid"]]
    if chosen is None:
        raise ValueError("emobed needs the chosen alpha and beta")
    return [(float(chosen["alpha"]), float(chosen["beta"]))]


def chosen_weights(ctx: RunContext, target: str) -> dict[str, float]:
    """α of the ``joint`` run and β of the ``triplet`` run of this scenario, for ``target``."""
    out = {}
    for key, weight in (("joint", "alpha"), ("triplet", "beta")):
        result = read_result(ctx.path(key))
        value = result["params"].get(f"{target}.{weight}")
        if value is None:
            raise CorruptInputError(
                ctx.path(key), f"no params.{target}.{weight}", fix="rerun that experiment"
            )
        out[weight] = float(value)
    return out


def _classic_dev(ctx: RunContext, key: str) -> float:
    """The dev score of the classic system of this scenario's target (weight 0 of a sweep)."""
    result = read_result(ctx.path("classic_target"))
    if key not in result["metrics"]:
        raise CorruptInputError(ctx.path("classic_target"), f"no metric {key}", fix="rerun it")
    return float(result["metrics"][key])


def _save_models(ctx: RunContext, nets: Mapping[str, EmoBedNet], meta: Mapping[str, Any]) -> str:
    payload = {
        "format": MODEL_FORMAT,
        "meta": dict(meta),
        "state_dicts": {
            k: {n: v.detach().cpu() for n, v in net.state_dict().items()} for k, net in nets.items()
        },
    }
    atomic_write(ctx.result_dir / "model.pt", lambda p: torch.save(payload, p))
    return "model.pt"


def load_models(path: Path | str) -> tuple[dict[str, EmoBedNet], dict[str, Any]]:
    """The monomodal networks of a ``model.pt`` (per target key) and its metadata."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        meta = payload["meta"]
        nets = {}
        for key, state in payload["state_dicts"].items():
            net = EmoBedNet(
                {meta["modality"]: int(meta["n_in"])},
                hidden=int(meta["hidden"]),
                branch_layers=int(meta["branch_layers"]),
                shared_layers=int(meta["shared_layers"]),
                n_out=int(meta["n_out"]),
            )
            net.load_state_dict(state)
            nets[key] = net.eval()
    except (OSError, KeyError, RuntimeError, TypeError, ValueError) as err:
        raise CorruptInputError(path, f"not an EmoBed model file ({err})", fix="rerun it") from None
    return nets, meta


def _meta(spec: HanSpec, s: NetSettings, n_in: int, n_out: int) -> dict[str, Any]:
    return {
        "experiment": spec.name,
        "modality": spec.target,
        "n_in": n_in,
        "n_out": n_out,
        "hidden": s.hidden,
        "branch_layers": s.branch_layers,
        "shared_layers": s.shared_layers,
    }


def _better(score: float, best: float | None) -> bool:
    return best is None or score > best + 1e-12


class Sweep:
    """Train one network per (α, β) point and keep the one with the best dev score (the
    first on a tie); every score is logged and returned by weight value (Figs. 5-7)."""

    def __init__(
        self,
        ctx: RunContext,
        data: Mapping[str, TrainSet],
        *,
        n_out: int,
        classify: bool,
        settings: NetSettings,
        device: torch.device,
    ) -> None:
        self.ctx, self.data, self.n_out, self.classify = ctx, data, n_out, classify
        self.settings, self.device = settings, device

    def run(
        self, points: Sequence[tuple[float, float]], score_of: Any, label: str
    ) -> tuple[EmoBedNet, float, float, list[float], dict[str, float]]:
        spec: HanSpec = self.ctx.experiment.spec
        best: tuple[EmoBedNet, float, float, list[float]] | None = None
        best_score: float | None = None
        by_value: dict[str, float] = {}
        for alpha, beta in points:
            timer = Timer()
            net, curve = train_network(
                self.data,
                spec.target,
                spec.aux,
                alpha=alpha,
                beta=beta,
                settings=self.settings,
                seed=self.ctx.seed,
                classify=self.classify,
                n_out=self.n_out,
                device=self.device,
            )
            score = float(score_of(net))
            by_value[f"{alpha:g}" if spec.method == "joint" else f"{beta:g}"] = score
            log.info(
                "%s %s alpha=%g beta=%g: dev score %.3f (%d epochs, %s)",
                spec.name,
                label,
                alpha,
                beta,
                score,
                self.settings.epochs,
                timer,
            )
            if _better(score, best_score):
                best, best_score = (net, alpha, beta, curve), score
        assert best is not None
        return (*best, by_value)


# --- RECOLA: regression ---------------------------------------------------------------------


def _standardised(recs: D.Recordings, train_items: Sequence[str]) -> D.Recordings:
    mean, std = D.standardiser(recs.subset(train_items).x)
    return D.Recordings(
        recs.items, recs.t, [(x - mean) / std for x in recs.x], recs.y, recs.columns
    )


def _tsne_frames(rec: D.Recordings, shift: int, points: int) -> list[np.ndarray]:
    """Evenly spaced feature frames of each recording (about ``points`` in all) that have a
    shifted label."""
    total = sum(max(len(x) - shift, 0) for x in rec.x)
    step = max(1, int(np.ceil(total / max(points, 1))))
    return [np.arange(0, max(len(x) - shift, 0), step) for x in rec.x]


def _embed_points(
    net: EmoBedNet,
    modality: str,
    rec: D.Recordings,
    frames: list[np.ndarray],
    shift: int,
    target: int,
    threshold: float,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    _, embs = sequence_outputs(net, modality, rec.x, device)
    pts = np.concatenate([e[f] for e, f in zip(embs, frames, strict=True)])
    gold = np.concatenate([y[f + shift, target] for y, f in zip(rec.y, frames, strict=True)])
    return pts, (gold > threshold).astype(int)


def run_regression(ctx: RunContext) -> Outcome:
    """A RECOLA experiment: arousal and valence, dev and test predictions (module docstring)."""
    from emorepro.families.han_emobed.figures import tsne_panel
    from emorepro.training.runtime import torch_device

    spec: HanSpec = ctx.experiment.spec
    s = ctx.settings
    net_s = NetSettings.from_mapping(s)
    device = torch_device(ctx.execution)
    shift = D.shift_frames(float(s["label_shift_s"]))
    sheet = ctx.sheet()
    roles = {r: role_items(sheet, r) for r in ("train", "dev", "test")}
    mods = [spec.target] + ([spec.aux] if spec.aux else [])
    recs = {m: _standardised(D.read_recordings(ctx.path(m)), roles["train"]) for m in mods}
    split = {m: {r: recs[m].subset(items) for r, items in roles.items()} for m in mods}
    rows, params, nets, curves, tsne = [], {}, {}, {}, {}
    for ti, target in enumerate(D.TARGETS):
        data, thresholds = {}, {}
        for m in mods:
            pairs = D.shifted_pairs(split[m]["train"], ti, shift)
            x, y = D.chunks(pairs, net_s.seq_len)
            thresholds[m] = float(np.median(np.concatenate([p[1] for p in pairs])))
            data[m] = TrainSet(x, y.astype(np.float32), thresholds[m])
        chosen = chosen_weights(ctx, target) if spec.method == "emobed" else None

        def dev_ccc(net: EmoBedNet, ti: int = ti) -> float:
            dev = split[spec.target]["dev"]
            outs, _ = sequence_outputs(net, spec.target, dev.x, device)
            preds = [D.align_predictions(o, shift) for o in outs]
            return M.ccc_partition([y[:, ti] for y in dev.y], preds, pooling="pooled")

        sweep = Sweep(ctx, data, n_out=1, classify=False, settings=net_s, device=device)
        net, alpha, beta, curve, by_value = sweep.run(
            weight_points(spec, s, chosen), dev_ccc, target
        )
        params.update(
            {
                f"{target}.alpha": alpha,
                f"{target}.beta": beta,
                f"{target}.train_median": thresholds[spec.target],
            }
        )
        if spec.method in ("joint", "triplet"):
            weight = "alpha" if spec.method == "joint" else "beta"
            params[f"{target}.dev_ccc_by_{weight}"] = by_value
            params[f"{target}.dev_ccc_classic"] = _classic_dev(ctx, f"{target}.dev.ccc")
        curves[target] = curve
        for role in ("dev", "test"):
            rec = split[spec.target][role]
            outs, _ = sequence_outputs(net, spec.target, rec.x, device)
            for item, t, y, o in zip(rec.items, rec.t, rec.y, outs, strict=True):
                rows.append(
                    pd.DataFrame(
                        {
                            "item_id": item,
                            "time_s": t,
                            "role": role,
                            "target": target,
                            "y_true": y[:, ti].astype(np.float64),
                            "y_pred": D.align_predictions(o, shift).astype(np.float64),
                        }
                    )
                )
        if spec.method == "emobed":
            tsne[target] = _recola_tsne(
                ctx,
                spec,
                net,
                split,
                shift,
                ti,
                thresholds,
                device,
                int(s["tsne_points"]),
                tsne_panel,
            )
        nets[target] = net.monomodal(spec.target).cpu()
    table = pd.concat(rows, ignore_index=True)
    summary = summarise_regression(table, targets=D.TARGETS)
    n_in = recs[spec.target].x[0].shape[1]
    files = [_save_models(ctx, nets, _meta(spec, net_s, n_in, 1))]
    params.update(
        label_shift_s=float(s["label_shift_s"]),
        triplet_labels=TRIPLET_LABELS,
        regression_loss="1 - CCC over the frames of a mini-batch" if net_s.loss == "ccc" else "MSE",
        weights_chosen_on="dev CCC of the raw predictions (before post-processing)",
        inference="monomodal: the auxiliary branch is removed after training",
        features={m: f"{len(recs[m].columns)} columns of {ctx.path(m).name}" for m in mods},
    )
    extra = {"loss_curves": curves}
    if tsne:
        extra["tsne"] = tsne
    return summary.outcome(
        "regression",
        table,
        params=params,
        targets=D.TARGETS,
        profile=s["profile"],
        files=files,
        device=str(device),
        extra=extra,
    )


def _recola_tsne(
    ctx: RunContext,
    spec: HanSpec,
    net: EmoBedNet,
    split: Mapping[str, Any],
    shift: int,
    ti: int,
    thresholds: Mapping[str, float],
    device: torch.device,
    points: int,
    panel: Any,
) -> dict[str, Any]:
    """t-SNE of dev embeddings, both modalities: the EmoBed network's two branches against
    the two classic systems (Fig. 3)."""
    target = D.TARGETS[ti]
    systems: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {"classic": [], "emobed": []}
    for m, key in ((spec.target, "classic_target"), (spec.aux, "classic_aux")):
        rec = split[m]["dev"]
        frames = _tsne_frames(rec, shift, points)
        classic = load_models(Path(ctx.path(key)).with_name("model.pt"))[0][target].to(device)
        systems["classic"].append(
            (m, *_embed_points(classic, m, rec, frames, shift, ti, thresholds[spec.target], device))
        )
        systems["emobed"].append(
            (m, *_embed_points(net, m, rec, frames, shift, ti, thresholds[spec.target], device))
        )
    return {k: panel(v, seed=ctx.seed) for k, v in systems.items()}


# --- OMG-Emotion: classification -------------------------------------------------------------


def _utterance_inputs(
    ctx: RunContext, modality: str, items: Sequence[str]
) -> tuple[np.ndarray, str]:
    if modality == "audio":
        return D.utterance_functionals(ctx.path("audio"), items), "eGeMAPSv02 functionals (88)"
    s = ctx.settings
    return D.utterance_video(
        ctx.path("faces"),
        ctx.cache_dir,
        items,
        weights=s.get("video_weights"),
        sha256=s.get("video_sha256"),
    )


def run_classification(ctx: RunContext) -> Outcome:
    """An OMG-Emotion experiment: 7 classes, trained on train, tuned and scored on dev."""
    from emorepro.corpora import get_adapter
    from emorepro.corpora.index import read_index
    from emorepro.families.han_emobed.figures import tsne_panel
    from emorepro.training.runtime import torch_device

    spec: HanSpec = ctx.experiment.spec
    s = ctx.settings
    net_s = NetSettings.from_mapping(s)
    device = torch_device(ctx.execution)
    classes = list(get_adapter(ctx.corpus).labels)
    index = read_index(ctx.path("index")).set_index("item_id")
    sheet = ctx.sheet()
    roles = {r: role_items(sheet, r) for r in ("train", "dev")}
    if not roles["train"] or not roles["dev"]:
        raise ConfigError(
            f"{ctx.corpus}/{ctx.protocol}: EmoBed needs train and dev items, the fold sheet has "
            f"{sheet['role'].value_counts().to_dict()}"
        )
    mods = [spec.target] + ([spec.aux] if spec.aux else [])
    feats, described = {}, {}
    for m in mods:
        x_all, described[m] = _utterance_inputs(ctx, m, roles["train"] + roles["dev"])
        n_train = len(roles["train"])
        mean, std = D.standardiser([x_all[:n_train]])
        x_all = (x_all - mean) / std
        feats[m] = {"train": x_all[:n_train], "dev": x_all[n_train:]}
    y = {
        r: D.class_indices(index.loc[items, "emotion"].tolist(), classes, str(ctx.path("index")))
        for r, items in roles.items()
    }
    data = {m: TrainSet(feats[m]["train"][:, None, :], y["train"]) for m in mods}
    chosen = chosen_weights(ctx, "emotion") if spec.method == "emobed" else None

    def dev_f1(net: EmoBedNet) -> float:
        logits, _ = utterance_outputs(net, spec.target, feats[spec.target]["dev"], device)
        pred = [classes[i] for i in logits.argmax(axis=1)]
        return M.f1_uap_uar([classes[i] for i in y["dev"]], pred, labels=classes)

    sweep = Sweep(ctx, data, n_out=len(classes), classify=True, settings=net_s, device=device)
    net, alpha, beta, curve, by_value = sweep.run(weight_points(spec, s, chosen), dev_f1, "emotion")
    logits, _ = utterance_outputs(net, spec.target, feats[spec.target]["dev"], device)
    pred = [classes[i] for i in logits.argmax(axis=1)]
    table = pd.DataFrame(
        {
            "fold": 0,
            "subject": index.loc[roles["dev"], "subject"].astype(str).to_numpy(),
            "item_id": roles["dev"],
            "y_true": [classes[i] for i in y["dev"]],
            "y_pred": pred,
        }
    )
    summary = summarise_classification(table, classes)
    summary.metrics["f1_uap_uar"] = M.f1_uap_uar(table["y_true"], table["y_pred"], labels=classes)
    summary.metrics["uap_pooled"] = M.uap(table["y_true"], table["y_pred"], labels=classes)
    summary.metric_variants.update(f1_uap_uar=F1_VARIANT, uap_pooled=UAP_VARIANT)
    params: dict[str, Any] = {
        "emotion.alpha": alpha,
        "emotion.beta": beta,
        "evaluated_on": "dev (OMG-Emotion test labels unreleased; weights also chosen on dev, "
        "as the paper)",
        "features": described,
        "triplet_labels": "the 7 classes",
        "inference": "monomodal: the auxiliary branch is removed after training",
    }
    if spec.method in ("joint", "triplet"):
        weight = "alpha" if spec.method == "joint" else "beta"
        params[f"emotion.dev_f1_by_{weight}"] = by_value
        params["emotion.dev_f1_classic"] = _classic_dev(ctx, "f1_uap_uar")
    extra: dict[str, Any] = {"loss_curves": {"emotion": curve}}
    if spec.method == "emobed":
        extra["tsne"] = {
            "emotion": _omg_tsne(ctx, spec, net, feats, y["dev"], classes, device, tsne_panel)
        }
    n_in = feats[spec.target]["train"].shape[1]
    files = [
        _save_models(
            ctx,
            {"emotion": net.monomodal(spec.target).cpu()},
            _meta(spec, net_s, n_in, len(classes)),
        )
    ]
    return summary.outcome(
        "classification",
        table,
        params=params,
        labels=classes,
        profile=s["profile"],
        files=files,
        device=str(device),
        extra=extra,
    )


#: the two classes of Fig. 4 (OMG dev, sad vs neutral)
TSNE_CLASSES = ("sadness", "neutral")


def _omg_tsne(
    ctx: RunContext,
    spec: HanSpec,
    net: EmoBedNet,
    feats: Mapping[str, Any],
    y_dev: np.ndarray,
    classes: Sequence[str],
    device: torch.device,
    panel: Any,
) -> dict[str, Any]:
    keep = np.isin(np.asarray(classes)[y_dev], TSNE_CLASSES)
    lab = (np.asarray(classes)[y_dev][keep] == TSNE_CLASSES[0]).astype(int)
    systems: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {"classic": [], "emobed": []}
    for m, key in ((spec.target, "classic_target"), (spec.aux, "classic_aux")):
        x = feats[m]["dev"][keep]
        classic = load_models(Path(ctx.path(key)).with_name("model.pt"))[0]["emotion"].to(device)
        systems["classic"].append((m, utterance_outputs(classic, m, x, device)[1], lab))
        systems["emobed"].append((m, utterance_outputs(net, m, x, device)[1], lab))
    return {k: panel(v, seed=ctx.seed) for k, v in systems.items()}
