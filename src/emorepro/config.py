"""Benchmark configuration: load, validate against JSON Schema, fill defaults.

The schema ships in the package (``emorepro/schemas/config.schema.json``,
``additionalProperties: false`` everywhere). A misspelled key or a wrong type raises
:class:`ConfigError` naming the key path (``baselines.svm.C``) and what is allowed there.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from emorepro.errors import ConfigError
from emorepro.yamlio import load_yaml

#: keys every family block accepts, whatever the family's own schema says
GENERIC_FAMILY_KEYS: dict[str, Any] = {
    "enabled": {
        "type": "boolean",
        "default": True,
        "description": "false: its card rows show 'not run in this configuration'",
    },
    "exclude": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "experiment names (fnmatch patterns) of this family not to run",
    },
    "only_corpora": {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "default": None,
        "description": "run this family's card rows on these configured corpora only (null: all)",
    },
}


def load_schema() -> dict[str, Any]:
    """The config schema shipped with the package, with every registered family's fragment
    (its ``schema.json`` plus :data:`GENERIC_FAMILY_KEYS`) composed under ``families.<id>``."""
    from emorepro.families import family_ids, get_family

    text = resources.files("emorepro.schemas").joinpath("config.schema.json").read_text()
    schema = json.loads(text)
    slots = schema["properties"]["families"]["properties"]
    for family_id in family_ids():
        fragment = copy.deepcopy(get_family(family_id).schema())
        fragment.setdefault("type", "object")
        fragment.setdefault("additionalProperties", False)
        fragment["properties"] = {**fragment.get("properties", {}), **GENERIC_FAMILY_KEYS}
        slots[family_id] = fragment
    return schema


def _fill_defaults(instance: Any, schema: dict[str, Any], root: dict[str, Any]) -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = root["$defs"][name]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)


def _key_path(err: jsonschema.ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        if extra:
            parts.append(extra[0])
    if err.validator == "required":
        missing = [k for k in err.validator_value if k not in err.instance]
        if missing:
            parts.append(missing[0])
    return ".".join(parts) or "<top level>"


def validate_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """Validate ``config`` and return a copy with schema defaults filled in.

    Raises :class:`ConfigError` of the form
    ``benchmarks/config.yaml: key 'baselines.svm.C': 'x' is not of type 'number'``.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping, got {type(config)}")
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        key = _key_path(err)
        allowed = ""
        if err.validator == "additionalProperties":
            allowed = f"; allowed keys here: {', '.join(sorted(err.schema.get('properties', {})))}"
        raise ConfigError(f"{source}: key {key!r}: {err.message}{allowed}")
    filled = copy.deepcopy(config)
    _fill_defaults(filled, schema, schema)
    for name, corpus in filled["corpora"].items():
        if corpus["source"] == "synthetic" and "path" in corpus:
            raise ConfigError(
                f"{source}: key 'corpora.{name}.path' is only used with source: real; "
                "remove it or set source: real"
            )
    _check_corpus_lists(filled, source)
    filled.setdefault("results", "results")
    filled.setdefault("mlflow", {})
    filled["mlflow"].setdefault("tracking_uri", f"sqlite:///{filled['results']}/mlflow.db")
    return filled


def _corpus_lists(node: Any, key: str) -> list[tuple[str, list[Any]]]:
    """Every list under a key named ``corpora`` inside ``node``, with its dotted key."""
    found = []
    if isinstance(node, dict):
        for name, value in node.items():
            sub = f"{key}.{name}" if key else str(name)
            if name == "corpora" and isinstance(value, list):
                found.append((sub, value))
            else:
                found += _corpus_lists(value, sub)
    return found


def _check_corpus_lists(filled: dict[str, Any], source: str) -> None:
    """A ``corpora`` list under ``features`` or ``families`` may only name configured corpora."""
    for section in ("features", "families"):
        for key, names in _corpus_lists(filled.get(section, {}), section):
            for name in names:
                if name not in filled["corpora"]:
                    raise ConfigError(
                        f"{source}: key '{key}' names {name!r}, which is not under "
                        "'corpora'; add it there or remove it here"
                    )


def load_config(path: Path | str) -> dict[str, Any]:
    """Read a YAML config file and validate it (see :func:`validate_config`)."""
    path = Path(path)
    try:
        data = load_yaml(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return validate_config(data, source=str(path))
