"""Stage 2 of Zhang et al.: fusing the fold's fixed Anet and Vnet (Sec. III-C, IV-D).

Every fusion run reads, per fold, the fc7 features of every segment and the per-utterance
class probabilities that the ``anet`` and ``vnet`` runs of the same corpus and protocol wrote
(:class:`~emorepro.families.zhang2018.unimodal.FoldFeatures`; the two networks of a fold see
the same audio segments, so their segments align). Then:

* ``decision_<rule>``: Kittler's rule over the two probability vectors of each utterance
  (the fine-tuned networks' softmax, averaged over the utterance's segments);
* ``fusion_score_level``: 0.5 * audio + 0.5 * visual probabilities, argmax;
* ``fusion_feature_level``: the concatenated fc7 (8192-d at paper width) average-pooled per
  utterance into a linear SVM;
* ``fusion_fc<k>`` / ``fusion_dbn<k>``: a fusion network on the concatenated segment features
  of the fold's training utterances (FC: random initialisation; DBN: greedy RBM pre-training
  first), fine-tuned with cross-entropy, its last hidden layer average-pooled per utterance
  into a linear SVM (the paper's classifier of the DBN; the same for FC, so that the networks
  compare alike). Each finished fold (test predictions, loss curve) is kept in
  ``folds/<k>.npz``; a rerun of the job with the same inputs and settings starts at the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.errors import CorruptInputError
from emorepro.evaluation import Fold, fold_curves, run_over_folds
from emorepro.families.base import RunContext
from emorepro.families.zhang2018.spec import ZhangSpec
from emorepro.families.zhang2018.unimodal import FoldFeatures, finish, fold_svm, run_digest
from emorepro.io import read_npz, write_npz
from emorepro.results import Outcome


def load_pair(ctx: RunContext, fold: Fold) -> tuple[FoldFeatures, FoldFeatures]:
    """The fold's Anet and Vnet features; segments must align (same utterances, same order)."""
    pair = []
    for key in ("anet", "vnet"):
        path = Path(ctx.path(key)).parent / "folds" / f"{fold.index}.npz"
        if not path.is_file():
            raise CorruptInputError(
                path,
                "fold features of the unimodal run are missing",
                fix=f"rerun the {key} experiment",
            )
        pair.append(FoldFeatures.load(path))
    a, v = pair
    if not np.array_equal(a.seg_items, v.seg_items):
        raise CorruptInputError(
            Path(ctx.path("vnet")).parent,
            "visual segments do not align with the audio ones",
            fix="rerun anet and vnet on the same log-Mel segments",
        )
    return a, v


def network_hidden(
    ctx: RunContext,
    spec: ZhangSpec,
    x: np.ndarray,
    train_idx: np.ndarray,
    labels: np.ndarray,
    n_classes: int,
    fold: Fold,
) -> tuple[np.ndarray, np.ndarray]:
    """Train an FC or DBN fusion network on the training segments ``x[train_idx]``; return
    its last hidden layer for every segment and its fine-tuning loss per epoch."""
    from emorepro.families.zhang2018.fusion_nets import DBN, FCFusion
    from emorepro.families.zhang2018.rbm import RBMConfig
    from emorepro.training.runtime import seed_everything, torch_device
    from emorepro.training.tasks import ClassificationTask
    from emorepro.training.trainer import DictInput, TrainConfig, train

    s = ctx.settings
    device = torch_device(ctx.execution)
    seed = ctx.seed + fold.index
    seed_everything(seed, device=device)
    sizes = (x.shape[1], *[int(h) for h in s["fusion_hidden"][: spec.depth]])
    net = (DBN if spec.fusion == "dbn" else FCFusion)(sizes, n_classes, dropout=s["dropout"])
    data = torch.from_numpy(x)
    if spec.fusion == "dbn":
        config = RBMConfig(
            epochs=int(s["rbm_epochs"]),
            batch_size=int(s["batch_size"]),
            lr_gaussian=float(s["rbm_lr_gaussian"]),
            lr_bernoulli=float(s["rbm_lr_bernoulli"]),
        )
        net.pretrain(data[train_idx], config=config, generator=torch.Generator().manual_seed(seed))
    else:
        net.fit_input_stats(data[train_idx])
    cfg = TrainConfig(
        loss="cross_entropy",
        optimizer=s["optimizer"],
        momentum=float(s["momentum"]) if s["optimizer"] == "sgd" else 0.0,
        lr=float(s["lr"]),
        epochs=int(s["fusion_epochs"]),
        batch_size=int(s["batch_size"]),
        seed=seed,
        device=str(device),
        name=f"{spec.name} fold {fold.index}",
        selection="last",
    )
    samples = _Rows(data, labels)
    _, history = train(
        DictInput(net, ("x",)),
        samples.subset(train_idx),
        None,
        cfg,
        task=ClassificationTask(tuple(map(str, range(n_classes)))),
    )
    net.eval()
    with torch.no_grad():
        hidden = net.hidden(data.to(device)).float().cpu().numpy()
    return hidden, np.asarray([e["train_loss"] for e in history["epochs"]], np.float64)


