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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        args.func(args)
    except EmoreproError as exc:
        print(f"emorepro: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
