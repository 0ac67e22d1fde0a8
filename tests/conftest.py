"""Import emorepro before any test module imports torch: its CPU-kernel pins
(:mod:`emorepro.numerics`) must be in the environment before torch runs a kernel."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import emorepro  # noqa: F401


@pytest.fixture
def make_result() -> Callable[..., dict[str, Any]]:
    """Build a valid ``metrics.json`` dict (emorepro.results) with the given fields.

    ``task``: classification (labels a, b; a 2x2 confusion) or regression (targets arousal,
    valence); every metric gets a variant unless ``metric_variants`` is given.
    """
    from emorepro.results import Identity, Outcome, Source, build_result

    def make(
        *,
        metrics: dict[str, float],
        task: str = "regression",
        family: str = "baselines",
        experiment: str = "svr_eGeMAPSv02",
        corpus: str = "recola_avec2016",
        protocol: str = "avec2016",
        seed: int = 7,
        scale: str | None = "tiny",
        params: dict[str, Any] | None = None,
        folds: list[dict[str, Any]] | None = None,
        profile: str | None = None,
        postprocess: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        identity = Identity(
            paper=family,
            family=family,
            experiment=experiment,
            corpus=corpus,
            protocol=protocol,
            source=Source("synthetic" if scale else "real", scale, seed),
            rule="experiment",
            fold_sheet_sha256="ab" * 32,
            settings=settings or {},
            postprocess=postprocess,
        )
        classification = task == "classification"
        outcome = Outcome(
            task,  # type: ignore[arg-type]
            pd.DataFrame(),
            dict(metrics),
            {k: f"{k} variant" for k in metrics if not k.startswith("n_")},
            folds or [{"fold": 0, "metrics": dict(metrics)}],
            params=params or {},
            labels=("a", "b") if classification else None,
            targets=None if classification else ("arousal", "valence"),
            confusion={"labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}
            if classification
            else None,
            profile=profile,
        )
        return build_result(identity, outcome)

    return make


@pytest.fixture(scope="session")
def emodb_copy() -> Path:
    """The real EmoDB copy: $EMOREPRO_EMODB, else ../shared/data/emodb beside the checkout.
    In CI a missing copy fails; elsewhere the tests that need it say so and how to get it."""
    root = Path(__file__).resolve().parents[1]
    path = Path(os.environ.get("EMOREPRO_EMODB", root.parent / "shared/data/emodb")).resolve()
    if not (path / "wav").is_dir():
        message = (
            f"needs the EmoDB corpus at {path} (set EMOREPRO_EMODB): download it from "
            "http://emodb.bilderbar.info (CC0-1.0) and unpack it so that wav/ is inside"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


# --- the CI's tiny DAG, run once per session in the background -----------------------------
# Its jobs keep both cores busy for most of its ~25 min, but not all of it (short jobs,
# scheduling gaps, a single-job tail on the critical path). So the run starts as soon as
# collection ends, at normal priority; the tests that use it (fixture ``tiny_dag``) go last,
# and every other test runs meanwhile at a lower priority (nice +10) on the CPU it leaves
# idle. The numbers do not change: every job is seeded and single-threaded in torch.

_TINY_DAG = pytest.StashKey["_BackgroundDag"]()
_TINY_DAG_TIMEOUT_S = 4500


class _BackgroundDag:
    """``snakemake --cores 2`` on the tiny config in ``work``, output to ``work/snakemake.log``."""

    def __init__(self, work: Path, flags: tuple[str, ...]) -> None:
        import subprocess
        import sys

        self.work = work
        self.log = work / "snakemake.log"
        root = Path(__file__).resolve().parents[1]
        cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile")]
        cmd += ["--directory", str(work), "--cores", "2", *flags]
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait(self) -> Path:
        """The finished run's folder; a failed run fails every test that uses it."""
        import subprocess

        try:
            code = self.proc.wait(timeout=_TINY_DAG_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            msg = f"the tiny DAG ran over {_TINY_DAG_TIMEOUT_S} s; see {self.log}"
            raise AssertionError(msg) from None
        if code != 0:
            tail = self.log.read_text(errors="replace")[-8000:]
            raise AssertionError(f"the tiny DAG failed (exit {code}), {self.log}:\n{tail}")
        return self.work

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:  # still running after SIGTERM
                os.killpg(self.proc.pid, signal.SIGKILL)


def _uses_tiny_dag(item: pytest.Item) -> bool:
    return "tiny_dag" in getattr(item, "fixturenames", ())


def _order(item: pytest.Item) -> int:
    """0: the other workflow tests (long Snakemake runs: real EmoDB, SLURM, a new family), so
    they overlap the tiny DAG from its start; 1: unit and reliability tests, many and short,
    which fill the cores around it; 2: the tests on the finished tiny DAG."""
    if _uses_tiny_dag(item):
        return 2
    return 0 if "workflow" in Path(str(item.path)).parts else 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order by :func:`_order` (stable: the order within each group is kept)."""
    items.sort(key=_order)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or not any(_uses_tiny_dag(i) for i in session.items):
        return
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "_tiny_config", Path(__file__).parent / "workflow" / "tiny.py"
    )
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    # EMOREPRO_TINY_DAG: a folder holding a finished tiny run to reuse (a developer rerunning
    # the tiny-DAG tests); the run then only does what its outputs lack
    reuse = os.environ.get("EMOREPRO_TINY_DAG")
    work = tiny.workdir(Path(reuse) if reuse else config._tmp_path_factory.mktemp("dag"))
    config.stash[_TINY_DAG] = _BackgroundDag(work, tiny.SCHEDULER)
    # One thread in this process and its children from here on: a niced process whose torch
    # (OpenMP) or BLAS pool waits for a descheduled thread spins instead of sleeping, and
    # that spinning took CPU from the DAG (a 0.4 s BLSTM test took 137 s in CI).
    from emorepro.parallel import hold_to_one_thread

    hold_to_one_thread()
    os.nice(10)  # this process and the tests' own subprocesses yield to the DAG's jobs
    try:  # where the kernel shares CPU between sessions first (autogroup), lower ours too
        Path("/proc/self/autogroup").write_text("10")
    except OSError:
        pass


def pytest_sessionfinish(session: pytest.Session) -> None:
    dag = session.config.stash.get(_TINY_DAG, None)
    if dag is not None:
        dag.stop()


@pytest.fixture(scope="session")
def tiny_dag(request: pytest.FixtureRequest) -> Path:
    """The folder of the finished tiny DAG run (default config at scale tiny, tests/workflow/
    tiny.py), started in the background when collection ended."""
    return request.config.stash[_TINY_DAG].wait()
