"""JSON Schemas (draft 2020-12) shipped with the package, and the one way they are checked."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema


@cache
def load(name: str) -> dict[str, Any]:
    """The schema ``<name>.schema.json`` of this package (e.g. ``"result"``)."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.schema.json").read_text())


def first_error(instance: Any, schema: dict[str, Any]) -> jsonschema.ValidationError | None:
    """The first validation error in document order (sorted by key path), or ``None``."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return errors[0] if errors else None


def key_of(error: jsonschema.ValidationError) -> str:
    """``a/b/0/c``: where in the instance the error is (``(top level)`` at the root)."""
    return "/".join(str(p) for p in error.absolute_path) or "(top level)"
