"""YAML reading for files every ``snakemake`` start reads (config, paper cards)."""

from __future__ import annotations

from typing import Any

import yaml


def load_yaml(text: str) -> Any:
    """``yaml.safe_load`` through libyaml's C parser when PyYAML has it (about 10x faster on
    the paper cards; the same safe subset and values), else the pure-Python parser."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)
