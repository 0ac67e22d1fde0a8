"""Real data in the DAG: EmoDB (the processed copy in shared/data/emodb, CC0-1.0).

The copy is checked against its SHA256SUMS, then the real Snakefile indexes it, builds the
LOSO (10 speakers) sheet through the leakage gate, extracts eGeMAPS and ComParE functionals
and runs the SVM baselines with both feature normalisations, and log-Mel segments for Zhang et
al.'s audio networks (AlexAudio, Anet; a narrowed tiny profile); the cross-corpus table and every
result say "real corpus". In CI (``CI`` set) a missing copy fails; elsewhere the test says how
to get it (``EMOREPRO_EMODB`` points at another copy).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny import SCHEDULER

from emorepro.io import verify_checksums

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[2]
METHODS = [f"svm_{fs}{suffix}" for fs in ("eGeMAPSv02", "ComParE_2016") for suffix in ("", "_spkz")]
ZHANG = ["alexaudio", "anet"]  # Zhang et al.'s audio networks, beyond the paper's corpora
RESULTS = [f"baselines/{m}" for m in METHODS] + [f"zhang2018/{m}" for m in ZHANG]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, emodb_copy: Path) -> Path:
    copy = emodb_copy
    assert verify_checksums(copy) == [], "the EmoDB copy differs from its SHA256SUMS"
    work = tmp_path_factory.mktemp("emodb")
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    cfg["corpora"] = {"emodb": {"source": "real", "path": str(copy)}}
    cfg["features"]["logmel"]["corpora"] = []
    cfg["features"]["faces"]["corpora"] = []
    svm = {
        "corpora": ["emodb"],
        "feature_sets": ["eGeMAPSv02", "ComParE_2016"],
        "normalisations": ["fold", "speaker"],
        "C": 0.01,
    }
    zhang = cfg["families"]["zhang2018"]
    zhang["only_corpora"] = ["emodb"]
    zhang["beyond_papers"] = {"corpora": ["emodb"], "experiments": ZHANG}
    zhang["profile"] = "tiny"  # narrowed further: this checks the real path, not the numbers
    zhang["profiles"]["tiny"].update(audio_epochs=3, segments_per_epoch=300)
    cfg["families"] = {"baselines": {"svm": svm, "svr": {"corpora": []}}, "zhang2018": zhang}
    (work / "benchmarks").mkdir()
    (work / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        "2",
        *SCHEDULER,
    ]
    # niced beside the tiny DAG (tests/conftest.py), which leaves it little CPU until it ends
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=4500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return work / "results"


def test_every_emodb_result_comes_from_the_real_copy(run: Path) -> None:
    index = pd.read_csv(run / "index/emodb.csv")
    assert len(index) == 535 and index["subject"].nunique() == 10
    assert json.loads((run / "folds/emodb/loso.json").read_text())["n_folds"] == 10
    for method in RESULTS:
        result = json.loads((run / f"experiments/{method}/emodb/loso/metrics.json").read_text())
        assert result["source"] == {"kind": "real", "scale": None, "seed": 2017}
        assert result["labels"] == [
            "anger",
            "boredom",
            "disgust",
            "fear",
            "happiness",
            "sadness",
            "neutral",
        ]
        m = result["metrics"]
        assert m["n_folds"] == 10 and m["n_items"] == 535
        margin = 0.2 if method.startswith("baselines/") else 0.1  # chance is 1/7
        assert m["uar_pooled"] > 1 / 7 + margin, (method, m["uar_pooled"])
        assert {f"recall.{c}" for c in result["labels"]} <= set(m)
        print(f"EmoDB {method}: UAR {m['uar_pooled']:.3f}, accuracy {m['accuracy_pooled']:.3f}")


def test_cross_corpus_table_marks_emodb_as_real(run: Path) -> None:
    table = pd.read_csv(run / "tables/cross_corpus.csv")
    assert set(table["method"]) == set(RESULTS)
    assert (table["corpus source"] == "real corpus").all()
    md = (run / "tables/cross_corpus.md").read_text()
    assert "(loso, real)" in md and "twin" not in md.split("\n| method")[1]
