"""envs/*.yaml (for conda users) pin exactly what pyproject.toml pins."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        if "==" in line:
            name, version = line.split("==")
            out[name.split("[")[0].strip().lower()] = version.strip()
    return out


def test_env_pins_match_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"])
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs, "no conda environment files"
    for env_file in envs:
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        pinned = _pins(pip)
        assert pinned == wanted, f"{env_file.name} differs from pyproject: " + str(
            {
                k: (pinned.get(k), wanted.get(k))
                for k in set(pinned) | set(wanted)
                if pinned.get(k) != wanted.get(k)
            }
        )
        assert "--editable .." in pip, f"{env_file.name} must install emorepro itself"


def test_every_rule_uses_an_existing_env() -> None:
    text = (ROOT / "workflow/rules/common.smk").read_text()
    rel = text.split('ENV = "')[1].split('"')[0]
    assert (ROOT / "workflow/rules" / rel).resolve().is_file()
