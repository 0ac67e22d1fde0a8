"""The CI's tiny DAG configuration, shared by the workflow tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

#: Snakemake's greedy scheduler for the tests' runs. The default ILP scheduler is solved again
#: about once a second while a core is free: in the CI's tiny DAG that was 40 % of the head
#: process' 277 s of CPU (py-spy), plus the CBC solver it spawns. On 2 cores it has nothing
#: to optimise that the greedy one misses. The default job rate (100/1s) also repeats the
#: whole scheduling pass every second; 1000/10s keeps the rate and repeats it every 10 s (a
#: finished job still starts the next at once): on the default run at tiny the whole run's CPU
#: fell from 3,017 s to 2,925 s (README, Threads and memory).
SCHEDULER = ("--scheduler", "greedy", "--max-jobs-per-timespan", "1000/10s")


def tiny_config(**overrides) -> dict:
    """The default config at scale tiny, Zhang et al. on RML only (its three corpora would
    add about ten minutes); the committed tiny regression numbers come from this config."""
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    cfg["scale"] = "tiny"
    cfg["families"]["zhang2018"]["only_corpora"] = ["rml"]
    cfg.update(overrides)
    return cfg


def workdir(base: Path, **overrides) -> Path:
    """Write :func:`tiny_config` (with ``overrides``) as ``base/benchmarks/config.yaml``."""
    cfg = tiny_config(**overrides)
    (base / "benchmarks").mkdir(parents=True, exist_ok=True)
    (base / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    return base
