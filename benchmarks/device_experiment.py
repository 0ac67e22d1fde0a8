"""One experiment job of a finished run, re-run on another device: CUDA against CPU.

    # here, where the run was made (Snakemake and the corpus twin are here):
    python benchmarks/device_experiment.py bundle --directory RUN \\
        --experiment tzirakis2017/speech000_ccc --corpus recola_avec2016 --protocol avec2016 \\
        --profile paper --out BUNDLE
    # on the machine with the GPU (needs torch, numpy, pandas, pyarrow, scipy, soundfile):
    python benchmarks/device_experiment.py run --bundle BUNDLE --device cuda [--epochs N] \\
        [--threads T] [--out DIR]

``bundle`` resolves the job exactly as the rule ``experiment`` does (the run's
``benchmarks/config.yaml``, with ``families.<family>.profile`` set to ``--profile``;
:func:`emorepro.plan.job_inputs` and :func:`emorepro.plan.job_settings`) and copies its input
files and folders, with their paths relative to ``RUN``, into ``BUNDLE`` beside a ``job.json``.

``run`` calls :func:`emorepro.steps.experiment.experiment_step` on the bundle with
``execution.device`` and ``execution.torch_threads`` replaced (never a scientific setting) and,
if ``--epochs`` is given, the ``epochs`` setting replaced (then the run is a throughput probe,
not the paper's schedule, and says so). It prints one JSON line: device name, wall seconds of
the whole step, the trainer's per-epoch seconds and sequences per second (median over epochs
after the first, which holds the warm-up) and the result's metrics.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def bundle(args: argparse.Namespace) -> Path:
    """Copy one job's inputs from ``args.directory`` into ``args.out``; returns job.json."""
    from emorepro.config import validate_config
    from emorepro.layout import Layout
    from emorepro.plan import ResultKey, job_inputs, job_settings
    from emorepro.yamlio import load_yaml

    run = Path(args.directory).resolve()
    cfg_path = run / "benchmarks" / "config.yaml"
    raw = load_yaml(cfg_path.read_text())
    family, name = args.experiment.split("/", 1)
    if args.profile:
        raw.setdefault("families", {}).setdefault(family, {})["profile"] = args.profile
    cfg = validate_config(raw, source=str(cfg_path))
    corpus = cfg["corpora"][args.corpus]
    if corpus["source"] != "synthetic":
        sys.exit(f"--corpus {args.corpus}: a real corpus is licensed; bundle twins only")
    layout = Layout(cfg["results"])
    key = ResultKey(family, name, args.corpus, args.protocol)
    inputs = job_inputs(key, layout, layout.twin(args.corpus))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for value in inputs.values():
        for rel in [value] if isinstance(value, str) else list(value):
            src = run / rel
            if not src.exists():
                sys.exit(f"{src}: input missing; run the DAG up to this job first")
            dst = out / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dst)
    job = {
        "key": [family, name, args.corpus, args.protocol],
        "inputs": inputs,
        "settings": job_settings(key, cfg),
        "execution": dict(cfg["execution"]),
        "source": {"source": "synthetic", "scale": corpus.get("scale", cfg["scale"]),
                   "seed": cfg["seed"]},
        "cache": layout.feature_cache(),
    }  # fmt: skip
    (out / "job.json").write_text(json.dumps(job, indent=1, default=str))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {key.rel}, {size / 2**20:.1f} MiB, settings {job['settings']}")
    return out / "job.json"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the bundled job on ``args.device``; print and return the figures."""
    import os

    import torch

    from emorepro.plan import ResultKey
    from emorepro.steps.experiment import JobParams, experiment_step

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    bundle_dir = Path(args.bundle).resolve()
    job = json.loads((bundle_dir / "job.json").read_text())
    settings = dict(job["settings"])
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    execution = {**job["execution"], "device": args.device, "torch_threads": args.threads}
    out = Path(args.out or f"device_run_{args.device}").resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    key = ResultKey(*job["key"])
    here = Path.cwd()
    os.chdir(bundle_dir)  # inputs are relative to the run folder
    try:
        t0 = time.perf_counter()
        result = experiment_step(
            key,
            job["inputs"],
            JobParams(settings, execution, job["source"], str(out / "ckpt.pt"), job["cache"]),
            out,
        )
        wall = time.perf_counter() - t0
    finally:
        os.chdir(here)
    timing = result.get("extras", {}).get("timing") or _timing(result)
    later = timing[1:] or timing
    dev = torch.device(args.device)
    figures = {
        "job": key.rel,
        "profile": settings.get("profile"),
        "epochs": settings.get("epochs"),
        "epochs_overridden": args.epochs is not None,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "torch_threads": args.threads,
        "wall_s": round(wall, 2),
        "epoch_s_median": round(statistics.median(t["train_s"] + t["dev_s"] for t in later), 3),
        "sequences_per_s_median": round(statistics.median(t["sequences_per_s"] for t in later), 3),
        "metrics": {k: round(v, 4) for k, v in result["metrics"].items() if v == v},
    }
    print(json.dumps(figures))
    return figures


def _timing(result: dict[str, Any]) -> list[dict[str, float]]:
    """The trainer's per-epoch timing wherever the family put it in the result."""
    stack: list[Any] = [result]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            t = node.get("timing")
            if isinstance(t, list) and t and isinstance(t[0], dict) and "train_s" in t[0]:
                return t
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise SystemExit("the result records no per-epoch timing (not a training job?)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bundle", help="copy one job's inputs out of a finished run")
    b.add_argument("--directory", required=True, help="the run folder (holds benchmarks/)")
    b.add_argument("--experiment", required=True, help="<family>/<name>")
    b.add_argument("--corpus", required=True)
    b.add_argument("--protocol", required=True)
    b.add_argument("--profile", default=None, help="the family's profile (tiny|small|paper)")
    b.add_argument("--out", required=True)
    r = sub.add_parser("run", help="run a bundled job on a device")
    r.add_argument("--bundle", required=True)
    r.add_argument("--device", default="cuda")
    r.add_argument("--threads", type=int, default=1, help="torch intra-op CPU threads")
    r.add_argument("--epochs", type=int, default=None, help="override (a throughput probe)")
    r.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    bundle(args) if args.cmd == "bundle" else run(args)


if __name__ == "__main__":
    main()
