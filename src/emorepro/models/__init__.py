"""Shared model utilities: loading pretrained weights from local files (checksum,
``weights_only=True``). Each paper family keeps its own networks in its folder."""

from emorepro.models.weights import apply_state_dict, load_state_dict_file, sha256_file

__all__ = ["apply_state_dict", "load_state_dict_file", "sha256_file"]
