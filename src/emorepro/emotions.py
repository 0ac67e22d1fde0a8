"""Canonical emotion vocabulary shared by every categorical corpus.

Adapters map each corpus' own codes (``an``, ``Angry``, ``0`` ...) onto these names, so
metrics, confusion matrices and tables use one fixed label order.
"""

from __future__ import annotations

#: Ekman's six basic emotions in the order used by Zhang et al. (002) tables.
BASIC6: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise")
#: Seven classes of AFEW and OMG-Emotion (six basic + neutral). EmoDB has its own seven
#: (boredom instead of surprise): :data:`emorepro.corpora.emodb.LABELS`.
SEVEN: tuple[str, ...] = (*BASIC6, "neutral")
