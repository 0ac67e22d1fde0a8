"""Wall time of the same DAG slice under ``--cores 1`` and ``--cores 2`` (fresh directories).

    python benchmarks/cores_scaling.py [--scale tiny] [--cores 1 2]
        [--until functionals windowed_functionals logmel_segments] [--keep DIR]

Writes the default config at ``--scale`` (Zhang et al. on RML only, as the CI DAG) into a fresh
directory per core count, runs ``snakemake --cores N --until <rules>`` there and prints the
wall seconds (Snakemake start-up included), the CPU seconds of the jobs (their ``benchmark:``
files) and the speed-up of each count over the first. The slice's jobs are independent per
corpus, so 2 cores should finish it ≥ 1.7x faster than 1 (the standing target); a job whose
rule declares ``threads: 2`` uses both cores when it runs alone.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from emorepro.timings import read_timings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_UNTIL = ["functionals", "windowed_functionals", "logmel_segments"]


def run_slice(work: Path, cores: int, until: list[str], scale: str) -> float:
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    cfg["scale"] = scale
    cfg["families"]["zhang2018"]["only_corpora"] = ["rml"]
    (work / "benchmarks").mkdir(parents=True)
    (work / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--directory", str(work), "--cores", str(cores), "--until", *until]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"--cores {cores} failed:\n{proc.stderr[-3000:]}")
    return wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="tiny")
    ap.add_argument("--cores", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--until", nargs="+", default=DEFAULT_UNTIL)
    ap.add_argument("--keep", default=None, help="keep the run folders under DIR")
    args = ap.parse_args(argv)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cores_"))
    walls = {}
    try:
        for n in args.cores:
            work = base / f"cores{n}"
            shutil.rmtree(work, ignore_errors=True)
            walls[n] = run_slice(work, n, args.until, args.scale)
            t = read_timings(work / "results/benchmarks")
            print(
                f"--cores {n}: {walls[n]:7.1f} s wall, {len(t.jobs)} jobs,"
                f" {t.jobs['cpu_time'].sum():7.1f} s CPU, peak {t.jobs['max_rss'].max():.0f} MB",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    first = args.cores[0]
    for n in args.cores[1:]:
        print(f"speed-up --cores {n} over --cores {first}: {walls[first] / walls[n]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
