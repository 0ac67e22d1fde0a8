"""Model definitions, one module per paper family (no training loops here)."""

from emorepro.models.tzirakis import (
    FaceTransform,
    MultimodalModel,
    SpeechCNN,
    UnimodalModel,
    VisualCNN,
    count_parameters,
    glorot_lstm_,
)
from emorepro.models.weights import apply_state_dict, load_state_dict_file, sha256_file

__all__ = [
    "FaceTransform",
    "MultimodalModel",
    "SpeechCNN",
    "UnimodalModel",
    "VisualCNN",
    "apply_state_dict",
    "count_parameters",
    "glorot_lstm_",
    "load_state_dict_file",
    "sha256_file",
]
