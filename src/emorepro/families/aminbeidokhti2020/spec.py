"""Experiment names of Aminbeidokhti (2020, thesis 004), parsed once (no torch at import time).

Chapter 2 (AFEW, 7 classes, a VGG-16 trunk on aligned face crops):

=================================  ===========================================================
``vgg16_avg``                       frame-independent loss (Eq. 2.7): each frame classified,
                                    scores averaged over the frames before the softmax
``vgg16_tp``                        temporal softmax pooling (Eqs. 2.4-2.6), the frame vector is
                                    the conv5_3 map averaged over its L cells
``vgg16_tp_shift_h<N>``             + attention clusters with shifting (Long et al. 2018), N
                                    units over the L cells
``vgg16_tp_sa_h<N>_r<reg>``         + multi-head spatial self-attention (N heads) with the
                                    penalty reg * ||A A^T - I||_F^2
=================================  ===========================================================

Chapter 3 (Augmented Ensemble, two modalities): ``audio_only``, ``video_only``,
``early_fusion``, ``late_fusion``, ``ensemble``, ``centralnet``, ``augmented_ensemble`` on
RECOLA (arousal regression, frame-wise), and the same with ``_multilabel`` on YouTube-8M
(3,862-way multi-label, scored by GAP@20). The suffix fixes the task in the name, as every
experiment's task is (the card's Table 3.1 rows name the ``_multilabel`` experiments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emorepro.errors import ConfigError
from emorepro.families.base import Experiment, Grammar, Rule

FAMILY_ID = "aminbeidokhti2020"
FUSION_DESIGNS = (
    "audio_only",
    "video_only",
    "early_fusion",
    "late_fusion",
    "ensemble",
    "centralnet",
    "augmented_ensemble",
)
MULTILABEL_SUFFIX = "_multilabel"


@dataclass(frozen=True)
class AttentionSpec:
    """A chapter-2 experiment: ``pooling`` avg | tp; ``spatial`` mean | sa | shift."""

    name: str
    pooling: str
    spatial: str
    heads: int
    reg: float


@dataclass(frozen=True)
class FusionSpec:
    """A chapter-3 experiment: one of :data:`FUSION_DESIGNS`, on YouTube-8M when
    ``multilabel`` else on RECOLA."""

    name: str
    design: str
    multilabel: bool


def _attention(m: re.Match[str]) -> Experiment:
    pooling = m["pool"]
    spatial = m["kind"] or "mean"
    heads = int(m["heads"]) if m["heads"] else 1
    reg = float(m["reg"]) if m["reg"] else 0.0
    if pooling == "avg" and spatial != "mean":
        raise ConfigError(
            f"{FAMILY_ID}: experiment {m[0]!r}: spatial attention is only defined with temporal "
            "softmax pooling (vgg16_tp_sa_h<N>_r<reg>, vgg16_tp_shift_h<N>)"
        )
    if spatial == "shift" and m["reg"] is not None:
        raise ConfigError(f"{FAMILY_ID}: experiment {m[0]!r}: SHIFT has no penalty; drop _r<reg>")
    if spatial == "sa" and m["reg"] is None:
        raise ConfigError(
            f"{FAMILY_ID}: experiment {m[0]!r}: name the penalty weight, e.g. {m[0]}_r0.1"
        )
    if heads < 1 or heads > 16:
        raise ConfigError(f"{FAMILY_ID}: experiment {m[0]!r}: use 1-16 attention heads")
    figures = ("confusion", "attention") if spatial != "mean" else ("confusion",)
    spec = AttentionSpec(m[0], pooling, spatial, heads, reg)
    return Experiment(
        FAMILY_ID, m[0], "classification", figures=figures, trains_network=True, spec=spec
    )


def _fusion(m: re.Match[str]) -> Experiment:
    multilabel = bool(m["ml"])
    spec = FusionSpec(m[0], m["design"], multilabel)
    if multilabel:
        figures = ("gates",) if spec.design == "augmented_ensemble" else ()
        task = "analysis"
    else:
        figures = ("trace",)
        task = "regression"
    return Experiment(FAMILY_ID, m[0], task, figures=figures, trains_network=True, spec=spec)


GRAMMAR = Grammar(
    FAMILY_ID,
    (
        Rule(
            r"vgg16_(?P<pool>avg|tp)(?:_(?P<kind>sa|shift)_h(?P<heads>\d+)"
            r"(?:_r(?P<reg>\d+(?:\.\d+)?))?)?",
            _attention,
            "vgg16_avg, vgg16_tp, vgg16_tp_shift_h<N>, vgg16_tp_sa_h<N>_r<reg>",
        ),
        Rule(
            rf"(?P<design>{'|'.join(FUSION_DESIGNS)})(?P<ml>{MULTILABEL_SUFFIX})?",
            _fusion,
            f"<design>[{MULTILABEL_SUFFIX}] (design: {', '.join(FUSION_DESIGNS)})",
        ),
    ),
)
