"""``emorepro`` command line: library entry points usable without Snakemake."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emorepro.errors import EmoreproError


def _synth(args: argparse.Namespace) -> None:
    from emorepro.corpora import CORPORA
    from emorepro.synth import generate_corpus

    names = CORPORA if args.corpus == ["all"] else args.corpus
    for name in names:
        root = Path(args.out) / name
        logging.getLogger("emorepro").info("generating %s -> %s", name, root)
        generate_corpus(name, root, scale=args.scale, seed=args.seed)


def _index(args: argparse.Namespace) -> None:
    from emorepro.steps.data import index_step

    frame = index_step(args.corpus, args.root, args.out)
    print(f"{args.corpus}: {len(frame)} items, {frame['subject'].nunique()} subjects -> {args.out}")


def _check_config(args: argparse.Namespace) -> None:
    from emorepro.config import load_config

    load_config(args.config)
    print(f"{args.config}: valid")


def _regress(args: argparse.Namespace) -> int:
    from emorepro.cards import load_cards
    from emorepro.numerics import cpu_identity
    from emorepro.regression import (
        check,
        expectations_for,
        kernel_mismatch,
        load_expected,
        recorded_on_this_cpu,
        snapshot,
        write_expected,
    )

    folder = Path(args.expectations)
    if args.update:
        path = Path(args.expected or folder / f"{args.scale}.{cpu_identity()['vendor']}.yaml")
        write_expected(path, snapshot(args.results, scale=args.scale, seed=args.seed))
        print(f"wrote {path}")
        return 0
    try:
        path = Path(args.expected) if args.expected else expectations_for(folder, args.scale)[0]
    except FileNotFoundError:
        raise EmoreproError(
            f"{folder}: no expectations for scale {args.scale!r}; run the DAG at that scale and "
            "`emorepro regress --update` to record them"
        ) from None
    if not path.is_file():
        raise EmoreproError(f"{path}: no such expectations file")
    expected = load_expected(path)
    this_cpu = recorded_on_this_cpu(expected)
    cards = load_cards(args.cards) if args.cards else {}
    failures, new, skipped = check(args.results, expected, cards=cards, same_cpu=this_cpu)
    for drift in [*new, *failures]:
        print(drift.message())
    note = kernel_mismatch(expected)
    if note:
        print(note)
    if skipped:
        print(
            f"emorepro regress: {skipped} CPU-dependent numbers (float32 training) not compared: "
            f"{path.name} was recorded on another CPU; record this CPU's with --update"
        )
    n = len(expected["cells"]) - skipped
    if failures:
        print(f"emorepro regress: {len(failures)} of {n} numbers drifted ({path})")
        return 1
    print(f"emorepro regress: all {n} numbers within tolerance ({path})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; errors print one line naming the file or key and exit with status 2."""
    parser = argparse.ArgumentParser(prog="emorepro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("synth", help="write synthetic twins of corpora in their real layout")
    p.add_argument("corpus", nargs="+", help="corpus names, or 'all'")
    p.add_argument("--out", required=True, help="folder that receives one sub-folder per corpus")
    p.add_argument("--scale", default="small", choices=("tiny", "small", "full"))
    p.add_argument("--seed", type=int, default=2017)
    p.set_defaults(func=_synth)
    p = sub.add_parser("index", help="index a corpus folder (real or twin) into the canonical CSV")
    p.add_argument("corpus")
    p.add_argument("root")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_index)
    p = sub.add_parser("check-config", help="validate a benchmark config file")
    p.add_argument("config", nargs="?", default="benchmarks/config.yaml")
    p.set_defaults(func=_check_config)
    p = sub.add_parser("regress", help="check reproduced numbers against committed expectations")
    p.add_argument("--results", default="results", help="results folder of a finished run")
    p.add_argument(
        "--scale", default="tiny", help="selects <expectations>/<scale>.<cpu vendor>.yaml"
    )
    p.add_argument("--expectations", default="benchmarks/regression", help="expectations folder")
    p.add_argument("--expected", help="expectations file (overrides --scale)")
    p.add_argument("--cards", default="benchmarks", help="paper cards, to name fed table cells")
    p.add_argument("--seed", type=int, default=2017, help="recorded with --update")
    p.add_argument("--update", action="store_true", help="rewrite the expectations from --results")
    p.set_defaults(func=_regress)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        status = args.func(args)
    except EmoreproError as exc:
        print(f"emorepro: error: {exc}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    raise SystemExit(main())
