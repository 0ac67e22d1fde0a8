"""Import emorepro before any test module imports torch: its CPU-kernel pins
(:mod:`emorepro.numerics`) must be in the environment before torch runs a kernel."""

import os
import time
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
#
# The suite runs in two pytest-xdist workers (pyproject: ``-n 2 --dist loadgroup``). Alone,
# the tests on the finished DAG ran one at a time with one core idle for their last 3-5
# minutes of CI. Every worker collects the same tests; the first to create the control folder
# starts the run, and every worker waits for the exit status the run leaves there. Tests of a
# module go to one worker (their module fixtures run once), except test_dag.py's, which share
# nothing but the finished run and so spread over both workers.

_TINY_DAG = pytest.StashKey["_BackgroundDag"]()
_TINY_DAG_TIMEOUT_S = 4500
_SPREAD_MODULES = {"test_dag.py"}  # modules whose tests go to either worker, one by one


class _BackgroundDag:
    """``snakemake --cores 2`` on the tiny config in ``work``, output to ``work/snakemake.log``,
    started at most once per session. ``control`` (shared by the session's workers) holds
    ``pid`` (the run's process group) and, once it ends, ``rc`` (its exit status)."""

    def __init__(self, control: Path, work: Path) -> None:
        self.control = control
        self.work = work
        self.log = work / "snakemake.log"
        self.proc: Any = None  # the Popen, in the worker that started the run
        # each worker builds this when its collection ends, within seconds of the start
        self.deadline = time.time() + _TINY_DAG_TIMEOUT_S

    def start(self, flags: tuple[str, ...], write_config: Callable[[], None]) -> None:
        """Start the run unless another worker did (``control`` exists). ``write_config``
        writes the work folder's config, only in the worker that starts it; if that or the
        start fails, ``rc`` says so at once (no worker waits for a run that never began)."""
        import subprocess
        import sys
        import threading

        try:
            self.control.mkdir()
        except FileExistsError:
            return
        try:
            write_config()
            root = Path(__file__).resolve().parents[1]
            cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile")]
            cmd += ["--directory", str(self.work), "--cores", "2", *flags]
            with self.log.open("w") as out:
                self.proc = subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
        except BaseException:
            _write_atomic(self.control / "rc", "1")
            raise
        _write_atomic(self.control / "pid", str(self.proc.pid))

        def record_exit() -> None:
            _write_atomic(self.control / "rc", str(self.proc.wait()))

        threading.Thread(target=record_exit, daemon=True).start()

    def exit_code(self) -> int | None:
        rc = self.control / "rc"
        return int(rc.read_text()) if rc.is_file() else None

    def wait(self) -> Path:
        """The finished run's folder; a failed run fails every test that uses it."""
        while (code := self.exit_code()) is None:
            if time.time() > self.deadline:
                self.stop()
                msg = f"the tiny DAG ran over {_TINY_DAG_TIMEOUT_S} s; see {self.log}"
                raise AssertionError(msg)
            if self._ended_unrecorded():
                msg = f"the tiny DAG ended with no exit status (its worker died); see {self.log}"
                raise AssertionError(msg)
            time.sleep(1)
        if code != 0:
            tail = "(no log: the run did not start; see the first error of this session)"
            if self.log.is_file():
                tail = self.log.read_text(errors="replace")[-8000:]
            raise AssertionError(f"the tiny DAG failed (exit {code}), {self.log}:\n{tail}")
        return self.work

    def _ended_unrecorded(self) -> bool:
        """The run's process group is gone and, 5 s later, still no ``rc``: the worker that
        started it (and records its status) died."""
        pid_file = self.control / "pid"
        if not pid_file.is_file() or _group_alive(int(pid_file.read_text())):
            return False
        time.sleep(5)
        return self.exit_code() is None

    def wait_quietly(self) -> None:
        """Wait until the run ends or its deadline passes, whatever its exit status."""
        while self.exit_code() is None and time.time() < self.deadline:
            time.sleep(1)

    def stop(self) -> None:
        """SIGTERM the run's process group if it is still running; SIGKILL after 60 s."""
        import signal

        pid_file = self.control / "pid"
        if self.exit_code() is not None or not pid_file.is_file():
            return
        pgid = int(pid_file.read_text())
        for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            end = time.time() + grace
            while time.time() < end and self.exit_code() is None and _group_alive(pgid):
                time.sleep(0.5)
            if self.exit_code() is not None or not _group_alive(pgid):
                return


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.replace(path)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _control_folder(config: pytest.Config) -> Path:
    """Shared by the session's processes: the session's base temp folder (an xdist worker's
    base is a subfolder of it)."""
    base = config._tmp_path_factory.getbasetemp()
    return (base.parent if _is_worker(config) else base) / "tiny-dag-control"


def _uses_tiny_dag(item: pytest.Item) -> bool:
    return "tiny_dag" in getattr(item, "fixturenames", ())


def _order(item: pytest.Item) -> int:
    """0: the other workflow tests (long Snakemake runs: real EmoDB, SLURM, a new family), so
    they overlap the tiny DAG from its start; 1: unit and reliability tests, many and short,
    which fill the cores around it; 2, 3: the tests on the finished tiny DAG, those marked
    ``long`` first (the two workers then end at about the same time)."""
    if _uses_tiny_dag(item):
        return 2 if item.get_closest_marker("long") else 3
    return 0 if "workflow" in Path(str(item.path)).parts else 1


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Order by :func:`_order` (stable: the order within each group is kept), and keep the
    tests of a module on one xdist worker, except those of :data:`_SPREAD_MODULES`."""
    items.sort(key=_order)
    for item in items:
        if item.path.name not in _SPREAD_MODULES:
            item.add_marker(pytest.mark.xdist_group(item.path.stem))


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
    control = _control_folder(config)
    # EMOREPRO_TINY_DAG: a folder holding a finished tiny run to reuse (a developer rerunning
    # the tiny-DAG tests); the run then only does what its outputs lack
    reuse = os.environ.get("EMOREPRO_TINY_DAG")
    work = Path(reuse) if reuse else control.parent / "dag"
    dag = _BackgroundDag(control, work)
    dag.start(tiny.SCHEDULER, lambda: tiny.workdir(work))
    config.stash[_TINY_DAG] = dag
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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop a run still going when the session ends. An xdist worker that started it keeps it
    (the other worker may still wait for it) unless the session was interrupted; the xdist
    controller, which ends last, stops whatever is left."""
    config = session.config
    dag = config.stash.get(_TINY_DAG, None)
    if _is_worker(config):
        if dag is not None and dag.proc is not None:
            if exitstatus != pytest.ExitCode.INTERRUPTED:
                dag.wait_quietly()
            dag.stop()
        return
    if dag is None:  # the xdist controller: it collected nothing, so look for the run
        control = _control_folder(config)
        if not control.is_dir():
            return
        dag = _BackgroundDag(control, control.parent / "dag")
    dag.stop()


@pytest.fixture(scope="session")
def tiny_dag(request: pytest.FixtureRequest) -> Path:
    """The folder of the finished tiny DAG run (default config at scale tiny, tests/workflow/
    tiny.py), started in the background when collection ended."""
    return request.config.stash[_TINY_DAG].wait()