class _Rows(torch.utils.data.Dataset):
    """Segment feature rows as classification samples (``x``, ``target``, ``item``)."""

    def __init__(self, x: torch.Tensor, labels: np.ndarray, index: np.ndarray | None = None):
        self.x, self.labels = x, labels
        self.index = np.arange(len(x)) if index is None else index

    def subset(self, index: np.ndarray) -> _Rows:
        return _Rows(self.x, self.labels, index)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> dict[str, Any]:
        i = int(self.index[k])
        return {"x": self.x[i], "target": int(self.labels[i]), "item": str(i)}


def _predict(
    ctx: RunContext, spec: ZhangSpec, fold: Fold, gold: dict[str, str], classes: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Predicted class names of the fold's test utterances, and the fusion network's loss
    per epoch (empty for the fusions without a network)."""
    from emorepro.families.zhang2018.fusion_rules import fuse, score_level
    from emorepro.families.zhang2018.pooling import average_pool

    a, v = load_pair(ctx, fold)
    if spec.fusion in ("decision", "score"):
        pa, pv = a.item_probs(fold.test), v.item_probs(fold.test)
        k = fuse(spec.rule, pa, pv) if spec.fusion == "decision" else score_level(pa, pv)
        return np.asarray(classes)[k], np.zeros(0)
    x = np.concatenate([a.features, v.features], axis=1)
    seg_items = list(a.seg_items)
    losses = np.zeros(0)
    if spec.fusion in ("fc", "dbn"):
        train_idx = np.flatnonzero(np.isin(a.seg_items, fold.train))
        labels = np.asarray([classes.index(gold[i]) for i in seg_items])
        x, losses = network_hidden(
            ctx, spec, x.astype(np.float32), train_idx, labels, len(classes), fold
        )
    order, pooled = average_pool(x, seg_items)
    row = {item: k for k, item in enumerate(order)}
    train_x, test_x = (pooled[[row[i] for i in items]] for items in (fold.train, fold.test))
    y_pred = fold_svm(train_x, [gold[i] for i in fold.train], test_x, float(ctx.settings["svm_C"]))
    return y_pred, losses


def kept_fold(path: Path, digest: str, test: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """A fusion network's finished fold (predictions, loss curve) from an earlier attempt of
    this job, or None when there is none or it was computed from other inputs or settings."""
    if not path.is_file():
        return None
    kept = read_npz(path)
    if str(kept["settings_sha256"]) != digest or list(kept["items"].astype(str)) != test:
        return None
    return kept["y_pred"].astype(str), kept["train_loss"]


def run_fusion(ctx: RunContext) -> Outcome:
    """Fuse the fold's Anet and Vnet with the experiment's method (module docstring)."""
    spec: ZhangSpec = ctx.experiment.spec
    classes = get_adapter(ctx.corpus).labels
    gold = read_index(ctx.path("index")).set_index("item_id")["emotion"].to_dict()

    trains = spec.fusion in ("fc", "dbn")
    digest = run_digest(ctx) if trains else ""
    files, curves = [], {}

    def fit_predict(fold: Fold) -> pd.DataFrame:
        path = ctx.result_dir / "folds" / f"{fold.index}.npz"
        kept = kept_fold(path, digest, fold.test) if trains else None
        y_pred, losses = kept or _predict(ctx, spec, fold, gold, classes)
        if trains:
            if kept is None:
                write_npz(
                    path,
                    {
                        "items": np.asarray(fold.test, str),
                        "y_pred": np.asarray(y_pred, str),
                        "train_loss": losses,
                        "settings_sha256": np.asarray(digest),
                    },
                )
            files.append(f"folds/{fold.index}.npz")
            curves[fold.index] = losses
        return pd.DataFrame(
            {"item_id": fold.test, "y_true": [gold[i] for i in fold.test], "y_pred": y_pred}
        )

    table = run_over_folds(ctx.sheet(), fit_predict)
    method = {
        "decision": f"decision-level rule {spec.rule}",
        "score": "0.5 audio + 0.5 visual",
        "feature": "concatenated fc7, linear SVM",
    }.get(spec.fusion or "", "")
    if spec.fusion in ("fc", "dbn"):
        method = f"{spec.fusion.upper()}-{spec.depth} on concatenated fc7, last hidden layer + SVM"
    return finish(
        ctx,
        spec,
        table,
        classes,
        files,
        method=method,
        sources="anet, vnet (same fold)",
        **({"history": fold_curves(curves)} if trains else {}),
    )
