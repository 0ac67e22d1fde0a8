"""A full disk while a result is written: no partial file at the output path, the version
already there is kept, and the error names the path (issue 15 §1.5)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emorepro import io
from emorepro.results import Identity, Outcome, Source, write_result


def _disk_full_after(nbytes: int):
    """A writer that writes ``nbytes`` to its temporary file, then fails as a full disk does."""

    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            fh.write(b"x" * nbytes)
            fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    return write


def test_enospc_leaves_nothing_and_names_the_path(tmp_path: Path) -> None:
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(OSError, match=r"No space left on device while writing .*out/metrics\.json"):
        io.atomic_write(target, _disk_full_after(4096))
    assert list(target.parent.iterdir()) == []  # neither the file nor its temporary


def test_enospc_keeps_the_version_already_computed(tmp_path: Path) -> None:
    target = io.write_json(tmp_path / "metrics.json", {"ccc": 0.5})
    with pytest.raises(OSError) as info:
        io.atomic_write(target, _disk_full_after(10))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert json.loads(target.read_text()) == {"ccc": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_other_errors_pass_through_unchanged(tmp_path: Path) -> None:
    def write(tmp: Path) -> None:
        tmp.write_text("half")
        raise PermissionError(errno.EACCES, "denied")

    with pytest.raises(PermissionError, match="denied"):
        io.atomic_write(tmp_path / "a.txt", write)
    assert list(tmp_path.iterdir()) == []


def test_result_write_on_a_full_disk_writes_no_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real result writer: the predictions table hits ENOSPC half-way, so neither
    predictions.parquet nor metrics.json (written last) appears."""
    real = pd.DataFrame.to_parquet

    def half_then_full(self: pd.DataFrame, path, *args, **kwargs) -> None:
        real(self.iloc[: len(self) // 2], path, *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_full)
    preds = pd.DataFrame(
        {"item_id": "r", "time_s": np.arange(8) * 0.04, "role": "test", "target": "arousal",
         "y_true": np.linspace(0, 1, 8), "y_pred": np.linspace(0, 1, 8)}
    )  # fmt: skip
    identity = Identity(
        paper="baselines", family="baselines", experiment="svr_eGeMAPSv02",
        corpus="recola_avec2016", protocol="avec2016", source=Source("synthetic", "tiny", 1),
        rule="experiment", fold_sheet_sha256="ab" * 32, settings={}, postprocess=None,
    )  # fmt: skip
    outcome = Outcome(
        "regression", preds, {"arousal.test.ccc": 1.0}, {"arousal.test.ccc": "ccc"},
        [{"fold": 0, "metrics": {"arousal.test.ccc": 1.0}}], targets=("arousal",),
    )  # fmt: skip
    out = tmp_path / "result"
    with pytest.raises(OSError, match=r"while writing .*result/predictions\.parquet"):
        write_result(
            identity, outcome, metrics_path=out / "metrics.json",
            predictions_path=out / "predictions.parquet",
        )  # fmt: skip
    assert list(out.iterdir()) == []
