"""Profile of a finished DAG run: wall, CPU and peak memory per rule and in total, the critical
path, and each standing budget with PASS/FAIL.

    python benchmarks/dag_profile.py [--directory .] [--results results] [--top 15]
        [--match zhang2018 ...] [--cores 2] [--budget-wall-min 45] [--max-rss-mb 2500]
        [--budget-dry-run-s 5] [--no-dag] [--no-dry-run]

Reads the rules' ``benchmark:`` files (``<directory>/<results>/benchmarks``). The critical
path comes from the workflow's job graph (built as ``snakemake --forceall -n`` builds it; each
job weighs its benchmark wall seconds): no schedule can be shorter, and with ``--cores N``
none can be shorter than the CPU seconds / N either. The budgets (DEVELOPERS brief):
the run's span (first job start to last job end, without Snakemake's start-up) ≤ 45 min for
README command 1 on 2 cores; every job's peak RSS ≤ 2.5 GB; a no-op ``snakemake -n`` after
the run ≤ 5 s (timed here in a fresh interpreter, unless ``--no-dry-run``). Exits 1 when a
budget fails. ``--match`` keeps the jobs whose path contains any of the strings (one family's
share); the span budget is then not checked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emorepro.jobgraph import job_graph, timed_dry_run
from emorepro.timings import Budget, critical_path, read_timings

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--directory", default=".", help="the run's working directory")
    ap.add_argument("--snakefile", default=str(ROOT / "Snakefile"))
    ap.add_argument("--results", default="results", help="relative to --directory")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--match", nargs="*", default=None, help="keep jobs whose path has one")
    ap.add_argument("--cores", type=int, default=2, help="cores the run had (lower bound)")
    ap.add_argument("--budget-wall-min", type=float, default=45.0)
    ap.add_argument("--max-rss-mb", type=float, default=2500.0)
    ap.add_argument("--budget-dry-run-s", type=float, default=5.0)
    ap.add_argument("--no-dag", action="store_true", help="skip the critical path")
    ap.add_argument("--no-dry-run", action="store_true", help="skip the timed snakemake -n")
    args = ap.parse_args(argv)
    workdir = Path(args.directory)
    bench = workdir / args.results / "benchmarks"
    t = read_timings(bench)
    if args.match:
        t = t.matching(args.match)
    jobs = t.jobs
    wall, cpu = jobs["s"].sum(), jobs["cpu_time"].sum()
    print(
        f"{len(jobs)} jobs ({bench}); span {t.span_s / 60:.1f} min; sum of job wall"
        f" {wall / 60:.1f} min; CPU {cpu / 60:.1f} min; peak RSS {jobs['max_rss'].max():.0f} MB"
    )
    print("\nper rule (seconds, MB):")
    print(t.by_rule().round(1).to_string())

    if not args.no_dag:
        weights = dict(zip(jobs["job"], jobs["s"], strict=True))
        length, path = critical_path(weights, job_graph(args.snakefile, workdir, bench))
        path = [j for j in path if j in weights]
        bound = max(length, cpu / args.cores)
        print(
            f"\ncritical path: {length / 60:.1f} min ({length:.0f} s) over {len(path)} jobs;"
            f" no schedule on {args.cores} cores beats {bound / 60:.1f} min"
            f" (max of the path and CPU / {args.cores})"
        )
        on_path = jobs.set_index("job").loc[path, ["s", "cpu_time", "max_rss"]]
        print(on_path.round(1).to_string())

    print(f"\nlongest {args.top} jobs:")
    top = jobs.sort_values("s", ascending=False).head(args.top)
    print(top[["job", "s", "cpu_time", "max_rss"]].round(1).to_string(index=False))

    budgets = []
    if not args.match:
        budgets.append(
            Budget(
                "run span",
                t.span_s / 60,
                args.budget_wall_min,
                "min",
                "first job start to last job end",
            )
        )
    heaviest = jobs.loc[jobs["max_rss"].idxmax()]
    budgets.append(
        Budget(
            "peak memory of a job",
            float(heaviest["max_rss"]),
            args.max_rss_mb,
            "MB",
            str(heaviest["job"]),
        )
    )
    if not args.no_dry_run:
        dry = timed_dry_run(args.snakefile, workdir)
        note = "nothing to do" if dry.nothing_to_do else "NOT a no-op: the run is incomplete"
        budgets.append(Budget("no-op snakemake -n", dry.seconds, args.budget_dry_run_s, "s", note))
    print("\nbudgets:")
    for b in budgets:
        print("  " + b.line())
    over = t.over_memory(args.max_rss_mb)
    if len(over):
        print(f"\nOVER {args.max_rss_mb:.0f} MB peak RSS:")
        print(over[["job", "max_rss"]].to_string(index=False))
    return 0 if all(b.passed for b in budgets) else 1


if __name__ == "__main__":
    sys.exit(main())
