"""Experiment names of Han et al.'s EmoBed (003), parsed once (no torch at import time).

==============================  ==============================================================
``classic_<m>``                  classic monomodal system on modality ``m`` (α = 0, no
                                 auxiliary branch); RECOLA regression of arousal and valence
``joint_<t>_<a>``                joint audiovisual training, J = L_t + α·L_a (Eqs. 3-4); α
                                 chosen on dev from ``alpha_grid``; inference on ``t`` only
``triplet_<t>_<a>``              crossmodal batch-hard triplet training, J = L_t + β·L_T
                                 (Eq. 7); β chosen on dev from ``beta_grid``
``emobed_<t>_<a>``               EmoBed, J = L_t + α·L_a + β·L_T + λ·L2 (Eq. 8) with the α and β
                                 the ``joint`` and ``triplet`` runs of the same scenario chose
``<any of the above>_7class``    the same on a categorical corpus (OMG-Emotion): one utterance
                                 vector per item, a 7-way classifier, cross-entropy
==============================  ==============================================================

Modalities: ``audio`` (eGeMAPS functionals), ``app`` and ``geo`` (the AVEC 2016 appearance and
geometric descriptors; RECOLA), ``video`` (VGG-Face fc7 or its declared stand-in; OMG). One of
target ``t`` and auxiliary ``a`` is audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emorepro.errors import ConfigError
from emorepro.families.base import Experiment, Grammar, Rule

FAMILY_ID = "han_emobed"
METHODS = ("classic", "joint", "triplet", "emobed")
#: modalities of the regression (RECOLA) and classification (OMG-Emotion) experiments
REGRESSION_MODALITIES = ("audio", "app", "geo")
CLASSIFICATION_MODALITIES = ("audio", "video")
CLASS_SUFFIX = "_7class"


@dataclass(frozen=True)
class HanSpec:
    """What one experiment name means (module table)."""

    name: str
    method: str  # classic | joint | triplet | emobed
    target: str  # modality used at inference
    aux: str | None  # auxiliary modality used in training only (None for classic)
    classify: bool  # True: 7-way classifier (OMG); False: regression (RECOLA)

    @property
    def uses_alpha(self) -> bool:
        return self.method in ("joint", "emobed")

    @property
    def uses_beta(self) -> bool:
        return self.method in ("triplet", "emobed")

    def sibling(self, method: str) -> str:
        """The name of the same scenario trained with ``method`` (``classic`` drops the
        auxiliary modality)."""
        if method == "classic":
            return self.classic_of(self.target)
        tail = CLASS_SUFFIX if self.classify else ""
        return f"{method}_{self.target}_{self.aux}{tail}"

    def classic_of(self, modality: str) -> str:
        """The classic monomodal system of ``modality`` on the same kind of corpus."""
        return f"classic_{modality}{CLASS_SUFFIX if self.classify else ''}"


def _build(m: re.Match[str]) -> Experiment:
    method, target, aux, classify = m["method"], m["target"], m["aux"], bool(m["cls"])
    allowed = CLASSIFICATION_MODALITIES if classify else REGRESSION_MODALITIES
    for mod in (target, aux):
        if mod is not None and mod not in allowed:
            kind = "classification (_7class, OMG-Emotion)" if classify else "regression (RECOLA)"
            raise ConfigError(
                f"{FAMILY_ID}: experiment {m[0]!r}: modality {mod!r} has no {kind} features; "
                f"use {', '.join(allowed)}"
            )
    if (method == "classic") != (aux is None):
        raise ConfigError(
            f"{FAMILY_ID}: experiment {m[0]!r}: classic systems have no auxiliary modality "
            "(classic_<m>); joint, triplet and emobed need one (<method>_<target>_<aux>)"
        )
    if aux is not None and (aux == target or "audio" not in (target, aux)):
        raise ConfigError(
            f"{FAMILY_ID}: experiment {m[0]!r}: target and auxiliary modality must differ and "
            "one of them must be audio (e.g. joint_audio_app, emobed_geo_audio)"
        )
    spec = HanSpec(m[0], method, target, aux, classify)
    figures = ("confusion",) if classify else ("trace",)
    if method in ("joint", "triplet"):
        figures += ("sweep",)
    if method == "emobed":
        figures += ("tsne",)
    return Experiment(
        FAMILY_ID,
        m[0],
        "classification" if classify else "regression",
        figures=figures,
        trains_network=True,
        spec=spec,
    )


_MOD = "audio|app|geo|video"
GRAMMAR = Grammar(
    FAMILY_ID,
    (
        Rule(
            rf"(?P<method>{'|'.join(METHODS)})_(?P<target>{_MOD})(?:_(?P<aux>{_MOD}))?"
            rf"(?P<cls>{CLASS_SUFFIX})?",
            _build,
            "classic_<m>, <joint|triplet|emobed>_<target>_<aux> (m: audio, app, geo), "
            "each with _7class for OMG-Emotion (m: audio, video)",
        ),
    ),
)
