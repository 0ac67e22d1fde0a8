"""openSMILE throughput: our functionals / windowed paths against the raw ``opensmile`` library.

Subcommands (all on synthetic noise-with-tone wavs written to a temporary folder):

``compare`` (default)
    Side by side on the same files, per feature set: utterance-level functionals of
    :func:`emorepro.features.opensmile_features.functionals` (with ``media.read_audio``, as
    the functionals step runs it) and of the whole ``functionals_step`` (index, ``.npz``
    cache, table) vs ``opensmile.Smile(feature_set, "func").process_files(files)``; then
    windowed functionals (``windowed_functionals`` per file, ``windowed_step`` with 1 and
    ``--threads`` processes) vs a raw loop of ``process_signal`` on the same padded signals
    and the same generated config. Prints files/s, audio-seconds/s and the ratio ours/raw.

``step``
    Builds a fake RECOLA AVEC 2016 corpus (``--files`` recordings of ``--seconds`` s, gold
    standard ARFFs) and runs ``windowed_step`` once: run it under ``/usr/bin/time -v`` for
    the peak memory. Works with the previous code too (``PYTHONPATH=<old checkout>/src``,
    ``--threads 1``).

Examples::

    nice python benchmarks/functionals_speed.py compare --files 20 --seconds 5 --sr 16000
    nice /usr/bin/time -v python benchmarks/functionals_speed.py step \\
        --files 9 --seconds 300 --feature-set ComParE_2016 --threads 2
"""

from __future__ import annotations

import argparse
import inspect
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

FEATURE_SETS = ("eGeMAPSv02", "ComParE_2016")


