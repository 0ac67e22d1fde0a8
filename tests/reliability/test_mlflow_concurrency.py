"""16 mirrors writing one SQLite MLflow store at once (issue 15 §1.4): no "database is
locked", no race on the schema or on creating the paper's experiment, and exactly the runs
and metrics written (a parent and two fold runs per result)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

N = 16
CHILD = """
import json, sys, time
from pathlib import Path
from emorepro.tracking import mirror_results

result, uri, go = json.loads(Path(sys.argv[1]).read_text()), sys.argv[2], Path(sys.argv[3])
Path(sys.argv[1] + ".ready").write_text("imported")
while not go.exists():  # start together
    time.sleep(0.01)
print(mirror_results([result], tracking_uri=uri)[0][0])
"""


def test_sixteen_concurrent_mirrors_on_one_sqlite_store(tmp_path: Path, make_result) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    go = tmp_path / "go"
    procs = []
    for k in range(N):
        result = make_result(
            task="classification", experiment=f"svm_{k}", corpus="rml", protocol="loso",
            seed=k, metrics={"accuracy_fold_mean": k / 100, "n_folds": 2},
            folds=[{"fold": f, "metrics": {"accuracy": k / 100 + f}} for f in range(2)],
        )  # fmt: skip
        path = tmp_path / f"r{k}.json"
        path.write_text(json.dumps(result))
        procs.append(
            subprocess.Popen([sys.executable, "-c", CHILD, str(path), uri, str(go)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )  # fmt: skip
    deadline = time.monotonic() + 600  # every process imports MLflow, then all start at once
    while len(list(tmp_path.glob("*.ready"))) < N and time.monotonic() < deadline:
        time.sleep(0.05)
    go.write_text("go")
    outs = [p.communicate(timeout=600) for p in procs]
    failed = [
        (p.returncode, err[-1500:]) for p, (_, err) in zip(procs, outs, strict=True) if p.returncode
    ]
    assert failed == []
    assert not any("database is locked" in err for _, err in outs)
    parents = {out.strip() for out, _ in outs}
    assert len(parents) == N

    client = MlflowClient(tracking_uri=uri)
    exps = [e for e in client.search_experiments() if e.name.startswith("emorepro/")]
    assert [e.name for e in exps] == ["emorepro/baselines"]  # created once, not 16 times
    runs = client.search_runs([exps[0].experiment_id], max_results=1000)
    assert len(runs) == 3 * N and {r.info.status for r in runs} == {"FINISHED"}
    tops = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert {r.info.run_id for r in tops} == parents
    assert sorted(r.data.metrics["accuracy_fold_mean"] for r in tops) == [k / 100 for k in range(N)]
    folds = [r for r in runs if r.data.tags.get("mlflow.parentRunId") in parents]
    assert sorted(r.data.metrics["accuracy"] for r in folds) == sorted(
        k / 100 + f for k in range(N) for f in range(2)
    )
