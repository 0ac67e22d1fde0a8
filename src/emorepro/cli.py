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
    from emorepro.pipeline import index_step

    frame = index_step(args.corpus, args.root, args.out)
    print(f"{args.corpus}: {len(frame)} items, {frame['subject'].nunique()} subjects -> {args.out}")


def _check_config(args: argparse.Namespace) -> None:
    from emorepro.config import load_config

    load_config(args.config)
    print(f"{args.config}: valid")


def _regress(args: argparse.Namespace) -> int:
    from emorepro.cards import load_cards
    from emorepro.regression import (
        check,
        kernel_mismatch,
        load_expected,
        snapshot,
        write_expected,
    )

    expected_path = Path(args.expected or f"benchmarks/regression/{args.scale}.yaml")
    if args.update:
        write_expected(expected_path, snapshot(args.results, scale=args.scale, seed=args.seed))
        print(f"wrote {expected_path}")
        return 0
    if not expected_path.is_file():
        raise EmoreproError(
            f"{expected_path}: no expectations for scale {args.scale!r}; run the DAG at that "
            "scale and `emorepro regress --update` to record them"
        )
    cards = load_cards(args.cards) if args.cards else {}
    expected = load_expected(expected_path)
    failures, new = check(args.results, expected, cards=cards)
    for drift in new:
        print(drift.message())
    for drift in failures:
        print(drift.message())
    n = len(expected["cells"])
    if failures:
        note = kernel_mismatch(expected)
        if note:
            print(note)
        print(f"emorepro regress: {len(failures)} of {n} numbers drifted ({expected_path})")
        return 1
    print(f"emorepro regress: all {n} numbers within tolerance ({expected_path})")
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
    p.add_argument("--scale", default="tiny", help="selects benchmarks/regression/<scale>.yaml")
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
