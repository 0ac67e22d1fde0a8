"""The per-recording media steps under ``threads`` 1 and 2, and against a saved copy of the
previous code: twin generation, face crops and landmark frames.

    python benchmarks/media_speed.py [--scale tiny] [--corpus recola_avec2016] [--items 4]
        [--threads 1 2] [--old /path/to/previous/src] [--steps synth face_crops landmark_frames]
        [--keep DIR]

Setup (not timed, current code): the ``--corpus`` twin at ``--scale`` (seed 42), its index cut
to the first ``--items`` recordings, and a small landmark model trained on rendered faces.
Then every step runs in a fresh Python process per (code, threads) on that same input, with
a fresh output and feature cache: ``synth`` = :func:`emorepro.synth.generate_corpus` of the
whole twin, ``face_crops`` = :func:`emorepro.steps.features.face_crops_step` (``zhang``),
``landmark_frames`` = :func:`emorepro.steps.features.landmark_frames_step`.

Each run's process holds OpenCV to ``threads`` threads as a Snakemake job of the rule does
(:func:`emorepro.runlog.limit_threads` with ``OMP_NUM_THREADS`` = threads). Prints, per run:
wall seconds, CPU seconds (the process and its workers, user + system),
peak RSS of the largest process, peak RSS summed over the process tree (sampled every
0.1 s), the 1-minute load average before the run (another job on the machine shows up
there) and the speed-up over the first row of the step. ``--old`` (a ``src`` folder of the
previous code, e.g. from ``git archive <rev> src | tar -x -C DIR``) adds a row with the
previous code at threads 1 and checks that every step's outputs equal the new ones (twin:
byte-identical files; manifests and caches: equal values).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
NEW_SRC = ROOT / "src"

CHILD = """
import sys, json
from pathlib import Path
step, work, corpus, scale, threads = sys.argv[1:6]
threads = int(threads)
kw = {} if threads == 0 else {"threads": threads}  # 0: the previous code, no threads knob
work = Path(work)
from emorepro.runlog import limit_threads
limit_threads()  # as a Snakemake job does (job_log): OpenCV at OMP_NUM_THREADS = threads
if step == "synth":
    from emorepro.synth import generate_corpus
    generate_corpus(corpus, work / "out", scale=scale, seed=42, **kw)
else:
    from emorepro.steps.features import CorpusFiles, face_crops_step, landmark_frames_step
    files = CorpusFiles(corpus, work.parent / "twin", work.parent / "index.csv", work / "cache")
    if step == "face_crops":
        face_crops_step(files, work / "out.parquet", kind="zhang", **kw)
    else:
        landmark_frames_step(files, work / "out.parquet",
                             landmark_model=work.parent / "model.dat", **kw)
"""


def measure(src: Path, step: str, work: Path, args: argparse.Namespace, threads: int) -> dict:
    """Run one step in a fresh process; wall, CPU, peak RSS (largest process, tree sum)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": str(max(threads, 1))}
    cmd = [sys.executable, "-c", CHILD, step, str(work), args.corpus, args.scale, str(threads)]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    watch = psutil.Process(proc.pid)
    tree_peak = 0
    while True:
        # wait4 (not Popen.poll) reaps the child: its rusage covers its reaped workers too
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            rss = sum(p.memory_info().rss for p in [watch, *watch.children(recursive=True)])
        except psutil.Error:
            rss = 0
        tree_peak = max(tree_peak, rss)
        time.sleep(0.1)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{step} (threads {threads}, {src}) failed: exit {proc.returncode}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_max_mb": usage.ru_maxrss / 1024, "rss_tree_mb": tree_peak / 2**20,
            "load1": load}  # fmt: skip


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def same_outputs(step: str, a: Path, b: Path) -> bool:
    """Twin: byte-identical files. Features: equal manifest values and equal cached arrays
    (the cache folder, in the manifest's ``file``, is named by a key over the step's source
    code, so it differs between code versions by design)."""
    if step == "synth":
        return digest_tree(a / "out") == digest_tree(b / "out")
    fa, fb = pd.read_parquet(a / "out.parquet"), pd.read_parquet(b / "out.parquet")
    if not fa.drop(columns="file").equals(fb.drop(columns="file")):
        return False
    for ra, rb in zip(fa["file"], fb["file"], strict=True):
        with np.load(a / "cache" / ra) as x, np.load(b / "cache" / rb) as y:
            if x.files != y.files or any(not np.array_equal(x[k], y[k]) for k in x.files):
                return False
    return True


def setup(base: Path, args: argparse.Namespace) -> None:
    from emorepro.corpora.index import write_index
    from emorepro.features.landmarks import train_synthetic_model
    from emorepro.steps.data import index_step
    from emorepro.synth import generate_corpus

    print(f"setup: {args.corpus} twin ({args.scale}), index of {args.items} recordings, model")
    generate_corpus(args.corpus, base / "twin", scale=args.scale, seed=42, threads=2)
    full = index_step(args.corpus, base / "twin", base / "full.csv")
    write_index(full.iloc[: args.items].reset_index(drop=True), base / "index.csv")
    train_synthetic_model(base / "model.dat", seed=0, n_faces=60, cascade_depth=6, oversampling=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="tiny", choices=["tiny", "small", "full"])
    parser.add_argument("--corpus", default="recola_avec2016")
    parser.add_argument("--items", type=int, default=4, help="recordings for the feature steps")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--old", type=Path, help="src folder of the previous code")
    parser.add_argument("--steps", nargs="+", default=["synth", "face_crops", "landmark_frames"])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="media_speed-")) if args.keep is None else args.keep
    base.mkdir(parents=True, exist_ok=True)
    try:
        setup(base, args)
        runs: list[tuple[str, Path, int]] = [("new", NEW_SRC, t) for t in args.threads]
        if args.old is not None:
            runs.insert(0, ("old", args.old.resolve(), 0))
        print(f"{'step':16} {'code':4} {'thr':>3} {'wall s':>8} {'CPU s':>8} {'RSS max MB':>10} "
              f"{'RSS tree MB':>11} {'load1':>5} {'speed-up':>8}")  # fmt: skip
        for step in args.steps:
            first, ref = None, None
            for code, src, threads in runs:
                work = base / f"{step}-{code}-{threads}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir()
                m = measure(src, step, work, args, threads)
                first = first or m["wall_s"]
                same = "" if ref is None else ("same" if same_outputs(step, ref, work) else "DIFF")
                ref = ref or work
                row = (f"{step:16} {code:4} {max(threads, 1):>3} {m['wall_s']:8.1f} "
                       f"{m['cpu_s']:8.1f} {m['rss_max_mb']:10.0f} {m['rss_tree_mb']:11.0f} "
                       f"{m['load1']:5.2f} {first / m['wall_s']:7.2f}x {same}")  # fmt: skip
                print(row, flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
