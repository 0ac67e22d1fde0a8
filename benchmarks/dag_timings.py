"""Wall time and peak memory of a finished DAG run, per rule and per job, against the budget.

    python benchmarks/dag_timings.py [--results results] [--top 15] [--max-rss-mb 2500]
                                     [--match zhang2018]

Reads the rules' ``benchmark:`` files (``<results>/benchmarks``); prints the span of the
jobs, the CPU seconds, a table per rule and the longest jobs; exits 1 when a job's peak
resident memory is over ``--max-rss-mb`` (the standing budget: 2.5 GB). ``--match`` keeps
the jobs whose path contains any of the given strings (e.g. one family's experiments and
crops). The wall time of the whole command (Snakemake's start-up and DAG included) is what
``time`` around it measures.
"""

from __future__ import annotations

import argparse
import sys

from emorepro.timings import read_timings


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--max-rss-mb", type=float, default=2500.0)
    ap.add_argument("--match", nargs="*", default=None, help="keep jobs whose path has one")
    args = ap.parse_args(argv)
    t = read_timings(f"{args.results}/benchmarks")
    if args.match:
        t = t.matching(args.match)
    jobs = t.jobs
    wall, cpu = jobs["s"].sum() / 60, jobs["cpu_time"].sum() / 60
    print(
        f"{len(jobs)} jobs; span {t.span_s / 60:.1f} min; sum of job wall {wall:.1f} min;"
        f" CPU {cpu:.1f} min; peak RSS {jobs['max_rss'].max():.0f} MB"
    )
    print("\nper rule:")
    print(t.by_rule().round(1).to_string())
    print(f"\nlongest {args.top} jobs:")
    top = jobs.sort_values("s", ascending=False).head(args.top)
    print(top[["job", "s", "cpu_time", "max_rss"]].round(1).to_string(index=False))
    over = t.over_memory(args.max_rss_mb)
    if len(over):
        print(f"\nOVER {args.max_rss_mb:.0f} MB peak RSS:")
        print(over[["job", "max_rss"]].to_string(index=False))
        return 1
    print(f"\nevery job under {args.max_rss_mb:.0f} MB peak RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
