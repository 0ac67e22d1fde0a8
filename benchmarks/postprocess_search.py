"""Speed and memory of the post-processing search on a full-size synthetic AVEC 2016 partition.

    python benchmarks/postprocess_search.py [--recordings 9 --frames 7500 --grid all]

Builds seeded dev and test partitions (``--recordings`` x ``--frames`` frames at 40 ms, arousal
and valence; the gold standard lags the prediction's latent signal by 2 s and is smoother), then
times :func:`emorepro.postprocess.postprocess_table` (fit on dev + apply to dev and test, both
targets) per grid and prints wall time, peak RSS and the number of grid points evaluated.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from emorepro.postprocess import GRIDS, STEPS, postprocess_table

FRAME_S = 0.04
LAG_S = 2.0


def _smooth_noise(rng: np.random.Generator, n: int, tau_frames: float) -> np.ndarray:
    """AR(1) noise with time constant ``tau_frames``, unit variance."""
    a = float(np.exp(-1.0 / tau_frames))
    e = rng.standard_normal(n) * np.sqrt(1 - a * a)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    return x


def synthetic_partitions(recordings: int, frames: int, seed: int = 2016) -> pd.DataFrame:
    """Long prediction table for dev and test (columns as in baselines.experiments)."""
    rng = np.random.default_rng(seed)
    lag = round(LAG_S / FRAME_S)
    parts = []
    for role in ("dev", "test"):
        for r in range(recordings):
            item = f"{role}_{r + 1}"
            time_s = np.arange(frames) * FRAME_S
            for target, (scale, noise) in {"arousal": (0.25, 0.6), "valence": (0.15, 1.0)}.items():
                latent = _smooth_noise(rng, frames + lag, tau_frames=75.0)
                gold = scale * latent[:frames] + 0.02  # lags the latent signal by LAG_S
                pred = 0.6 * scale * (latent[lag:] + noise * rng.standard_normal(frames)) - 0.05
                parts.append(
                    pd.DataFrame(
                        {
                            "item_id": item,
                            "time_s": time_s,
                            "role": role,
                            "target": target,
                            "y_true": gold,
                            "y_pred": pred,
                        }
                    )
                )
    return pd.concat(parts, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recordings", type=int, default=9)
    ap.add_argument("--frames", type=int, default=7500)
    ap.add_argument("--grid", choices=[*GRIDS, "all"], default="all")
    ap.add_argument("--seed", type=int, default=2016)
    ap.add_argument(
        "--order",
        default=",".join(STEPS),
        help="greedy step order, comma-separated permutation of " + ",".join(STEPS),
    )
    args = ap.parse_args(argv)
    order = tuple(args.order.split(","))
    table = synthetic_partitions(args.recordings, args.frames, args.seed)
    reference = {"arousal": (0.02, 0.25), "valence": (0.02, 0.15)}
    grids = list(GRIDS) if args.grid == "all" else [args.grid]
    print(
        f"synthetic AVEC 2016 partition: dev + test, {args.recordings} recordings x "
        f"{args.frames} frames, 2 targets ({len(table)} rows); gold lags by {LAG_S} s; "
        f"order {' -> '.join(order)}"
    )
    for name in grids:
        grid = GRIDS[name]
        t0 = time.perf_counter()
        _, result = postprocess_table(table, grid=grid, train_reference=reference, order=order)
        wall = time.perf_counter() - t0
        print(
            f"grid {name}: {len(grid.median_windows_s)} windows x {len(grid.shifts_s)} shifts "
            f"-> {grid.n_points} grid points per target, {2 * grid.n_points} in all; "
            f"fit + apply (both targets) {wall:.3f} s"
        )
        for target, p in result["params"].items():
            print(
                f"  {target}: window={p['median_window_s']} centring={p['centring']} "
                f"scaling={p['scaling']} shift={p['shift_s']}  "
                f"dev {result['metrics_raw'][f'{target}.dev.ccc']:.3f}"
                f"->{result['metrics'][f'{target}.dev.ccc']:.3f}  "
                f"test {result['metrics_raw'][f'{target}.test.ccc']:.3f}"
                f"->{result['metrics'][f'{target}.test.ccc']:.3f}"
            )
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS: {peak_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
