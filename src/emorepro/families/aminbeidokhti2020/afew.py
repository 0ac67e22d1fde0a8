"""Chapter 2 runs: AFEW, Train -> train, Val -> evaluation (thesis 004 Sec. 2.3).

Inputs are the ``aminbeidokhti`` face crops (dlib detection, eye alignment, 256 x 256; clips
without a detected face carry the frame's centre square and are counted). Per clip:

* **training**: ``frames`` (16) frames drawn at random from the clip (with replacement when it
  has fewer), one random ``crop`` x ``crop`` window of the crops resized to ``resize`` and one
  random horizontal flip per clip ("flipping, mirroring and random cropping": both words read as
  the horizontal flip; the crop size is not stated);
* **evaluation** (the rule is not stated): every stored frame of the clip, centre crop, no flip;
  p(c | S) over all of them (``tp``) or the mean frame score (``avg``).

Optimiser (``optimizer: sgd``, the thesis): SGD, momentum ``momentum`` (not stated), weight
decay 5e-5, learning rate ``lr_trunk`` for the trunk and ``lr_new`` for the new layers (paper:
1e-5 and 0.1), cosine warm restarts every ``restart_epochs`` epochs (SGDR; the schedule is not
stated), ``epochs`` epochs, the last epoch kept (Val is the evaluation set, so nothing is
selected on it). ``optimizer: adam`` (the ``tiny``/``small`` profiles, random-init narrow
trunks) keeps the same groups, weight decay and restarts with Adam.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.aminbeidokhti2020.attention import (
    ClipNet,
    attention_penalty,
    clip_loss,
    clip_scores,
    frame_importance,
)
from emorepro.families.aminbeidokhti2020.spec import AttentionSpec
from emorepro.families.base import RunContext
from emorepro.results import Outcome

log = logging.getLogger("emorepro")

#: VGG-Face's training mean (RGB), removed from every pixel
VGGFACE_MEAN = np.asarray((129.1863, 104.7624, 93.5940), np.float32)
#: frames of the Fig. 2.3 example clip
EXAMPLE_FRAMES = 4


@dataclass(frozen=True)
class Regions:
    """Where the brows + mouth and the background lie in an aligned crop (fractions)."""

    brow: tuple[float, float, float, float]
    mouth: tuple[float, float, float, float]
    face: tuple[float, float, float, float]


def crop_regions() -> Regions:
    """Brow, mouth and whole-face boxes of the aligned crop from its eye geometry: eyes at
    rows ``eye_row`` and distance ``d`` (fractions of the side), brows 0.45 d to 0.05 d above
    the eyes, mouth 0.7 d to 1.3 d below them, the face from 0.8 d above to 1.7 d below,
    1.0 d either side of the centre."""
    from emorepro.features.faces import ALIGNED_EYE_DISTANCE, ALIGNED_EYE_ROW, ALIGNED_SIZE

    d = ALIGNED_EYE_DISTANCE / ALIGNED_SIZE[1]
    row = ALIGNED_EYE_ROW / ALIGNED_SIZE[0]
    return Regions(
        brow=(0.5 - 0.9 * d, row - 0.45 * d, 0.5 + 0.9 * d, row - 0.05 * d),
        mouth=(0.5 - 0.6 * d, row + 0.7 * d, 0.5 + 0.6 * d, row + 1.3 * d),
        face=(0.5 - 1.0 * d, row - 0.8 * d, 0.5 + 1.0 * d, row + 1.7 * d),
    )


def cell_masks(grid: int, regions: Regions) -> dict[str, np.ndarray]:
    """Boolean (grid*grid,) masks, row-major like the conv5_3 cells: a cell belongs to a
    region when its centre does; ``background`` = cells outside the face box."""
    centres = (np.arange(grid) + 0.5) / grid
    cy, cx = np.meshgrid(centres, centres, indexing="ij")

    def inside(box: tuple[float, float, float, float]) -> np.ndarray:
        x0, y0, x1, y1 = box
        return ((cx >= x0) & (cx <= x1) & (cy >= y0) & (cy <= y1)).ravel()

    return {
        "mouth_brow": inside(regions.brow) | inside(regions.mouth),
        "background": ~inside(regions.face),
    }


class Clips:
    """Face crops of a list of clips, resized to ``size`` x ``size`` once (uint8)."""

    def __init__(self, manifest: Path, cache_dir: Path, items: Sequence[str], size: int) -> None:
        import cv2

        from emorepro.io import read_cache_arrays

        table = pd.read_parquet(manifest).set_index("item_id")
        self.items = list(items)
        self.frames: list[np.ndarray] = []
        self.no_face = 0
        for item in self.items:
            if item not in table.index:
                raise CorruptInputError(manifest, f"no entry for {item}", fix="rerun face_crops")
            path = cache_dir / str(table.loc[item, "file"])
            (crops,) = read_cache_arrays(path, ("crops",), rule="face_crops")
            if len(crops) == 0:
                raise CorruptInputError(path, f"no frames for {item}", fix="check the video")
            self.frames.append(
                np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_AREA) for c in crops])
            )
            if "no_face" in table.columns:
                self.no_face += int(float(table.loc[item, "no_face"]) > 0)


def _to_tensor(batch: np.ndarray) -> torch.Tensor:
    """uint8 (..., H, W, 3) -> float (..., 3, H, W) minus the VGG-Face mean."""
    x = torch.from_numpy(batch.astype(np.float32) - VGGFACE_MEAN)
    return x.movedim(-1, -3).contiguous()


def train_batch(
    clips: Clips, idx: Sequence[int], s: Mapping[str, Any], rng: np.random.Generator
) -> torch.Tensor:
    """(B, frames, 3, crop, crop): random frames, one random crop and flip per clip."""
    n, crop, size = int(s["frames"]), int(s["crop"]), int(s["resize"])
    out = []
    for i in idx:
        frames = clips.frames[i]
        pick = np.sort(rng.choice(len(frames), size=n, replace=len(frames) < n))
        y0, x0 = rng.integers(0, size - crop + 1, size=2)
        part = frames[pick, y0 : y0 + crop, x0 : x0 + crop]
        if rng.random() < 0.5:
            part = part[:, :, ::-1]
        out.append(part)
    return _to_tensor(np.stack(out))


def eval_frames(frames: np.ndarray, s: Mapping[str, Any]) -> torch.Tensor:
    """(1, n, 3, crop, crop): every frame, centre crop."""
    crop, size = int(s["crop"]), int(s["resize"])
    o = (size - crop) // 2
    return _to_tensor(frames[None, :, o : o + crop, o : o + crop])


def build_net(spec: AttentionSpec, s: Mapping[str, Any], n_classes: int, *, seed: int) -> ClipNet:
    """The network of ``spec``, initialised from ``seed``."""
    torch.manual_seed(seed)
    return ClipNet(
        width=str(s["width"]),
        spatial=spec.spatial,
        heads=spec.heads,
        hidden=int(s["attention_hidden"]),
        n_classes=n_classes,
    )


def load_trunk_weights(net: ClipNet, path: str, sha256: str | None) -> str:
    """VGG-Face (or any VGG-16) conv weights from a local torchvision-style state dict."""
    from emorepro.models.weights import apply_state_dict, load_state_dict_file

    if str(net.trunk.channels) != "512" or any(
        isinstance(m, torch.nn.BatchNorm2d) for m in net.trunk.modules()
    ):
        raise ConfigError(
            "families.aminbeidokhti2020.visual.weights is set, but the profile's trunk width is "
            "not vgg16: use profile paper (or width vgg16) with VGG-Face weights"
        )
    state = load_state_dict_file(path, sha256=sha256)
    # pool5 (index 30) and the classifier are not part of the trunk
    trunk = {k: v for k, v in state.items() if k.startswith("features.")}
    apply_state_dict(net.trunk, trunk, source=path)
    return f"VGG-Face conv1_1-conv5_3 from local weights {path}"


def train_clipnet(
    net: ClipNet,
    clips: Clips,
    y: np.ndarray,
    spec: AttentionSpec,
    s: Mapping[str, Any],
    *,
    seed: int,
    device: torch.device,
) -> list[float]:
    """Train in place (module docstring); returns the mean training loss of every epoch."""
    rng = np.random.default_rng([seed, 2020])
    torch.manual_seed(seed)
    groups = [
        {"params": list(net.trunk.parameters()), "lr": float(s["lr_trunk"])},
        {"params": net.new_layers(), "lr": float(s["lr_new"])},
    ]
    if s["optimizer"] == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups, weight_decay=float(s["weight_decay"]))
    else:
        opt = torch.optim.SGD(
            groups, momentum=float(s["momentum"]), weight_decay=float(s["weight_decay"])
        )
    n, bs, epochs = len(y), int(s["batch_size"]), int(s["epochs"])
    steps = max(1, -(-n // bs))
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        opt, T_0=max(1, int(s["restart_epochs"]) * steps)
    )
    net.to(device).train()
    y_t = torch.from_numpy(np.asarray(y, np.int64))
    curve: list[float] = []
    t0 = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for b in range(steps):
            idx = order[b * bs : (b + 1) * bs]
            x = train_batch(clips, idx, s, rng).to(device)
            scores, a = net(x)
            loss = clip_loss(scores, y_t[idx].to(device), spec.pooling)
            if spec.spatial == "sa" and spec.reg > 0:
                loss = loss + spec.reg * attention_penalty(a.flatten(0, 1))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        curve.append(total / n)
        log.info(
            "%s epoch %d/%d: loss %.4f (%.0f s)",
            spec.name,
            epoch + 1,
            epochs,
            curve[-1],
            time.perf_counter() - t0,
        )
    return curve


@torch.no_grad()
def evaluate(
    net: ClipNet, clips: Clips, spec: AttentionSpec, s: Mapping[str, Any], device: torch.device
) -> list[dict[str, np.ndarray]]:
    """Per clip: clip scores (C,), frame probabilities p(c | f) (F, C), frame importance
    p(f | S) (F,) and the attention maps (F, N, L)."""
    net.eval()
    out = []
    for frames in clips.frames:
        scores, a = net(eval_frames(frames, s).to(device))
        out.append(
            {
                "clip": clip_scores(scores, spec.pooling)[0].cpu().numpy(),
                "frame_probs": torch.softmax(scores[0], dim=1).cpu().numpy(),
                "importance": frame_importance(scores)[0].cpu().numpy(),
                "attention": a[0].cpu().numpy(),
            }
        )
    return out


def attention_mass(evals: Sequence[Mapping[str, np.ndarray]]) -> dict[str, float]:
    """Share of the attention on brow + mouth cells and on background cells (over every
    evaluation frame and head), each beside its area share (what uniform attention gives)."""
    a = np.concatenate([e["attention"].reshape(-1, e["attention"].shape[-1]) for e in evals])
    grid = round(np.sqrt(a.shape[1]))
    masks = cell_masks(grid, crop_regions())
    out: dict[str, float] = {}
    for name, mask in masks.items():
        out[f"attention.{name}_mass"] = float(a[:, mask].sum(axis=1).mean())
        out[f"attention.{name}_area"] = float(mask.mean())
    return out


def _png(frame: np.ndarray) -> str:
    import matplotlib.image as mpimg

    buf = io.BytesIO()
    mpimg.imsave(buf, frame, format="png")
    return base64.b64encode(buf.getvalue()).decode()


def example(
    clips: Clips, evals: Sequence[Mapping[str, np.ndarray]], y: np.ndarray, s: Mapping[str, Any]
) -> dict[str, Any]:
    """Fig. 2.3 data for the evaluation clip with the highest p(true class): a few frames
    (centre crops, PNG), their attention maps, p(c | f) and p(f | S) (0-100) of every frame."""
    best = int(np.argmax([e["clip"][t] for e, t in zip(evals, y, strict=True)]))
    e, frames = evals[best], clips.frames[best]
    crop, size = int(s["crop"]), int(s["resize"])
    o = (size - crop) // 2
    pick = np.unique(np.linspace(0, len(frames) - 1, EXAMPLE_FRAMES).round().astype(int))
    imp = e["importance"]
    return {
        "item_id": clips.items[best],
        "true": int(y[best]),
        "frames": [int(i) for i in pick],
        "png": [_png(frames[i, o : o + crop, o : o + crop]) for i in pick],
        "attention": [e["attention"][i].round(5).tolist() for i in pick],
        "frame_probs": e["frame_probs"].round(5).tolist(),
        "importance_0_100": (100 * imp / max(float(imp.max()), 1e-12)).round(3).tolist(),
    }


def run(ctx: RunContext) -> Outcome:
    """One Table 2.1 / 2.2 experiment (module docstring)."""
    from emorepro.corpora import get_adapter
    from emorepro.corpora.index import read_index
    from emorepro.evaluation import summarise_classification
    from emorepro.protocols import role_items
    from emorepro.training.runtime import torch_device

    spec: AttentionSpec = ctx.experiment.spec
    s = ctx.settings
    device = torch_device(ctx.execution)
    classes = list(get_adapter(ctx.corpus).labels)
    index = read_index(ctx.path("index")).set_index("item_id")
    sheet = ctx.sheet()
    roles = {r: role_items(sheet, r) for r in ("train", "dev")}
    if not roles["train"] or not roles["dev"]:
        raise ConfigError(
            f"{ctx.corpus}/{ctx.protocol}: needs Train and Val clips, the fold sheet has "
            f"{sheet['role'].value_counts().to_dict()}"
        )
    pos = {c: i for i, c in enumerate(classes)}
    y = {r: np.asarray([pos[str(index.loc[i, "emotion"])] for i in it]) for r, it in roles.items()}
    data = {
        r: Clips(ctx.path("faces"), ctx.cache_dir, it, int(s["resize"])) for r, it in roles.items()
    }
    net = build_net(spec, s, len(classes), seed=ctx.seed)
    weights = s.get("visual_weights")
    trunk_text = (
        load_trunk_weights(net, weights, s.get("visual_sha256"))
        if weights
        else f"random initialisation ({s['width']} trunk; no VGG-Face file configured)"
    )
    curve = train_clipnet(net, data["train"], y["train"], spec, s, seed=ctx.seed, device=device)
    evals = evaluate(net, data["dev"], spec, s, device)
    pred = [classes[int(np.argmax(e["clip"]))] for e in evals]
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
    summary.metrics["accuracy"] = summary.metrics["accuracy_pooled"]
    summary.metric_variants["accuracy"] = "accuracy over the Val clips (one prediction per clip)"
    extra: dict[str, Any] = {"loss_curve": curve}
    if spec.spatial != "mean":
        mass = attention_mass(evals)
        summary.metrics.update(mass)
        summary.metric_variants.update(
            {k: "attention share over every Val frame and head (cells by centre)" for k in mass}
        )
        extra["fig2_3"] = example(data["dev"], evals, y["dev"], s)
        extra["fig2_3"]["classes"] = classes
    torch.save(net.cpu().state_dict(), ctx.result_dir / "model.pt")
    params = {
        "trunk": trunk_text,
        "pooling": "temporal softmax" if spec.pooling == "tp" else "average (frame-wise loss)",
        "spatial": {"mean": "cell mean", "sa": "self-attention", "shift": "SHIFT"}[spec.spatial],
        "heads": spec.heads,
        "reg": spec.reg,
        "clips_without_face": {r: c.no_face for r, c in data.items()},
        "evaluated_on": "Val (as the thesis; it reports no test result)",
        "test_frames": "every stored face crop of the clip, centre crop",
    }
    return summary.outcome(
        "classification",
        table,
        params=params,
        labels=classes,
        profile=s["profile"],
        files=["model.pt"],
        device=str(device),
        extra=extra,
    )