def make_wav(path: Path, seconds: float, sr: int, seed: int) -> None:
    """Noise with a gliding tone and pauses, peak < 1 (16-bit PCM)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.2 * t + seed)
    tone = np.sin(2 * np.pi * np.cumsum(f0) / sr) * (np.sin(2 * np.pi * 0.3 * t) > -0.5)
    x = 0.25 * tone + 0.03 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(x, -0.99, 0.99).astype(np.float32), sr, subtype="PCM_16")


def make_wavs(folder: Path, n: int, seconds: float, sr: int) -> list[Path]:
    paths = [folder / f"clip_{i:03d}.wav" for i in range(n)]
    for i, p in enumerate(paths):
        make_wav(p, seconds, sr, seed=i)
    return paths


def make_fake_recola(root: Path, n: int, seconds: float, sr: int) -> Path:
    """A fake ``recola_avec2016`` corpus (audio + gold standard only); returns its index."""
    from emorepro.corpora.index import make_index, write_index
    from emorepro.synth.layouts.recola_avec2016 import write_arff

    rows = []
    n_labels = round(seconds / 0.04) + 1  # 0..T inclusive, like the real ARFF files
    for i in range(n):
        name = f"train_{i + 1}"
        make_wav(root / "recordings_audio" / f"{name}.wav", seconds, sr, seed=i)
        rng = np.random.default_rng(100 + i)
        for dim in ("arousal", "valence"):
            values = np.cumsum(rng.standard_normal(n_labels)) * 0.01
            write_arff(root / "ratings_gold_standard" / dim / f"{name}.arff", name, values)
        rows.append(
            {
                "item_id": name,
                "corpus": "recola_avec2016",
                "subject": name,
                "audio_path": f"recordings_audio/{name}.wav",
                "arousal_path": f"ratings_gold_standard/arousal/{name}.arff",
                "valence_path": f"ratings_gold_standard/valence/{name}.arff",
                "partition": "train",
                "duration_s": seconds,
                "sample_rate": sr,
            }
        )
    index = root.parent / f"{root.name}.csv"
    write_index(make_index(rows), index)
    return index


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (worker processes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best-of-``repeat`` (wall seconds, CPU seconds): on a shared machine the CPU time is
    the steadier measure of work; the wall time is what parallel workers shorten."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), cpu_s()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, cpu_s() - c0)
    return wall, cpu


def line(
    name: str, n: int, audio_s: float, t: tuple[float, float], ref: tuple[float, float] | None
) -> None:
    wall, cpu = t
    ratio = f"{ref[0] / wall:6.3f}x {ref[1] / cpu:6.3f}x" if ref else "    (raw reference)"
    print(f"  {name:<44s} {wall:7.2f} s {cpu:7.2f} s {n / wall:7.2f} files/s "
          f"{audio_s / wall:8.1f} audio-s/s  {ratio}")  # fmt: skip


def compare(args: argparse.Namespace) -> None:
    from emorepro.steps.features import CorpusFiles

    work = Path(tempfile.mkdtemp(prefix="functionals-speed-"))
    root = work / "recola_avec2016"
    index = make_fake_recola(root, args.files, args.seconds, args.sr)
    files = sorted((root / "recordings_audio").glob("*.wav"))
    audio_s = args.files * args.seconds
    print(
        f"{args.files} files x {args.seconds} s at {args.sr} Hz ({audio_s:.0f} s of audio), "
        f"best of {args.repeat}. Columns: wall, CPU (incl. workers), throughput (wall), "
        "ratios raw/ours for wall and CPU (1 = as fast as opensmile)"
    )
    counter = iter(range(10**6))  # a fresh cache folder per step run: computes every item

    def fresh_cache() -> CorpusFiles:
        return CorpusFiles("recola_avec2016", root, index, work / f"cache{next(counter)}")

    for fs in args.feature_sets:
        compare_set(args, fs, files, fresh_cache)


def compare_set(
    args: argparse.Namespace, fs: str, files: list[Path], fresh_cache: Callable[[], object]
) -> None:
    import opensmile

    from emorepro import media
    from emorepro.features import opensmile_features as OF
    from emorepro.steps.features import functionals_step, windowed_step

    audio_s = args.files * args.seconds
    work = files[0].parent.parent.parent
    print(f"\n{fs}: utterance-level functionals")
    smile = opensmile.Smile(feature_set=fs, feature_level="func")
    smile.process_files(files[:1])  # warm-up (both sides)
    OF.functionals(*media.read_audio(files[0]), feature_set=fs)
    raw = timed(lambda: smile.process_files(files), args.repeat)
    line("opensmile Smile.process_files", args.files, audio_s, raw, None)

    def ours() -> None:
        for p in files:
            signal, sr = media.read_audio(p)
            OF.functionals(signal, sr, feature_set=fs, source=str(p))

    line("read_audio + functionals() per file", args.files, audio_s, timed(ours, args.repeat), raw)

    def step() -> None:
        functionals_step(fresh_cache(), work / "func.parquet", feature_set=fs)

    line("functionals_step (index, npz cache, table)", args.files, audio_s,
         timed(step, args.repeat), raw)  # fmt: skip
    if args.utterance_only:
        return

    print(f"{fs}: windowed functionals ({args.window_s} s every {args.hop_s} s)")
    wsmile = OF._windowed_smile(fs, args.window_s, args.hop_s)
    half, hop = round(args.window_s / 2 * args.sr), round(args.hop_s * args.sr)

    def raw_loop() -> None:
        for p in files:
            x, sr = sf.read(p, dtype="float32")
            xp = np.pad(x, (half, half + hop), mode="reflect")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                wsmile.process_signal(xp, sr)

    raw_w = timed(raw_loop, args.repeat)
    line("raw loop: sf.read + pad + process_signal", args.files, audio_s, raw_w, None)

    def ours_w() -> None:
        for p in files:
            signal, sr = media.read_audio(p)
            OF.windowed_functionals(signal, sr, feature_set=fs, window_s=args.window_s,
                                    hop_s=args.hop_s, source=str(p))  # fmt: skip

    line("read_audio + windowed_functionals()", args.files, audio_s,
         timed(ours_w, args.repeat), raw_w)  # fmt: skip
    has_threads = "threads" in inspect.signature(windowed_step).parameters
    for threads in sorted({1, args.threads}) if has_threads else [1]:
        kw = {"threads": threads} if has_threads else {}

        def wstep(kw: dict = kw) -> None:
            windowed_step(fresh_cache(), work / "w.parquet", feature_set=fs,
                          window_s=args.window_s, hop_s=args.hop_s, **kw)  # fmt: skip

        line(f"windowed_step, threads={threads}", args.files, audio_s,
             timed(wstep, args.repeat), raw_w)  # fmt: skip


def step(args: argparse.Namespace) -> None:
    from emorepro.steps.features import CorpusFiles, windowed_step

    work = Path(args.workdir or tempfile.mkdtemp(prefix="functionals-step-"))
    root = work / "recola_avec2016"
    index = root.parent / "recola_avec2016.csv"
    if not index.exists():
        make_fake_recola(root, args.files, args.seconds, args.sr)
    kw = {"threads": args.threads} if args.threads > 1 else {}
    corpus = CorpusFiles("recola_avec2016", root, index, work / f"cache-{time.time_ns()}")
    t0 = time.perf_counter()
    windowed_step(corpus, work / "out.parquet", feature_set=args.feature_sets[0],
                  window_s=args.window_s, hop_s=args.hop_s, **kw)  # fmt: skip
    took = time.perf_counter() - t0
    print(f"windowed_step {args.feature_sets[0]} {args.files} x {args.seconds} s, "
          f"threads={args.threads}: {took:.1f} s -> {work / 'out.parquet'}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", nargs="?", choices=("compare", "step"), default="compare")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--sr", type=int, default=16000)
    ap.add_argument("--feature-set", dest="feature_sets", action="append", choices=FEATURE_SETS)
    ap.add_argument("--window-s", type=float, default=8.0, help="windowed: window (s)")
    ap.add_argument("--hop-s", type=float, default=0.04, help="windowed: hop (s)")
    ap.add_argument("--threads", type=int, default=2, help="windowed_step worker processes")
    ap.add_argument("--repeat", type=int, default=1, help="best of N timings")
    ap.add_argument("--utterance-only", action="store_true", help="compare: skip windowed")
    ap.add_argument("--workdir", help="step: reuse/build the fake corpus here")
    args = ap.parse_args()
    args.feature_sets = args.feature_sets or list(FEATURE_SETS)
    (compare if args.mode == "compare" else step)(args)


if __name__ == "__main__":
    main()
