"""Chapter 3 runs: YouTube-8M (Table 3.1) and RECOLA arousal (Table 3.2).

**YouTube-8M**: video-level ``mean_audio`` (128) and ``mean_rgb`` (1024) as stored (the
starter code feeds them unnormalised), 3,862 sigmoid outputs, binary cross-entropy summed over
the classes and averaged over the batch, Adam (lr 0.01, x0.9 every ``decay_steps`` steps),
``epochs`` epochs and the last one kept (the thesis' early-stopping criterion is unclear and
would select on the evaluation shards). Items: the ``yt8m_shards`` fold sheet (train = train
shards + most validate shards, dev = held-out validate shards). Metric: GAP@20
(:func:`emorepro.metrics.gap`, top 20 per video as the starter code).

**RECOLA**: frame-wise MLPs at the 40 ms label rate; audio = eGeMAPS functionals over 8 s
windows, video = the AVEC 2016 appearance (84) and geometric (316) descriptors concatenated
(which set feeds "Video Only" is not stated; both do). Inputs standardised with the training
frames' statistics, arousal only, MSE, SGD (lr 0.1, batch 256), no label shift in training:
the post-processing chain (the ``tzirakis2017`` grid, Trigeorgis et al.'s chain that the
thesis cites) finds the delay on dev.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from emorepro import metrics as M
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.aminbeidokhti2020.fusion import FusionNet
from emorepro.families.aminbeidokhti2020.spec import FusionSpec
from emorepro.families.base import RunContext
from emorepro.results import Outcome

log = logging.getLogger("emorepro")

N_CLASSES = 3862
GAP_K = 20
GAP_VARIANT = f"GAP@{GAP_K}: top {GAP_K} per video pooled, N = all true labels (starter code)"
#: Fig. 3.5 shows four classes x 50 validation videos
GATE_CLASSES, GATE_VIDEOS = 4, 50
TARGET = "arousal"


def train_net(
    net: FusionNet,
    xa: np.ndarray,
    xv: np.ndarray,
    y: np.ndarray,
    s: Mapping[str, Any],
    loss_fn: Any,
    *,
    seed: int,
    device: torch.device,
    label: str,
) -> list[float]:
    """Mini-batch training in place; returns the mean loss of each epoch (last epoch kept)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 3])
    if s["optimizer"] == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(net.parameters(), lr=float(s["lr"]))
    elif s["optimizer"] == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=float(s["lr"]))
    else:
        raise ConfigError(f"optimizer must be adam or sgd, got {s['optimizer']!r}")
    sched = torch.optim.lr_scheduler.StepLR(
        opt, step_size=int(s["decay_steps"]), gamma=float(s["lr_decay"])
    )
    ta, tv, ty = (torch.from_numpy(np.ascontiguousarray(a, np.float32)) for a in (xa, xv, y))
    net.to(device).train()
    n, bs = len(y), int(s["batch_size"])
    curve: list[float] = []
    t0 = time.perf_counter()
    for epoch in range(int(s["epochs"])):
        order = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for b in range(0, n, bs):
            idx = order[b : b + bs]
            out = net(ta[idx].to(device), tv[idx].to(device))
            target = ty[idx].to(device)
            loss = loss_fn(out["score"], target)
            for aux in out["aux"]:
                loss = loss + loss_fn(aux, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        curve.append(total / n)
        if not np.isfinite(curve[-1]):
            raise ConfigError(
                f"{label}: training diverged (loss {curve[-1]}) in epoch {epoch + 1}; lower "
                "the profile's lr"
            )
        if epoch == 0 or (epoch + 1) % 5 == 0 or epoch + 1 == int(s["epochs"]):
            log.info(
                "%s epoch %d/%d: loss %.5f (%.0f s)",
                label,
                epoch + 1,
                int(s["epochs"]),
                curve[-1],
                time.perf_counter() - t0,
            )
    return curve


@torch.no_grad()
def predict(
    net: FusionNet, xa: np.ndarray, xv: np.ndarray, device: torch.device, *, batch: int = 4096
) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
    """Scores (n, n_out) and, for the augmented ensemble, the gates of every layer."""
    net.eval()
    scores, gates = [], []
    for b in range(0, len(xa), batch):
        out = net(
            torch.from_numpy(np.asarray(xa[b : b + batch], np.float32)).to(device),
            torch.from_numpy(np.asarray(xv[b : b + batch], np.float32)).to(device),
        )
        scores.append(out["score"].cpu().numpy())
        gates.append([{k: v.cpu().numpy() for k, v in layer.items()} for layer in out["gates"]])
    merged = [
        {k: np.concatenate([g[i][k] for g in gates]) for k in gates[0][i]}
        for i in range(len(gates[0]) if gates else 0)
    ]
    return np.concatenate(scores), merged


def make_net(
    spec: FusionSpec, s: Mapping[str, Any], d_a: int, d_v: int, n_out: int, *, seed: int
) -> FusionNet:
    """The design's network, initialised from ``seed``."""
    torch.manual_seed(seed)
    return FusionNet(
        spec.design,
        d_a,
        d_v,
        hidden=int(s["hidden"]),
        layers=int(s["layers"]),
        n_out=n_out,
        r=int(s["r"]),
    )


# --- YouTube-8M ------------------------------------------------------------------------------


def read_videos(
    root: Any, index: pd.DataFrame, items: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    """(audio (n, 128), rgb (n, 1024), labels) of ``items``, reading only their shards."""
    from emorepro.corpora.yt8m import ADAPTER

    want = set(items)
    shards = sorted(set(index.loc[list(items), "feature_path"]))
    found: dict[str, dict[str, Any]] = {}
    for shard in shards:
        for rec in ADAPTER.read_records(root / shard):
            if rec["id"] in want:
                found[rec["id"]] = rec
    missing = [i for i in items if i not in found]
    if missing:
        raise CorruptInputError(
            root, f"videos {missing[:5]} are not in their shards", fix="reindex"
        )
    audio = np.stack([found[i]["mean_audio"] for i in items]).astype(np.float32)
    rgb = np.stack([found[i]["mean_rgb"] for i in items]).astype(np.float32)
    return audio, rgb, [list(found[i]["labels"]) for i in items]


def multi_hot(labels: Sequence[Sequence[int]], n: int = N_CLASSES) -> np.ndarray:
    out = np.zeros((len(labels), n), np.float32)
    for i, lab in enumerate(labels):
        bad = [c for c in lab if not 0 <= int(c) < n]
        if bad:
            raise CorruptInputError("labels", f"class ids {bad} outside 0..{n - 1}")
        out[i, list(map(int, lab))] = 1.0
    return out


def gate_summary(
    gates: Sequence[Mapping[str, np.ndarray]], labels: Sequence[Sequence[int]], *, seed: int
) -> dict[str, Any]:
    """Fig. 3.5 data: the :data:`GATE_CLASSES` most frequent classes of the evaluation videos
    (the twin has no class names; the thesis picked game, string instrument, racing and
    concert), up to :data:`GATE_VIDEOS` videos each (seeded), and per layer the mean attention
    gate (g_0, g_1) and the mean context-gating activations of both branches."""
    counts: dict[int, int] = {}
    for lab in labels:
        for c in lab:
            counts[int(c)] = counts.get(int(c), 0) + 1
    top = sorted(counts, key=lambda c: (-counts[c], c))[:GATE_CLASSES]
    rng = np.random.default_rng([seed, 35])
    out: dict[str, Any] = {"classes": top, "layers": []}
    picks = {}
    for c in top:
        rows = np.asarray([i for i, lab in enumerate(labels) if c in lab])
        picks[c] = np.sort(rng.choice(rows, size=min(GATE_VIDEOS, len(rows)), replace=False))
    for layer in gates:
        out["layers"].append(
            {
                str(c): {
                    "n": len(picks[c]),
                    "g": layer["g"][picks[c]].mean(axis=0).round(5).tolist(),
                    "cg_a": layer["cg_a"][picks[c]].mean(axis=0).round(4).tolist(),
                    "cg_v": layer["cg_v"][picks[c]].mean(axis=0).round(4).tolist(),
                }
                for c in top
            }
        )
    return out


def run_yt8m(ctx: RunContext) -> Outcome:
    """A Table 3.1 experiment (module docstring)."""
    from emorepro.corpora.index import read_index
    from emorepro.protocols import role_items
    from emorepro.training.runtime import torch_device

    spec: FusionSpec = ctx.experiment.spec
    s = ctx.settings
    device = torch_device(ctx.execution)
    index = read_index(ctx.path("index")).set_index("item_id")
    sheet = ctx.sheet()
    roles = {r: role_items(sheet, r) for r in ("train", "dev")}
    if not roles["train"] or not roles["dev"]:
        raise ConfigError(f"{ctx.protocol}: needs train and held-out videos, the sheet has none")
    root = ctx.path("root")
    tr_a, tr_v, tr_lab = read_videos(root, index, roles["train"])
    ev_a, ev_v, ev_lab = read_videos(root, index, roles["dev"])
    net = make_net(spec, s, tr_a.shape[1], tr_v.shape[1], N_CLASSES, seed=ctx.seed)
    bce = torch.nn.BCEWithLogitsLoss(reduction="sum")

    def loss_fn(score: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return bce(score, y) / len(y)

    curve = train_net(
        net,
        tr_a,
        tr_v,
        multi_hot(tr_lab),
        s,
        loss_fn,
        seed=ctx.seed,
        device=device,
        label=spec.name,
    )
    logits, gates = predict(net, ev_a, ev_v, device)
    classes, scores = M.top_k(1.0 / (1.0 + np.exp(-logits)), k=GAP_K)
    value = M.gap(ev_lab, classes, scores)
    table = pd.DataFrame(
        {
            "item_id": roles["dev"],
            "role": "dev",
            "labels": [" ".join(map(str, lab)) for lab in ev_lab],
            "top_classes": [" ".join(map(str, row)) for row in classes],
            "top_scores": [" ".join(f"{v:.6g}" for v in row) for row in scores],
        }
    )
    shards = sorted(set(index.loc[roles["dev"], "feature_path"]))
    extra: dict[str, Any] = {"loss_curve": curve}
    if gates:
        extra["gates"] = gate_summary(gates, ev_lab, seed=ctx.seed)
    params = {
        "inputs": "mean_audio (128) and mean_rgb (1024) as stored",
        "evaluation_shards": shards,
        "n_train_videos": len(roles["train"]),
        "selection": "last epoch (no early stopping on the evaluation shards)",
    }
    return Outcome(
        "analysis",
        table,
        {"gap": value, "n_items": len(table), "n_labels": sum(map(len, ev_lab))},
        {"gap": GAP_VARIANT},
        [{"fold": 0, "metrics": {"gap": value}, "params": {}}],
        params=params,
        targets=["gap"],
        profile=s["profile"],
        device=str(device),
        extra=extra,
    )


# --- RECOLA ----------------------------------------------------------------------------------


def frame_table(paths: Sequence[Any]) -> pd.DataFrame:
    """Join frame tables (``item_id, time_s``, features, labels) on (item, 40 ms frame)."""
    merged = None
    for path in paths:
        table = pd.read_parquet(path)
        missing = [c for c in ("item_id", "time_s", TARGET) if c not in table.columns]
        if missing:
            raise CorruptInputError(path, f"missing columns {missing}", fix="rerun its rule")
        table = table.assign(frame=(table["time_s"] / 0.04).round().astype(np.int64))
        labels = [c for c in ("arousal", "valence") if c in table.columns]
        feats = table.drop(columns=["time_s"]).rename(
            columns={
                c: f"{path.stem}:{c}"
                for c in table.columns
                if c not in ("item_id", "frame", *labels)
            }
        )
        if merged is None:
            merged = feats
        else:
            merged = merged.merge(feats.drop(columns=labels), on=["item_id", "frame"])
    assert merged is not None
    values = merged.drop(columns=["item_id"])
    if values.isna().to_numpy().any():
        bad = merged.loc[values.isna().any(axis=1), "item_id"].unique()[:5].tolist()
        raise CorruptInputError(paths[0], f"NaN features or labels in {bad}", fix="rerun its rule")
    return merged.sort_values(["item_id", "frame"], kind="stable").reset_index(drop=True)


def run_recola(ctx: RunContext) -> Outcome:
    """A Table 3.2 experiment (module docstring)."""
    from emorepro.evaluation import summarise_regression
    from emorepro.protocols import role_items
    from emorepro.training.runtime import torch_device

    spec: FusionSpec = ctx.experiment.spec
    s = ctx.settings
    device = torch_device(ctx.execution)
    sheet = ctx.sheet()
    roles = {r: role_items(sheet, r) for r in ("train", "dev", "test")}
    table = frame_table([ctx.path("audio"), ctx.path("appearance"), ctx.path("geometric")])
    a_cols = [c for c in table.columns if c.startswith(f"{ctx.path('audio').stem}:")]
    v_cols = [c for c in table.columns if c.split(":")[0] in
              (ctx.path("appearance").stem, ctx.path("geometric").stem)]  # fmt: skip
    train = table[table["item_id"].isin(roles["train"])]
    if train.empty:
        raise ConfigError(f"{ctx.corpus}/{ctx.protocol}: no training frames")
    stats = {}
    for name, cols in (("a", a_cols), ("v", v_cols)):
        x = train[cols].to_numpy(np.float64)
        sd = x.std(axis=0)
        stats[name] = (cols, x.mean(axis=0), np.where(sd > 0, sd, 1.0))

    def inputs(part: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return tuple(  # type: ignore[return-value]
            ((part[c].to_numpy(np.float64) - m) / sd).astype(np.float32)
            for c, m, sd in stats.values()
        )

    xa, xv = inputs(train)
    net = make_net(spec, s, xa.shape[1], xv.shape[1], 1, seed=ctx.seed)
    mse = torch.nn.MSELoss()
    curve = train_net(
        net,
        xa,
        xv,
        train[[TARGET]].to_numpy(np.float32),
        s,
        mse,
        seed=ctx.seed,
        device=device,
        label=spec.name,
    )
    rows = []
    for role in ("dev", "test"):
        part = table[table["item_id"].isin(roles[role])]
        if part.empty:
            continue
        pa, pv = inputs(part)
        pred = predict(net, pa, pv, device)[0][:, 0]
        rows.append(
            pd.DataFrame(
                {
                    "item_id": part["item_id"].to_numpy(),
                    "time_s": part["frame"].to_numpy() * 0.04,
                    "role": role,
                    "target": TARGET,
                    "y_true": part[TARGET].to_numpy(np.float64),
                    "y_pred": pred.astype(np.float64),
                }
            )
        )
    preds = pd.concat(rows, ignore_index=True)
    summary = summarise_regression(
        preds, targets=(TARGET,), roles=tuple(r for r in ("dev", "test") if r in set(preds["role"]))
    )
    params = {
        "audio": f"{len(a_cols)} columns of {ctx.path('audio').name}",
        "video": f"{len(v_cols)} columns: appearance + geometric",
        "model": "frame-wise MLP at 40 ms",
        "label_shift": "none in training; the post-processing grid searches the delay on dev",
    }
    return summary.outcome(
        "regression",
        preds,
        params=params,
        targets=(TARGET,),
        profile=s["profile"],
        device=str(device),
        extra={"loss_curve": curve},
    )
