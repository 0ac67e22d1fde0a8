"""Experiment names of Zhang et al. (2018), parsed once (no torch at import time).

=============================  ===============================================================
``alexaudio``                   AlexNet on 64x64x3 log-Mel segments, not fine-tuned: fc7 per
                                segment, average-pooled per utterance, linear SVM (Table I)
``anet``                        the same AlexNet fine-tuned on each fold's training segments
                                (Tables I, II, IV)
``anet_mel64x15``               Anet on 64x15x3 segments (Table IV)
``c3dvisual``                   C3D on 16-frame face clips of each audio segment, not
                                fine-tuned (Table I)
``vnet``                        the same C3D fine-tuned per fold (Tables I, III)
``decision_<rule>``             Kittler's rules (majority_vote, max, sum, min, average,
                                product) over the per-utterance class probabilities of the
                                fold's Anet and Vnet (Table V)
``fusion_score_level``          0.5 * Anet + 0.5 * Vnet probabilities, argmax (Table VI)
``fusion_feature_level``        Anet and Vnet fc7 concatenated per segment, average-pooled,
                                linear SVM (Table VI)
``fusion_fc<1|2|3>``            fully connected fusion network on the concatenated fc7
                                (8192-4096[-2048[-1024]]), last hidden layer average-pooled
                                into a linear SVM (Tables VI, X)
``fusion_dbn<1|2|3>``           deep belief network of the same shapes: greedy RBM
                                pre-training, then fine-tuning (Tables VI-XI, Figs. 6-8)
=============================  ===============================================================

Fusion experiments keep Anet and Vnet fixed (stage 2 of the paper) and read the per-fold
features and probabilities that the ``anet`` and ``vnet`` runs of the same corpus and protocol
write beside their results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emorepro.families.base import Experiment, Grammar, Rule

FAMILY_ID = "zhang2018"
DECISION_RULES = ("majority_vote", "max", "sum", "min", "average", "product")
#: the fine-tuned networks whose fold features every fusion run reads
FUSION_SOURCES = ("anet", "vnet")


@dataclass(frozen=True)
class ZhangSpec:
    """What one experiment name means (module table)."""

    name: str
    modality: str  # audio | visual | fusion
    finetune: bool = True
    length: int = 64  # log-Mel frames per audio segment
    fusion: str | None = None  # decision | score | feature | fc | dbn
    rule: str | None = None  # decision rule
    depth: int | None = None  # hidden layers of an fc / dbn fusion network


def _exp(spec: ZhangSpec) -> Experiment:
    trains = spec.finetune or spec.fusion in ("fc", "dbn")
    return Experiment(FAMILY_ID, spec.name, "classification", trains_network=trains, spec=spec)


def _audio(m: re.Match[str]) -> Experiment:
    if m[0] == "alexaudio":
        return _exp(ZhangSpec(m[0], "audio", finetune=False))
    return _exp(ZhangSpec(m[0], "audio", length=15 if m[1] else 64))


def _visual(m: re.Match[str]) -> Experiment:
    return _exp(ZhangSpec(m[0], "visual", finetune=m[0] == "vnet"))


def _decision(m: re.Match[str]) -> Experiment:
    return _exp(ZhangSpec(m[0], "fusion", finetune=False, fusion="decision", rule=m[1]))


def _fusion(m: re.Match[str]) -> Experiment:
    if m[1] in ("score", "feature"):
        return _exp(ZhangSpec(m[0], "fusion", finetune=False, fusion=m[1]))
    return _exp(ZhangSpec(m[0], "fusion", finetune=False, fusion=m[2], depth=int(m[3])))


GRAMMAR = Grammar(
    FAMILY_ID,
    (
        Rule(r"alexaudio|anet(_mel64x15)?", _audio, "alexaudio, anet, anet_mel64x15"),
        Rule(r"c3dvisual|vnet", _visual, "c3dvisual, vnet"),
        Rule(rf"decision_({'|'.join(DECISION_RULES)})", _decision, "decision_<rule>"),
        Rule(
            r"fusion_(?:(score|feature)_level|(fc|dbn)([123]))",
            _fusion,
            "fusion_score_level, fusion_feature_level, fusion_<fc|dbn><1|2|3>",
        ),
    ),
)
