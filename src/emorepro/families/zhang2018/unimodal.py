"""Anet, Vnet, AlexAudio and C3DVisual: one network per fold, fc7 features, linear SVM.

Per fold of the corpus' protocol (LOSO, LOGSO): the network (AlexNet on log-Mel segments or
C3D on face clips: :mod:`~emorepro.families.zhang2018.audio_net`,
:mod:`~emorepro.families.zhang2018.visual_net`) starts from the configured pretrained weights
(else a seeded random initialisation, and the result says so), its input statistics come from
the fold's training segments, and - for Anet and Vnet - it is fine-tuned on them (the shared
trainer: cross-entropy, the profile's optimiser and epochs, a checkpoint per epoch; the paper
keeps no validation data inside a fold, so the last epoch is kept; each fold's loss curve goes
to the result's ``history`` and MLflow). Its fc7 features of every
segment are then average-pooled per utterance and a linear one-vs-one SVM (libsvm), trained
on the fold's training utterances, classifies the test utterances.

Each fold's features and per-utterance class probabilities (softmax averaged over segments)
are written to ``folds/<k>.npz`` beside the result: the fusion experiments read them, and a
rerun of an interrupted job reuses every finished fold.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.evaluation import Fold, fold_curves, run_over_folds, summarise_classification
from emorepro.families.base import RunContext
from emorepro.families.zhang2018.data import Segments, SegmentSet, audio_segments, visual_segments
from emorepro.families.zhang2018.spec import ZhangSpec
from emorepro.io import read_npz, write_npz
from emorepro.provenance import code_version
from emorepro.results import Outcome, settings_hash

log = logging.getLogger("emorepro")


@dataclass
class FoldFeatures:
    """What a unimodal run keeps of one fold: fc7 of every segment of every utterance
    (``seg_items`` names each segment's utterance) and each utterance's class probabilities."""

    items: np.ndarray
    seg_items: np.ndarray
    features: np.ndarray
    probs: np.ndarray
    #: hash of the settings that produced it (a fold of other settings is never reused)
    settings_sha256: str = ""
    #: training loss per fine-tuning epoch (empty without fine-tuning)
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def save(self, path: Path) -> None:
        write_npz(
            path,
            {
                "items": self.items,
                "seg_items": self.seg_items,
                "features": self.features.astype(np.float16),
                "probs": self.probs,
                "settings_sha256": np.asarray(self.settings_sha256),
                "train_loss": np.asarray(self.train_loss, np.float64),
            },
        )

    @classmethod
    def load(cls, path: Path) -> FoldFeatures:
        a = read_npz(path)
        return cls(
            a["items"].astype(str),
            a["seg_items"].astype(str),
            a["features"].astype(np.float32),
            a["probs"],
            str(a["settings_sha256"]) if "settings_sha256" in a else "",
            a["train_loss"] if "train_loss" in a else np.zeros(0),
        )

    def pooled(self, items: list[str]) -> np.ndarray:
        """Average of each listed utterance's segment features, ``(len(items), D)``."""
        from emorepro.families.zhang2018.pooling import average_pool

        order, pooled = average_pool(self.features, list(self.seg_items))
        row = {item: k for k, item in enumerate(order)}
        return pooled[[row[i] for i in items]]

    def item_probs(self, items: list[str]) -> np.ndarray:
        row = {item: k for k, item in enumerate(self.items)}
        return self.probs[[row[i] for i in items]]


def build_network(spec: ZhangSpec, settings: Mapping[str, Any], n_classes: int) -> Any:
    """AlexNet (audio) or C3D (visual) of the profile's width, with the configured weights."""
    from emorepro.families.zhang2018.audio_net import AudioAlexNet
    from emorepro.families.zhang2018.visual_net import C3D

    kind = spec.modality
    network, load = (AudioAlexNet, "load_imagenet") if kind == "audio" else (C3D, "load_sports1m")
    net = network(
        n_classes,
        width=settings[f"{kind}_width"],
        input_size=settings[f"{kind}_input"],
        dropout=settings["net_dropout"],
    )
    if settings[f"{kind}_weights"]:
        getattr(net, load)(settings[f"{kind}_weights"], settings[f"{kind}_sha256"])
    return net


def network_init(spec: ZhangSpec, settings: Mapping[str, Any]) -> str:
    """How the network started, for the table row."""
    key = "audio" if spec.modality == "audio" else "visual"
    source = "ImageNet AlexNet" if key == "audio" else "C3D Sports-1M"
    if settings[f"{key}_weights"]:
        return f"{source} weights (sha256 {settings[f'{key}_sha256'] or 'unchecked'})"
    return f"random initialisation (no {source} weights configured)"


def load_segments(ctx: RunContext, spec: ZhangSpec, classes: tuple[str, ...]) -> Segments:
    """Every segment of the fold sheet's utterances (audio or visual)."""
    index = read_index(ctx.path("index")).set_index("item_id")
    items = sorted(set(ctx.sheet()["item_id"]))
    labels = {i: classes.index(index.loc[i, "emotion"]) for i in items}
    if spec.modality == "audio":
        return audio_segments(ctx.path("logmel"), ctx.cache_dir, items, labels)
    size = int(ctx.settings["visual_input"])
    return visual_segments(
        ctx.path("faces"), ctx.path("logmel"), ctx.cache_dir, items, labels, size=size
    )


@torch.no_grad()
def segment_outputs(net: Any, segments: Segments, device: torch.device, batch: int):
    """fc7 features and softmax probabilities of every segment (eval mode)."""
    net.eval()
    loader = DataLoader(SegmentSet(segments, np.arange(len(segments.items))), batch_size=batch)
    feats, probs = [], []
    for b in loader:
        f = net.features(b["x"].to(device))
        feats.append(f.float().cpu().numpy())
        probs.append(torch.softmax(net.fc8(f), dim=1).float().cpu().numpy())
    return np.concatenate(feats), np.concatenate(probs)


def train_fold(
    ctx: RunContext,
    spec: ZhangSpec,
    segments: Segments,
    fold: Fold,
    classes: tuple[str, ...],
    device: torch.device,
) -> FoldFeatures:
    """One fold's network (fine-tuned or not) and its features of every segment."""
    from emorepro.training.runtime import seed_everything
    from emorepro.training.tasks import ClassificationTask
    from emorepro.training.trainer import DictInput, TrainConfig, train

    s = ctx.settings
    seed = ctx.seed + fold.index
    seed_everything(seed, device=device)
    net = build_network(spec, s, len(classes)).to(device)
    train_idx = segments.select(set(fold.train))
    sample = train_idx[:: max(1, len(train_idx) // int(s["stats_segments"]))]
    net.fit_input_stats(torch.from_numpy(segments.stack(sample)).to(device))
    if spec.finetune:
        epochs = int(s["audio_epochs" if spec.modality == "audio" else "visual_epochs"])
        cfg = TrainConfig(
            loss="cross_entropy",
            optimizer=s["optimizer"],
            momentum=float(s["momentum"]) if s["optimizer"] == "sgd" else 0.0,
            lr=float(s["lr"]),
            epochs=epochs,
            batch_size=int(s["batch_size"]),
            seed=seed,
            device=str(device),
            name=f"{spec.name} fold {fold.index}",
            selection="last",
            samples_per_epoch=s["segments_per_epoch"],
        )
        ckpt = Path(f"{ctx.checkpoint}.fold{fold.index}")
        _, history = train(
            DictInput(net, ("x",)),
            SegmentSet(segments, train_idx),
            None,
            cfg,
            task=ClassificationTask(classes),
            checkpoint=ckpt,
        )
        ckpt.unlink(missing_ok=True)
        losses = np.asarray([e["train_loss"] for e in history["epochs"]], np.float64)
    else:
        losses = np.zeros(0)
    feats, seg_probs = segment_outputs(net, segments, device, int(s["batch_size"]))
    from emorepro.families.zhang2018.pooling import average_pool

    items, probs = average_pool(seg_probs, segments.items)
    return FoldFeatures(
        np.asarray(items, str), np.asarray(segments.items, str), feats, probs, train_loss=losses
    )


def fold_svm(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray, C: float) -> np.ndarray:
    """Linear one-vs-one SVM (libsvm) on pooled features, z-scored with training statistics."""
    from emorepro.families.baselines.svm import train_linear_svc

    return np.asarray(train_linear_svc(train_x, train_y, C=C).predict(test_x))


def run_unimodal(ctx: RunContext) -> Outcome:
    """One network per fold, its pooled fc7 features, a linear SVM (module docstring)."""
    from emorepro.training.runtime import torch_device

    spec: ZhangSpec = ctx.experiment.spec
    device = torch_device(ctx.execution)
    classes = get_adapter(ctx.corpus).labels
    segments = load_segments(ctx, spec, classes)
    log.info(
        "%s: %d segments of %d utterances, input %s",
        spec.name,
        len(segments.items),
        len(set(segments.items)),
        segments.x.shape[1:],
    )
    gold = {i: classes[k] for i, k in segments.label_of.items()}
    digest = run_digest(ctx)
    files, curves = [], {}

    def fit_predict(fold: Fold) -> pd.DataFrame:
        path = ctx.result_dir / "folds" / f"{fold.index}.npz"
        ff = FoldFeatures.load(path) if path.is_file() else None
        if ff is None or ff.settings_sha256 != digest:  # reuse a finished fold of this run only
            ff = train_fold(ctx, spec, segments, fold, classes, device)
            ff.settings_sha256 = digest
            ff.save(path)
        files.append(f"folds/{fold.index}.npz")
        curves[fold.index] = ff.train_loss
        y_pred = fold_svm(
            ff.pooled(fold.train),
            [gold[i] for i in fold.train],
            ff.pooled(fold.test),
            float(ctx.settings["svm_C"]),
        )
        return pd.DataFrame(
            {"item_id": fold.test, "y_true": [gold[i] for i in fold.test], "y_pred": y_pred}
        )

    table = run_over_folds(ctx.sheet(), fit_predict)
    init = network_init(spec, ctx.settings)
    return finish(ctx, spec, table, classes, files, init=init, history=fold_curves(curves))


def run_digest(ctx: RunContext) -> str:
    """What a kept fold must have been computed with to be reused: the settings, the seed,
    the job's input files (fold sheet, features, the runs it fuses) and the code version."""
    return settings_hash(
        {
            **ctx.settings,
            "seed": ctx.seed,
            "inputs": ctx.inputs_digest(),
            "code": code_version(),
        }
    )


def finish(
    ctx: RunContext,
    spec: ZhangSpec,
    table: pd.DataFrame,
    classes: tuple[str, ...],
    files: list[str],
    **params: Any,
) -> Outcome:
    """The outcome of a Zhang run: the classification summary plus the row-normalised
    confusion cells (``confusion.<true>.<predicted>``, Figs. 6-8)."""
    from emorepro.evaluation import confusion_rates

    summary = summarise_classification(table, classes)
    rates = confusion_rates(summary.confusion)
    summary.metrics.update(rates)
    summary.metric_variants.update(dict.fromkeys(rates, CONFUSION_VARIANT))
    return summary.outcome(
        "classification",
        table,
        labels=classes,
        files=files,
        profile=ctx.settings["profile"],
        params={
            "spec": spec.name,
            "svm": "libsvm linear C-SVC on average-pooled features",
            "svm_C": ctx.settings["svm_C"],
            **params,
        },
    )


CONFUSION_VARIANT = "share of the true class predicted as the column class, pooled over folds"
