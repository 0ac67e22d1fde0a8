"""The wide linear ε-SVR: the former libsvm Gram-matrix path against the LIBLINEAR path.

    python benchmarks/svr_memory.py [--rows 4800] [--features 6373] [--dev-rows 22500]
        [--C 0.001] [--epsilon 0.1] [--seed 0]
    python benchmarks/svr_memory.py --frames FRAMES --sheet SHEET [--step 5] [--target arousal]
        [--C 0.001]

(FRAMES e.g. results/features/recola_full/ComParE_2016_windowed.parquet, SHEET
results/folds/recola_full/recola46.csv)

Input: synthetic float32 features shaped like ComParE_2016 windowed functionals on recola_full
at scale small (4,800 training rows = 16 subjects x 1,500 frames / train_frame_step 5, 6,373
columns, 22,500 dev rows; a few latent factors plus noise, columns on different scales), or
the real table and fold sheet (``--frames``, ``--sheet``: train rows every ``--step``-th,
dev rows all, one ``--target``). Each path runs in its own child process, which loads the
input, trains one model at ``--C`` and predicts the dev rows:

(a) old: z-score, ``K = X Xᵀ``, libsvm ``-s 3 -t 4`` (precomputed kernel) and prediction
    through ``X_dev Xᵀ`` (the code of train_svr before LIBLINEAR);
(b) new: :func:`emorepro.families.baselines.svm.train_svr` (LIBLINEAR ``-s 13``) and its
    chunked prediction.

Prints, side by side: wall seconds and peak RSS (MB, the child's ``ru_maxrss``: input
included), LIBLINEAR's iterations, and the agreement of the two dev prediction vectors
(max |Δ|, CCC, Pearson r). A benchmark prints figures; it is not a timed test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHUNK = 2048


def synthetic(rows: int, dev_rows: int, features: int, seed: int):
    """float32 features (chunked: no float64 copy of the whole matrix) and an arousal-like y."""
    rng = np.random.default_rng(seed)
    k = 10
    A = rng.normal(size=(k, features))
    scale = rng.uniform(0.01, 100, size=features)
    shift = rng.normal(scale=50, size=features)
    out = []
    for n in (rows, dev_rows):
        X = np.empty((n, features), dtype=np.float32)
        y = np.empty(n)
        for r0 in range(0, n, CHUNK):
            m = min(CHUNK, n - r0)
            Z = rng.normal(size=(m, k))
            X[r0 : r0 + m] = (Z @ A + 2 * rng.normal(size=(m, features))) * scale + shift
            y[r0 : r0 + m] = 0.3 * np.tanh(Z[:, :3].sum(axis=1) / 2) + 0.1 * rng.normal(size=m)
        out += [X, y]
    return out


def real(frames: str, sheet: str, step: int, target: str):
    from emorepro.families.baselines.runs import _role_frames
    from emorepro.protocols import read_sheet, role_items

    s = read_sheet(sheet)
    cols = ["item_id", "time_s", target]
    train, x_train = _role_frames(Path(frames), role_items(s, "train"), cols, step)
    dev, x_dev = _role_frames(Path(frames), role_items(s, "dev"), cols)
    return x_train, train[target].to_numpy(float), x_dev, dev[target].to_numpy(float)


def old_gram_path(X, y, X_dev, C: float, epsilon: float) -> np.ndarray:
    """train_svr's former wide path, verbatim in effect (libsvm -t 4 on K = X Xᵀ)."""
    from libsvm.svmutil import svm_parameter, svm_predict, svm_problem, svm_train

    from emorepro.families.baselines.svm import Standardizer

    def with_ids(K):
        return np.hstack([np.arange(1, K.shape[0] + 1, dtype=np.float64)[:, None], K])

    X = np.asarray(X, dtype=np.float64)
    std = Standardizer().fit(X)
    Xs = std.transform(X)
    prob = svm_problem(y, with_ids(Xs @ Xs.T), isKernel=True)
    model = svm_train(prob, svm_parameter(f"-s 3 -t 4 -c {C!r} -p {epsilon!r} -q"))
    Xd = std.transform(np.asarray(X_dev, dtype=np.float64))
    labels, _, _ = svm_predict(np.zeros(Xd.shape[0]), with_ids(Xd @ Xs.T), model, "-q")
    return np.asarray(labels, dtype=np.float64)


def child(args: argparse.Namespace) -> None:
    if args.frames:
        X, y, X_dev, _ = real(args.frames, args.sheet, args.step, args.target)
    else:
        X, y, X_dev, _ = synthetic(args.rows, args.dev_rows, args.features, args.seed)
    t0 = time.perf_counter()
    iterations = -1
    if args.child == "old":
        pred = old_gram_path(X, y, X_dev, args.C, args.epsilon)
    else:
        from emorepro.families.baselines.svm import train_svr

        model = train_svr(X, y, C=args.C, epsilon=args.epsilon)
        iterations = model.iterations if model.iterations is not None else -1
        pred = model.predict(X_dev)
    wall = time.perf_counter() - t0
    np.save(args.out, pred)
    print(f"{wall} {iterations} {X.shape[0]} {X.shape[1]} {X_dev.shape[0]}")


def run_child(which: str, argv: list[str], out: str) -> tuple[float, float, str]:
    cmd = [sys.executable, __file__, *argv, "--child", which, "--out", out]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{which} path failed (status {status})")
    return usage.ru_maxrss / 1024, stdout.split()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=4800)
    p.add_argument("--features", type=int, default=6373)
    p.add_argument("--dev-rows", type=int, default=22500)
    p.add_argument("--frames")
    p.add_argument("--sheet")
    p.add_argument("--step", type=int, default=5)
    p.add_argument("--target", default="arousal")
    p.add_argument("--C", type=float, default=1e-3)
    p.add_argument("--epsilon", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args)
        return
    from emorepro.metrics import ccc

    argv = [a for a in sys.argv[1:]]
    preds, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("old", "new"):
            out = f"{tmp}/{which}.npy"
            rss, fields = run_child(which, argv, out)
            wall, iterations, n, d, n_dev = fields
            preds[which] = np.load(out)
            rows[which] = (float(wall), rss, int(iterations))
    src = f"{args.frames} ({args.target})" if args.frames else f"synthetic (seed {args.seed})"
    print(f"input: {src}; train {n} x {d}, dev {n_dev} rows; C={args.C:g}, ε={args.epsilon:g}")
    print(f"{'path':40s} {'wall s':>8s} {'peak RSS MB':>12s} {'iterations':>10s}")
    names = {"old": "old: libsvm -t 4 (Gram matrix)", "new": "new: LIBLINEAR -s 13 (train_svr)"}
    for which, (wall, rss, it) in rows.items():
        print(f"{names[which]:40s} {wall:8.1f} {rss:12.0f} {it if it >= 0 else '-':>10}")
    a, b = preds["old"], preds["new"]
    print(
        f"agreement on dev: max |Δ| = {np.abs(a - b).max():.2e}, CCC = {ccc(a, b):.6f}, "
        f"r = {np.corrcoef(a, b)[0, 1]:.6f}, std(old) = {a.std():.4f}"
    )


if __name__ == "__main__":
    main()
