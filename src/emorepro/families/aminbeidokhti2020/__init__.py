"""Aminbeidokhti (2020, M.A.Sc. thesis, 004): spatial attention and temporal softmax pooling on
AFEW (Ch. 2), Augmented Ensemble fusion with context gating on YouTube-8M and RECOLA (Ch. 3).

Experiment names: :mod:`~emorepro.families.aminbeidokhti2020.spec`. Ch. 2 networks:
:mod:`~emorepro.families.aminbeidokhti2020.attention`, runs :mod:`.afew`; Ch. 3 networks:
:mod:`~emorepro.families.aminbeidokhti2020.fusion`, runs :mod:`.fusion_runs`; Figs. 2.3 and
3.5: :mod:`.figures`. Settings: ``families.aminbeidokhti2020`` (profiles ``tiny``/``small``/
``paper``, each with ``attention``, ``yt8m`` and ``recola`` blocks; ``visual``: a local VGG-Face
file for the trunk).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.families.aminbeidokhti2020.spec import FAMILY_ID, GRAMMAR, AttentionSpec
from emorepro.families.base import (
    CORPUS_ROOT,
    Experiment,
    Family,
    JobInputs,
    RunContext,
    pick_profile,
)
from emorepro.layout import Layout
from emorepro.results import Outcome

#: face crops of Ch. 2 (dlib detection, eye alignment, 256 x 256)
FACE_KIND = "aminbeidokhti"
AUDIO_SET = "eGeMAPSv02"
ATTENTION_KEYS = (
    "width", "resize", "crop", "frames", "epochs", "batch_size", "lr_trunk", "lr_new",
    "momentum", "weight_decay", "restart_epochs", "attention_hidden", "optimizer",
)  # fmt: skip
FUSION_KEYS = ("hidden", "layers", "r", "optimizer", "lr", "lr_decay", "decay_steps",
               "batch_size", "epochs")  # fmt: skip


class Aminbeidokhti2020(Family):
    """Aminbeidokhti 2020 (module docstring)."""

    id = FAMILY_ID
    paper = FAMILY_ID
    title = "Aminbeidokhti 2020: spatial attention, temporal softmax pooling, Augmented Ensemble"
    grammar = GRAMMAR
    #: float32 CNN / MLP training: same kernels and seed -> identical; other CPUs may differ
    regression_tolerance = 0.05

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> JobInputs:
        out: JobInputs = {"index": layout.index(corpus)}
        if isinstance(exp.spec, AttentionSpec):
            out["faces"] = layout.faces(corpus, FACE_KIND)
        elif exp.spec.multilabel:
            out["root"] = CORPUS_ROOT
        else:
            out["audio"] = layout.windowed(corpus, AUDIO_SET)
            for name in ("appearance", "geometric"):
                out[name] = layout.video_windowed(corpus, protocol, name)
        return out

    def settings(
        self, exp: Experiment, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        name, profile = pick_profile(block, config["scale"], key=f"families.{self.id}")
        if isinstance(exp.spec, AttentionSpec):
            task = profile["attention"]
            visual = block.get("visual") or {}
            return {
                "profile": name,
                **{k: task[k] for k in ATTENTION_KEYS},
                "visual_weights": visual.get("weights"),
                "visual_sha256": visual.get("sha256"),
            }
        task = profile["yt8m" if exp.spec.multilabel else "recola"]
        return {"profile": name, **{k: task[k] for k in FUSION_KEYS}}

    def run(self, ctx: RunContext) -> Outcome:
        if isinstance(ctx.experiment.spec, AttentionSpec):
            from emorepro.families.aminbeidokhti2020 import afew

            return afew.run(ctx)
        from emorepro.families.aminbeidokhti2020 import fusion_runs

        if ctx.experiment.spec.multilabel:
            return fusion_runs.run_yt8m(ctx)
        return fusion_runs.run_recola(ctx)

    def figure_kinds(self) -> tuple[str, ...]:
        return ("attention", "gates")

    def draw_figure(
        self, kind: str, result: Mapping[str, Any], predictions: pd.DataFrame, out: Path
    ) -> None:
        from emorepro.families.aminbeidokhti2020.figures import draw

        draw(kind, result, out)


FAMILY = Aminbeidokhti2020()
