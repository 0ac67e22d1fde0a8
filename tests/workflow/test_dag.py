"""The real Snakefile on tiny synthetic corpora, in a temporary working directory.

Runs the default DAG end to end once (session fixture `tiny_dag`, started in the background
when collection ends; tests/conftest.py), then checks outputs, the
nothing-to-do rerun, the speaker-independence control, and expected failures.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tiny import SCHEDULER
from tiny import workdir as _workdir

pytestmark = pytest.mark.workflow
ROOT = Path(__file__).resolve().parents[2]
CARDS = (
    "tzirakis2017_published",
    "tzirakis2017_preprint",
    "zhang2018",
    "han_emobed",
    "aminbeidokhti2020",
)
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def _snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *SCHEDULER,
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=4500)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


@pytest.fixture(scope="module")
def run(tiny_dag: Path) -> Path:
    """The tiny DAG, run to the end (tests/conftest.py starts it in the background)."""
    return tiny_dag


def test_outputs_exist(run: Path) -> None:
    res = run / "results"
    assert (res / "mlflow.db").stat().st_size > 0
    for family in ("baselines", "tzirakis2017", "zhang2018", "han_emobed", "aminbeidokhti2020"):
        assert json.loads((res / f"mlflow/{family}.done").read_text())["runs"], family
    table = pd.read_csv(res / "tables/results.csv")
    assert set(table["corpus"]) == {
        "rml",
        "enterface05",
        "baum1s",
        "emodb",
        "recola_avec2016",
        "recola_full",
        "omg_emotion",
        "afew",
        "yt8m",
    }
    assert set(table["family"]) == {
        "baselines",
        "tzirakis2017",
        "zhang2018",
        "han_emobed",
        "aminbeidokhti2020",
    }
    assert set(table["task"]) == {"classification", "regression", "analysis"}
    assert table["corpus source"].str.startswith("synthetic twin (scale tiny").all()
    index_page = (res / "index.md").read_text()
    for card in CARDS:
        assert f"## {card}" in index_page
        assert (res / "tables" / card).is_dir()
    for kind in ("confusion.png", "trace.png"):
        figures = list((res / "figures").rglob(kind))
        assert figures and all(f.read_bytes()[:4] == b"\x89PNG" for f in figures)
    for corpus in (
        "recola_avec2016",
        "recola_full",
        "rml",
        "enterface05",
        "baum1s",
        "omg_emotion",
        "afew",
        "yt8m",
        "emodb",
    ):
        assert (res / "index" / f"{corpus}.csv").is_file()
        assert list((res / "folds" / corpus).glob("*.json"))
    assert (res / "benchmarks/experiment/baselines/svm_eGeMAPSv02").is_dir()
    cross = pd.read_csv(res / "tables/cross_corpus.csv")
    assert {"rml", "enterface05", "baum1s", "emodb"} <= set(cross["corpus"])
    assert "baselines/svm_ComParE_2016_spkz" in set(cross["method"])
    assert cross["corpus source"].str.startswith("synthetic twin").all()


def test_second_dry_run_has_nothing_to_do(run: Path, tmp_path: Path) -> None:
    proc = _snakemake(run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    # the media rules' worker count is not a setting: it reruns nothing
    workers = tmp_path / "workers.yaml"
    workers.write_text(yaml.safe_dump({"execution": {"media_threads": 1}}))
    proc = _snakemake(run, "-n", "--configfile", str(workers))
    assert "Nothing to be done" in proc.stdout + proc.stderr


MEDIA_RULES = {"synth_corpus", "windowed_functionals", "face_crops", "landmark_frames",
               "video_descriptors"}  # fmt: skip


def test_media_threads_sets_the_cores_of_the_media_rules_only(tmp_path: Path) -> None:
    """`execution.media_threads` (default 2) is the cores and forked workers of exactly the
    per-recording rules; at 1 every job of the DAG asks for one core, so none waits on
    `--cores 2` for both cores to be free at once."""

    def threads(workdir: Path) -> dict[str, int]:
        rule, out = None, {}
        for line in _snakemake(workdir, "-n").stdout.splitlines():
            if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
                rule = m.group(1)
            elif m := re.match(r"^threads: (\d+)$", line.strip()):  # printed when > 1
                out[rule] = int(m.group(1))
        return out

    assert threads(_workdir(tmp_path / "default")) == dict.fromkeys(MEDIA_RULES, 2)
    one = _workdir(tmp_path / "one", execution={"device": "auto", "torch_threads": 1,
                                                "media_threads": 1})  # fmt: skip
    assert threads(one) == {}


def test_gpu_profile_gives_the_gpu_to_training_jobs_one_at_a_time(tmp_path: Path) -> None:
    """workflow/profiles/gpu offers one unit of a `gpu` resource and trains on CUDA: every
    experiment job that trains a network asks for that unit (so one trains at a time) and the
    others for none; without the profile (device auto, here the CPU) no job asks for it."""
    from emorepro.families import parse_experiment

    def gpu_per_experiment(*flags: str) -> dict[tuple[str, str], int]:
        rule, wildcards, out = None, {}, {}
        proc = _snakemake(_workdir(tmp_path / str(len(flags))), "-n", *flags)
        for line in proc.stdout.splitlines():
            line = line.strip()
            if m := re.match(r"^(?:local)?rule (\w+):", line):
                rule = m.group(1)
            elif rule == "experiment" and line.startswith("wildcards:"):
                wildcards = dict(p.split("=", 1) for p in line[len("wildcards: ") :].split(", "))
            elif rule == "experiment" and line.startswith("resources:"):
                gpu = int(re.search(r"\bgpu=(\d+)", line).group(1))
                out[(wildcards["family"], wildcards["name"])] = gpu
        return out

    profile = str(ROOT / "workflow/profiles/gpu")
    on_gpu = gpu_per_experiment("--profile", profile)
    assert on_gpu[("tzirakis2017", "speech000_ccc")] == 1
    assert on_gpu[("baselines", "svr_eGeMAPSv02")] == 0
    trains = {k for k in on_gpu if parse_experiment("/".join(k)).trains_network}
    assert {k for k, gpu in on_gpu.items() if gpu == 1} == trains
    assert len(trains) > 20 and len(on_gpu) > len(trains)
    assert set(gpu_per_experiment().values()) == {0}


def _jobs_to_run(proc: subprocess.CompletedProcess) -> list[tuple[str, str]]:
    """(rule, wildcards line) of every job a dry run would run."""
    jobs, rule = [], None
    for line in (proc.stdout + proc.stderr).splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            rule = m.group(1)
            jobs.append((rule, ""))
        elif rule and line.strip().startswith("wildcards:"):
            jobs[-1] = (rule, line.strip())
    return jobs


def test_a_config_value_reruns_exactly_the_jobs_that_use_it(run: Path, tmp_path: Path) -> None:
    """Changing the BLSTM's hidden size reruns the four BLSTM experiments and what reads
    them (post-processing, figures, tables, index, MLflow mirror), and no other experiment."""
    change = tmp_path / "change.yaml"
    change.write_text(yaml.safe_dump({"families": {"baselines": {"blstm": {"hidden": 48}}}}))
    jobs = _jobs_to_run(_snakemake(run, "-n", "--configfile", str(change)))
    experiments = sorted(w for r, w in jobs if r == "experiment")
    assert len(experiments) == 4, experiments
    assert all("family=baselines, name=blstm_" in w for w in experiments), experiments
    downstream = {"postprocess", "figures", "paper_tables", "results_table",
                  "cross_corpus_table", "index_page", "mlflow_mirror", "all"}  # fmt: skip
    assert {r for r, _ in jobs} - {"experiment"} <= downstream, jobs
    for _, w in jobs:
        assert "name=" not in w or "name=blstm_" in w, w
    assert [w for r, w in jobs if r == "figures"] == ["wildcards: family=baselines"]


def test_classifiers_beat_chance(run: Path) -> None:
    base = run / "results/experiments/baselines"
    for corpus in ("rml", "enterface05"):
        m = json.loads((base / f"svm_eGeMAPSv02/{corpus}/loso/metrics.json").read_text())
        assert m["metrics"]["uar_pooled"] > 1 / 6 + 0.15, (corpus, m["metrics"])
        assert m["metrics"]["n_folds"] == m["metrics"]["n_folds"] > 1
    svr = json.loads((base / "svr_eGeMAPSv02/recola_avec2016/avec2016/metrics.json").read_text())
    assert svr["metrics"]["arousal.test.ccc"] > 0.2, svr["metrics"]


def test_config_typo_fails_dry_run_naming_the_key(tmp_path: Path) -> None:
    work = _workdir(tmp_path, baselnes={"svm": {}})
    proc = _snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert "baselnes" in proc.stdout + proc.stderr


def test_missing_real_corpus_is_named(tmp_path: Path) -> None:
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    corpora = cfg["corpora"]
    corpora["rml"] = {"source": "real", "path": str(tmp_path / "no_such_rml")}
    work = _workdir(tmp_path, corpora=corpora)
    proc = _snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert "corpora.rml.path" in proc.stdout + proc.stderr


@pytest.mark.long  # 15-50 s: started first among the tests on the DAG
def test_broken_corpus_stops_and_keeps_finished_work(run: Path, tmp_path: Path) -> None:
    """A real corpus copy with a truncated (0-byte) clip: the index job names the file;
    other finished outputs of the same run are kept."""
    broken = tmp_path / "rml_copy"
    shutil.copytree(run / "results/corpora/rml", broken)
    index = pd.read_csv(run / "results/index/rml.csv")
    victim = broken / index.loc[0, "video_path"]
    victim.write_bytes(b"")
    work = tmp_path / "w"
    shutil.copytree(run / "results", work / "results", symlinks=True)
    cfg = yaml.safe_load((run / "benchmarks/config.yaml").read_text())
    cfg["corpora"]["rml"] = {"source": "real", "path": str(broken)}
    (work / "benchmarks").mkdir()
    (work / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    kept = work / "results/experiments/baselines/svm_eGeMAPSv02/enterface05/loso/metrics.json"
    before = kept.read_text()
    # a changed corpus path does not change any mtime Snakemake sees: force the index job
    proc = _snakemake(
        work, "results/index/rml.csv", "--forcerun", "index_corpus", "--keep-going", check=False
    )
    assert proc.returncode != 0
    log = (work / "results/logs/index_corpus/rml.log").read_text()
    assert victim.name in log
    assert kept.read_text() == before


def test_speaker_shuffled_labels_score_at_chance(run: Path) -> None:
    """Control: labels permuted within each speaker carry no acoustic information, so the
    same SVM pipeline must fall to chance (1/6) while real labels stay clearly above."""
    import numpy as np

    from emorepro.corpora.index import read_index
    from emorepro.emotions import BASIC6
    from emorepro.families.baselines.runs import svm_over_folds

    res = run / "results"
    feats = pd.read_parquet(res / "features/rml/eGeMAPSv02_functionals.parquet")
    feats = feats.set_index("item_id")
    index = read_index(res / "index/rml.csv").set_index("item_id")
    sheet = pd.read_csv(res / "folds/rml/loso.csv", dtype={"item_id": str, "subject": str})
    real = svm_over_folds(feats, sheet, index["emotion"], C=0.01, classes=BASIC6)[1].metrics
    shuffled = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        labels = index["emotion"].copy()
        for _, items in index.groupby("subject").groups.items():
            labels.loc[items] = rng.permutation(labels.loc[items].to_numpy())
        shuffled.append(
            svm_over_folds(feats, sheet, labels, C=0.01, classes=BASIC6)[1].metrics["uar_pooled"]
        )
    chance = float(np.mean(shuffled))
    print(f"RML tiny LOSO UAR: real {real['uar_pooled']:.3f}, shuffled {chance:.3f}")
    assert abs(chance - 1 / 6) < 0.08
    assert real["uar_pooled"] > chance + 0.2


def test_table_iii_rows_are_reproduced_with_post_processing(run: Path) -> None:
    """Tzirakis Table III: every cell (SVR, BLSTM and the raw-signal network with MSE and
    CCC) has a reproduced number from a run on the synthetic twin, a verdict and a test; the
    end-to-end rows say which model profile ran."""
    table = pd.read_csv(run / "results/tables/tzirakis2017_published/table_3.csv")
    assert len(table) == 32
    assert table["reproduced"].notna().all()
    assert set(table["verdict"]) <= {"within tolerance", "outside tolerance"}
    assert table["p (vs reported)"].between(0, 1).all()
    # autocorrelated frames: tested with the effective n, which is below the frame count
    assert (table["n (test)"] <= table["n"]).all() and (table["n (test)"] < table["n"]).all()
    assert (table["p (vs reported)"] >= table["p (n = frames)"]).all()
    assert table["corpus source"].str.startswith("synthetic twin (scale tiny").all()
    proposed = table[table["method"].str.startswith("Proposed")]
    assert len(proposed) == 8
    assert proposed["corpus source"].str.endswith("; profile tiny").all()
    pp = json.loads(
        (
            run / "results/experiments/baselines/svr_eGeMAPSv02/recola_full/recola46/"
            "pp-tzirakis2017/metrics.json"
        ).read_text()
    )
    assert pp["params"]["postprocess"]["arousal"]["trace"][0]["step"] == "raw"
    assert pp["metrics"]["arousal.dev.ccc"] >= pp["raw_metrics"]["arousal.dev.ccc"]
    latex = (run / "results/tables/tzirakis2017_published/table_3.tex").read_text()
    assert "synthetic twin (scale tiny, seed 2017)" in latex


def test_speech_network_learns_arousal_on_the_twin(run: Path) -> None:
    """The raw-waveform network (smoke profile) picks up arousal from the voice; both paper
    versions ran (40 vs 20 first-layer filters, here narrowed 10 vs 5)."""
    base = run / "results/experiments/tzirakis2017"
    for version, filters in (("000", 10), ("001", 5)):
        result = json.loads(
            (base / f"speech{version}_ccc/recola_full/recola46/metrics.json").read_text()
        )
        assert result["params"]["n_filters_1"] == filters
        assert result["params"]["profile"] == "tiny"
        assert result["metrics"]["arousal.test.ccc"] > 0.3, result["metrics"]


#: What every RECOLA network of the tiny run must learn: (family, experiment, corpus/protocol,
#: targets, partition). The twin drives the voice by arousal and the face by valence
#: (emorepro.synth), so speech networks and the BLSTM baselines are held to arousal, visual
#: ones to valence, multimodal ones to both. A constant predictor scores CCC 0; a network must
#: beat it by LEARNS_MARGIN. Partition dev, except for the two networks trained on train + dev
#: (000 Table VI), whose dev CCC is a training fit: they are held to test.
LEARNS = [
    ("tzirakis2017", "speech000_ccc", "recola_full/recola46", ("arousal",), "dev"),
    ("tzirakis2017", "speech001_ccc", "recola_full/recola46", ("arousal",), "dev"),
    ("tzirakis2017", "speech000_mse", "recola_full/recola46", ("arousal",), "dev"),
    ("tzirakis2017", "speech001_mse", "recola_full/recola46", ("arousal",), "dev"),
    ("tzirakis2017", "speech000_ccc", "recola_avec2016/avec2016", ("arousal",), "dev"),
    ("tzirakis2017", "speech001_ccc", "recola_avec2016/avec2016", ("arousal",), "dev"),
    ("tzirakis2017", "speech_seq75", "recola_avec2016/avec2016", ("arousal",), "dev"),
    ("tzirakis2017", "speech_seq150", "recola_avec2016/avec2016", ("arousal",), "dev"),
    ("tzirakis2017", "speech_seq300", "recola_avec2016/avec2016", ("arousal",), "dev"),
    ("tzirakis2017", "visual_ccc", "recola_avec2016/avec2016", ("valence",), "dev"),
    ("tzirakis2017", "visual_seq75", "recola_avec2016/avec2016", ("valence",), "dev"),
    ("tzirakis2017", "visual_seq150", "recola_avec2016/avec2016", ("valence",), "dev"),
    ("tzirakis2017", "visual_seq300", "recola_avec2016/avec2016", ("valence",), "dev"),
    ("tzirakis2017", "multimodal_train", "recola_avec2016/avec2016", ("arousal", "valence"), "dev"),
    ("tzirakis2017", "multimodal_traindev", "recola_avec2016/avec2016", ("arousal", "valence"),
     "test"),
    ("tzirakis2017", "multimodal_landmarks", "recola_avec2016/avec2016", ("arousal", "valence"),
     "test"),
    ("baselines", "blstm_ccc_eGeMAPSv02", "recola_full/recola46", ("arousal",), "dev"),
    ("baselines", "blstm_ccc_ComParE_2016", "recola_full/recola46", ("arousal",), "dev"),
    ("baselines", "blstm_mse_eGeMAPSv02", "recola_full/recola46", ("arousal",), "dev"),
    ("baselines", "blstm_mse_ComParE_2016", "recola_full/recola46", ("arousal",), "dev"),
]  # fmt: skip
LEARNS_MARGIN = 0.2


def test_every_recola_network_beats_a_constant_predictor(run: Path) -> None:
    """Each network of LEARNS learns its modality's target on the twin (CCC >= 0.2, where a
    constant scores 0), and LEARNS lists every Tzirakis network of the run: a network that
    trains but learns nothing (an MSE run collapsed to the mean, a visual run that never finds
    the face's valence cue) fails here by name rather than as a drift of a regression number."""
    base = run / "results/experiments"
    networks = {
        str(p.parent.relative_to(base))
        for p in (base / "tzirakis2017").glob("*/*/*/metrics.json")
        if json.loads(p.read_text())["task"] == "regression"
    }
    listed = {f"{fam}/{name}/{where}" for fam, name, where, _, _ in LEARNS}
    assert networks <= listed, f"not in LEARNS: {sorted(networks - listed)}"
    failed = []
    for fam, name, where, targets, part in LEARNS:
        metrics = json.loads((base / fam / name / where / "metrics.json").read_text())["metrics"]
        for target in targets:
            value = metrics[f"{target}.{part}.ccc"]
            print(f"{fam}/{name}/{where} {target}.{part}.ccc {value:.3f}")
            if not value >= LEARNS_MARGIN:
                failed.append(f"{name}/{where} {target}.{part}.ccc = {value:.3f}")
    assert not failed, f"CCC below {LEARNS_MARGIN} (a constant predictor scores 0): {failed}"


def test_mlflow_has_one_experiment_per_paper(run: Path) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{run / 'results/mlflow.db'}")
    names = {e.name for e in client.search_experiments()}
    assert {"emorepro/tzirakis2017_published", "emorepro/han_emobed"} <= names
    exp = client.get_experiment_by_name("emorepro/tzirakis2017_published")
    runs = client.search_runs([exp.experiment_id])
    assert runs and {r.info.status for r in runs} == {"FINISHED"}
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert any(a.path == "metrics.json" for a in client.list_artifacts(parents[0].info.run_id))
    # one job per family, one parent run per (result, paper using it), none twice
    marked = [
        run_id
        for done in sorted((run / "results/mlflow").glob("*.done"))
        for ids in json.loads(done.read_text())["runs"].values()
        for run_id in ids
    ]
    tops = [
        r.info.run_id
        for e in client.search_experiments()
        if e.name.startswith("emorepro/")
        for r in client.search_runs([e.experiment_id], max_results=5000)
        if "mlflow.parentRunId" not in r.data.tags
    ]
    assert len(marked) == len(set(marked)) and sorted(marked) == sorted(tops)


def test_regression_of_reproduced_numbers(run: Path, tmp_path: Path) -> None:
    """The committed tiny-run numbers hold; a perturbed number fails and is named."""
    cmd = [sys.executable, "-m", "emorepro.cli", "regress", "--results", str(run / "results")]
    cmd += ["--expectations", str(ROOT / "benchmarks/regression"), "--scale", "tiny"]
    cmd += ["--cards", str(ROOT / "benchmarks")]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    perturbed = tmp_path / "results"
    shutil.copytree(run / "results/experiments", perturbed / "experiments")
    path = perturbed / "experiments/baselines/svr_eGeMAPSv02/recola_full/recola46/metrics.json"
    data = json.loads(path.read_text())
    data["metrics"]["arousal.test.ccc"] += 0.1
    path.write_text(json.dumps(data))
    cmd[cmd.index(str(run / "results"))] = str(perturbed)
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 1
    assert "svr_eGeMAPSv02/recola_full/recola46 :: arousal.test.ccc" in bad.stdout


def test_every_card_result_maps_to_a_dag_target(tmp_path: Path) -> None:
    """Every own (and re-run quoted) result a card marks `dag` is a target the Snakefile can
    build; the rest are explicitly pending."""
    from emorepro.cards import dag_results, load_cards

    cards = load_cards(ROOT / "benchmarks")
    targets = [f"results/{d}/metrics.json" for d in dag_results(cards, results="")]
    assert len(targets) >= 10
    proc = _snakemake(_workdir(tmp_path), *targets, "-n", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_report_bundles_tables_and_figures(run: Path) -> None:
    """The report builds, and every caption renders without a docutils message (docutils
    prints "<string>:1: (ERROR/3) Undefined substitution referenced ..." and goes on)."""
    proc = _snakemake(run, "--report", "report.zip")
    assert (run / "report.zip").stat().st_size > 10_000
    log = proc.stdout + proc.stderr
    assert "Report created" in log
    assert not re.search(r"\((INFO|WARNING|ERROR|SEVERE)/\d\)", log), log[-3000:]


def test_paper_profile_dry_runs(tmp_path: Path) -> None:
    cfg = yaml.safe_load((ROOT / "benchmarks/config.yaml").read_text())
    cfg["families"]["tzirakis2017"]["profile"] = "paper"
    cfg["families"]["zhang2018"]["profile"] = "paper"
    cfg["families"]["han_emobed"]["profile"] = "paper"
    cfg["families"]["aminbeidokhti2020"]["profile"] = "paper"
    work = _workdir(tmp_path, families=cfg["families"])
    proc = _snakemake(work, "-n")
    zhang = re.findall(
        r"wildcards: family=zhang2018, name=\w+, corpus=\w+, protocol=\w+\n", proc.stdout
    )
    # 19 experiments on RML, eNTERFACE'05 and BAUM-1s, 3 audio networks on EmoDB
    assert len(zhang) == 57 + 3
    assert len([z for z in zhang if "corpus=emodb" in z]) == 3
    for rule in ("experiment", "figures", "face_crops", "landmark_frames"):
        assert f"rule {rule}:" in proc.stdout, rule
    # 6 speech + visual + 6 ablation + 3 multimodal runs + Fig. 2
    jobs = re.findall(
        r"wildcards: family=tzirakis2017, name=\w+, corpus=\w+, protocol=\w+\n", proc.stdout
    )
    assert len(jobs) == 17  # (post-processing jobs also carry a grid wildcard)
    # Han et al.: 15 RECOLA systems (3 classic + 4 scenarios x 3 methods), 8 OMG ones
    han = re.findall(
        r"wildcards: family=han_emobed, name=\w+, corpus=(\w+), protocol=\w+\n", proc.stdout
    )
    assert sorted(set(han)) == ["omg_emotion", "recola_avec2016"] and len(han) == 23
    # Aminbeidokhti: 8 AFEW networks, 7 fusion designs on YouTube-8M and on RECOLA
    amin = re.findall(
        r"wildcards: family=aminbeidokhti2020, name=[\w.]+, corpus=(\w+), protocol=\w+\n",
        proc.stdout,
    )
    assert {c: amin.count(c) for c in set(amin)} == {"afew": 8, "yt8m": 7, "recola_avec2016": 7}
    assert "kind=aminbeidokhti" in proc.stdout
    cfg["families"]["tzirakis2017"]["profile"] = "huge"
    bad = _workdir(tmp_path / "bad", families=cfg["families"])
    proc = _snakemake(bad, "-n", check=False)
    assert proc.returncode != 0 and "families.tzirakis2017.profile" in proc.stdout + proc.stderr


def test_tables_ii_to_vi_and_fig2_are_filled_by_runs(run: Path) -> None:
    """Every own row of Tzirakis Tables II-VI and Fig. 2 (both versions) has a reproduced
    number from a run of the smoke profile; Fig. 2 and the Fig. 3 trace are drawn."""
    tables = run / "results/tables"
    expected_rows = {"table_2": 12, "table_3": 32, "table_4": 4, "table_5": 4, "fig_2": 3}
    for card in ("tzirakis2017_published", "tzirakis2017_preprint"):
        for table_id, n_own in expected_rows.items():
            table = pd.read_csv(tables / card / f"{table_id}.csv")
            own = table[table["reproduced"].notna()]
            assert len(own) >= n_own, (card, table_id, len(own))
            assert own["corpus source"].str.startswith("synthetic twin (scale tiny").all()
        vi = pd.read_csv(tables / card / "table_6.csv")
        proposed = vi[vi["row"].str.startswith("proposed")]
        assert proposed["reproduced"].notna().sum() >= 2, card
    base = run / "results/experiments/tzirakis2017"
    lm = json.loads(
        (base / "multimodal_landmarks/recola_avec2016/avec2016/metrics.json").read_text()
    )
    lm = lm["params"]
    assert lm["cnns_frozen"] and lm["n_trainable"] < lm["n_parameters"]
    seq = json.loads((base / "speech_seq300/recola_avec2016/avec2016/metrics.json").read_text())
    assert seq["params"]["steps"] == 300
    # the twin's face carries arousal (eyes, brows, head scale) and valence (mouth, brows):
    # the visual and multimodal networks find both (valence: the LEARNS table below)
    visual = json.loads((base / "visual_ccc/recola_avec2016/avec2016/metrics.json").read_text())
    assert visual["metrics"]["arousal.dev.ccc"] > 0.3, visual["metrics"]
    mm = json.loads(
        (base / "multimodal_traindev/recola_avec2016/avec2016/metrics.json").read_text()
    )
    assert mm["metrics"]["valence.test.ccc"] > 0.3, mm["metrics"]
    figs = run / "results/figures/experiments/tzirakis2017"
    assert (figs / "fig2_cells/recola_full/recola46/fig2.png").read_bytes()[:4] == b"\x89PNG"
    trace = figs / "multimodal_traindev/recola_avec2016/avec2016/pp-tzirakis2017/trace.png"
    assert trace.read_bytes()[:4] == b"\x89PNG"  # Fig. 3: one test recording


@pytest.mark.long  # 15-50 s: started first among the tests on the DAG
def test_training_killed_mid_run_resumes_to_the_same_numbers(run: Path, tmp_path: Path) -> None:
    """SIGKILL the whole snakemake during the speech-network job, after its first epoch
    checkpoint; ``--rerun-incomplete`` resumes from the checkpoint and gives exactly the
    numbers of the uninterrupted run, and every output complete before the kill is
    byte-identical after it. While it runs, a second snakemake in the folder is refused;
    after the kill its stale lock is refused too until ``--unlock``."""
    work = tmp_path / "w"
    _copy_run(run, work)
    rel = "results/experiments/tzirakis2017/speech000_ccc/recola_avec2016/avec2016"
    reference = json.loads((run / rel / "metrics.json").read_text())
    shutil.rmtree(work / rel)
    ckpt = work / "results/checkpoints/tzirakis2017/speech000_ccc/recola_avec2016/avec2016.pt"
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(work),
        "--cores",
        "1",
        f"{rel}/metrics.json",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ckpt.exists(), "no checkpoint was written"
    running = rel.removeprefix("results/")
    complete = {f: h for f, h in _hashes(work / "results").items() if not f.startswith(running)}
    # a second snakemake in the same directory while this one runs is refused
    other = _snakemake(work, "results/tables/results.md", check=False)
    assert other.returncode != 0 and "cannot be locked" in other.stdout + other.stderr
    assert proc.poll() is None, "the refused run must not disturb the running one"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (work / rel / "metrics.json").exists()
    # the killed run's lock is stale: refused again, until --unlock (README, "Interrupted runs")
    stale = _snakemake(work, f"{rel}/metrics.json", check=False)
    assert stale.returncode != 0 and "--unlock" in stale.stdout + stale.stderr
    _snakemake(work, "--unlock")
    _snakemake(work, f"{rel}/metrics.json", "--rerun-incomplete")
    log = work / "results/logs/experiment/tzirakis2017/speech000_ccc/recola_avec2016/avec2016.log"
    assert "resuming from" in log.read_text()
    resumed = json.loads((work / rel / "metrics.json").read_text())
    assert resumed["metrics"] == reference["metrics"]
    assert resumed["params"]["history"] == reference["params"]["history"]
    assert not ckpt.exists()
    after = _hashes(work / "results")
    assert {f: after.get(f) for f in complete} == complete  # byte-identical, none lost


def _copy_run(run: Path, work: Path) -> None:
    """The finished run's results and config in ``work``; its per-item feature caches (1.3 GB)
    are shared, not copied: a job only adds missing entries, atomically."""
    top = str(run / "results")
    shutil.copytree(run / "results", work / "results", symlinks=True,
                    ignore=lambda d, names: ["cache"] if d == top else [])  # fmt: skip
    (work / "results/cache").symlink_to(run / "results/cache")
    shutil.copytree(run / "benchmarks", work / "benchmarks")


@pytest.mark.long  # 15-50 s: started first among the tests on the DAG
def test_keep_going_finishes_other_branches_and_marks_the_failed_cells(
    run: Path, tmp_path: Path
) -> None:
    """Issue 15 §1.3: one experiment fails (a corrupt checkpoint is planted where its
    training resumes). ``--keep-going`` still runs every independent branch (an SVM result
    and the tables of the cards that do not use the failed run); the partial tables
    (``results/tables-partial``, rendered by ``onerror``) mark its cells and those of its
    post-processed result as failed with the job's log, never as pending."""
    work = tmp_path / "w"
    _copy_run(run, work)
    exp = "experiments/baselines/blstm_ccc_eGeMAPSv02/recola_full/recola46"
    other = "experiments/baselines/svm_eGeMAPSv02/rml/loso"
    for rel in (exp, other, "tables"):
        shutil.rmtree(work / "results" / rel)
    ckpt = work / "results/checkpoints/baselines/blstm_ccc_eGeMAPSv02/recola_full/recola46.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(b"not a torch file")
    proc = _snakemake(work, "--keep-going", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    job_log = "results/logs/experiment/baselines/blstm_ccc_eGeMAPSv02/recola_full/recola46.log"
    assert ckpt.name in (work / job_log).read_text()  # the job names the file
    assert (work / "results" / other / "metrics.json").is_file()  # independent branch ran
    for card in ("zhang2018", "han_emobed", "aminbeidokhti2020"):  # do not use the BLSTM
        assert (work / "results/tables" / card).is_dir(), out[-3000:]
    assert not (work / "results/tables/tzirakis2017_published").exists()
    assert "partial tables in results/tables-partial" in out
    partial = work / "results/tables-partial"
    readme = (partial / "README.md").read_text()
    assert "| experiment | results/" + exp + "/" in readme and job_log in readme
    cells = pd.concat(
        [pd.read_csv(f) for f in sorted((partial / "tzirakis2017_published").glob("*.csv"))]
    )
    mine = cells[cells["row"] == "blstm_egemaps_ccc"]  # Table III uses its pp-tzirakis2017
    assert len(mine) == 4
    assert set(mine["verdict"]) == {f"failed: its experiment {exp} failed (log: {job_log})"}
    assert not cells["verdict"].str.startswith("not yet reproduced").any()
    assert cells["reproduced"].notna().sum() > 0  # the rest of the table is filled
    # the other cards' partial tables equal the regular tables this run rendered
    for f in (partial / "zhang2018").glob("*.csv"):
        assert f.read_text() == (work / "results/tables/zhang2018" / f.name).read_text()


def _hashes(results: Path) -> dict[str, str]:
    """SHA-256 of every file of the result, feature, fold and index folders."""
    import hashlib

    out = {}
    for sub in ("experiments", "features", "folds", "index", "tables"):
        for path in sorted((results / sub).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(results))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize(
    ("experiment", "words"),
    [
        ("zhang2019/anet", "unknown paper family 'zhang2019'"),
        ("tzirakis2017/speech002_ccc", "experiment 'speech002_ccc' is unknown"),
    ],
)
def test_card_row_with_unknown_family_or_experiment_stops_the_dry_run(
    tmp_path: Path, experiment: str, words: str
) -> None:
    """A `dag` row naming an unknown family or experiment stops `snakemake -n` naming the
    card file, the table and the row."""
    cards = tmp_path / "cards"
    shutil.copytree(ROOT / "benchmarks", cards, ignore=shutil.ignore_patterns("config.yaml"))
    path = cards / "tzirakis2017_published.yaml"
    card = yaml.safe_load(path.read_text())
    row = card["tables"][1]["rows"][0]
    row["reproduce"]["experiment"] = experiment
    path.write_text(yaml.safe_dump(card, sort_keys=False))
    work = _workdir(tmp_path / "w", cards=str(cards))
    proc = _snakemake(work, "-n", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{path}: table {card['tables'][1]['id']}, row {row['id']}" in out, out[-2000:]
    assert words in out


def test_zhang_tables_and_figures_on_rml_come_from_runs(run: Path) -> None:
    """Zhang et al. on the RML twin (the CI config runs this family on RML only): every RML
    cell of Tables I-XI and all 36 cells of Fig. 6 have a reproduced number; the other
    corpora's cells say they were not run here; rows say the networks started from random
    weights; the fusion runs read the fold features of Anet and Vnet."""
    tables = run / "results/tables/zhang2018"
    fig6 = pd.read_csv(tables / "fig_6.csv")
    assert len(fig6) == 36 and fig6["reproduced"].notna().all()
    rows = fig6.groupby("row")["reproduced"].sum()
    assert ((rows - 100).abs() < 1e-6).all()  # % of each true class
    for table_id in ("table_1", "table_5", "table_6", "table_10"):
        table = pd.read_csv(tables / f"{table_id}.csv")
        rml = table[table["row"].str.contains("rml")]
        assert len(rml) and rml["reproduced"].notna().all(), table_id
        others = table[table["row"].str.contains("baum1s")]
        assert (others["verdict"] == "not run in this configuration").all(), table_id
    assert pd.read_csv(tables / "table_7.csv")["reproduced"].notna().sum() == 18
    gains = pd.read_csv(tables / "text_iv_c1.csv")  # BAUM-1s gains: inputs not run here
    assert gains["verdict"].str.startswith("pending (not run in this configuration").all()
    base = run / "results/experiments/zhang2018"
    anet = json.loads((base / "anet/rml/loso/metrics.json").read_text())
    assert anet["params"]["init"].startswith("random initialisation")
    assert anet["metrics"]["n_folds"] == 8 and len(anet["files"]) == 8
    assert (base / "anet/rml/loso/folds/0.npz").is_file()
    dbn = json.loads((base / "fusion_dbn2/rml/loso/metrics.json").read_text())
    assert dbn["metrics"]["uar_pooled"] > 1 / 6 + 0.1, dbn["metrics"]["uar_pooled"]
    assert "DBN-2" in dbn["params"]["method"]
    figure = run / "results/figures/experiments/zhang2018/fusion_dbn2/rml/loso/confusion.png"
    assert figure.read_bytes()[:4] == b"\x89PNG"


def test_han_emobed_tables_and_figures_come_from_runs(run: Path) -> None:
    """All 72 own cells of Han et al.'s Tables 1-3 are filled by runs of the tiny profile, the
    EmoBed marks are recomputed, the sweeps and t-SNE figures are drawn, inference models
    hold the target branch only, and the OMG video rows name the stand-in features."""
    tables = run / "results/tables/han_emobed"
    n_own = 0
    for table_id in ("table_1", "table_2", "table_3"):
        table = pd.read_csv(tables / f"{table_id}.csv")
        own = table[table["origin"] == "own"]
        assert own["reproduced"].notna().all(), (table_id, own[own["reproduced"].isna()])
        assert own["corpus source"].str.startswith("synthetic twin (scale tiny").all()
        emobed = own[own["row"].str.startswith("emobed")]
        assert emobed["mark (recomputed)"].isin(["*", "-"]).all(), table_id
        paired = "Steiger" if table_id != "table_3" else "McNemar"
        assert emobed["mark (paired)"].str.fullmatch(rf"[*-] \({paired}, p=\S+\)").all()
        assert emobed["marks agree"].isin(["yes", "no"]).all(), table_id
        n_own += len(own)
    assert n_own == 72
    derived = pd.concat([pd.read_csv(f) for f in sorted(tables.glob("text_*.csv"))])
    assert len(derived) == 15 and (derived["origin"] == "derived").all()
    assert derived["reproduced"].notna().all(), derived[derived["reproduced"].isna()]
    base = run / "results/experiments/han_emobed"
    figures = run / "results/figures/experiments/han_emobed"
    for name in ("joint_audio_app", "triplet_geo_audio"):
        assert (figures / name / "recola_avec2016/avec2016/sweep.png").is_file()
    assert (figures / "emobed_app_audio/recola_avec2016/avec2016/tsne.png").is_file()
    assert (figures / "emobed_video_audio_7class/omg_emotion/official/tsne.png").is_file()
    joint = json.loads((base / "joint_audio_app/recola_avec2016/avec2016/metrics.json").read_text())
    emobed = json.loads(
        (base / "emobed_audio_app/recola_avec2016/avec2016/metrics.json").read_text()
    )
    triplet = json.loads(
        (base / "triplet_audio_app/recola_avec2016/avec2016/metrics.json").read_text()
    )
    for target in ("arousal", "valence"):
        # EmoBed trains with the alpha and beta its joint and triplet runs chose on dev
        assert emobed["params"][f"{target}.alpha"] == joint["params"][f"{target}.alpha"]
        assert emobed["params"][f"{target}.beta"] == triplet["params"][f"{target}.beta"]
        sweep = joint["params"][f"{target}.dev_ccc_by_alpha"]
        assert max(sweep.values()) == pytest.approx(joint["metrics"][f"{target}.dev.ccc"])
    assert emobed["params"]["label_shift_s"] == 2.4
    model = torch_load(base / "emobed_audio_app/recola_avec2016/avec2016/model.pt")
    assert {
        k.split(".")[1] for k in model["state_dicts"]["arousal"] if k.startswith("branches")
    } == {"audio"}
    video = json.loads(
        (base / "classic_video_7class/omg_emotion/official/metrics.json").read_text()
    )
    assert "stand-in for VGG-Face fc7" in video["params"]["features"]["video"]
    assert 0.0 <= video["metrics"]["f1_uap_uar"] <= 1.0


def test_aminbeidokhti_tables_and_figures_come_from_runs(run: Path) -> None:
    """All 24 own cells of Aminbeidokhti's Tables 2.1-3.2 are filled by runs of the tiny
    profile; Figs. 2.3 and 3.5 are drawn from the runs; the attention is measured; the AFEW
    rows say the trunk was randomly initialised; RECOLA rows are post-processed."""
    tables = run / "results/tables/aminbeidokhti2020"
    n_own = 0
    for table_id in ("table_2_1", "table_2_2", "table_3_1", "table_3_2"):
        table = pd.read_csv(tables / f"{table_id}.csv")
        own = table[table["origin"] == "own"]
        assert own["reproduced"].notna().all(), (table_id, own[own["reproduced"].isna()])
        assert own["corpus source"].str.startswith("synthetic twin (scale tiny").all()
        n_own += len(own)
    assert n_own == 24
    derived = pd.concat([pd.read_csv(f) for f in sorted(tables.glob("text_*.csv"))])
    assert len(derived) == 2 and derived["reproduced"].notna().all()
    base = run / "results/experiments/aminbeidokhti2020"
    figures = run / "results/figures/experiments/aminbeidokhti2020"
    attention = figures / "vgg16_tp_sa_h2_r1/afew/official/attention.png"
    gates = figures / "augmented_ensemble_multilabel/yt8m/yt8m_shards/gates.png"
    for png in (attention, gates):
        assert png.read_bytes()[:4] == b"\x89PNG", png
    sa = json.loads((base / "vgg16_tp_sa_h2_r1/afew/official/metrics.json").read_text())
    assert "random initialisation" in sa["params"]["trunk"]
    mass, area = (sa["metrics"][f"attention.mouth_brow_{k}"] for k in ("mass", "area"))
    assert 0 < mass < 1 and 0 < area < 1
    assert len(sa["extra"]["fig2_3"]["importance_0_100"]) == len(
        sa["extra"]["fig2_3"]["frame_probs"]
    )
    manifest = pd.read_parquet(run / "results/features/afew/faces_aminbeidokhti.parquet")
    assert "no_face" in manifest.columns and len(manifest) == 42
    ae = json.loads(
        (base / "augmented_ensemble_multilabel/yt8m/yt8m_shards/metrics.json").read_text()
    )
    assert 0 < ae["metrics"]["gap"] <= 1 and len(ae["extra"]["gates"]["classes"]) == 4
    sheet = pd.read_csv(run / "results/folds/yt8m/yt8m_shards.csv")
    assert set(sheet["role"]) == {"train", "dev"}
    pp = json.loads(
        (
            base / "augmented_ensemble/recola_avec2016/avec2016/pp-tzirakis2017/metrics.json"
        ).read_text()
    )
    assert (
        pp["metrics"]["arousal.dev.ccc"]
        >= json.loads(
            (base / "augmented_ensemble/recola_avec2016/avec2016/metrics.json").read_text()
        )["metrics"]["arousal.dev.ccc"]
        - 1e-9
    )


def torch_load(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def test_profile_command_reports_critical_path_and_budgets(run: Path) -> None:
    """benchmarks/dag_profile.py on the finished tiny run: its critical path (from the job
    graph) cannot be longer than the run's span; each budget is printed with its verdict and a
    budget the run cannot meet fails the command."""
    script = [sys.executable, str(ROOT / "benchmarks/dag_profile.py"), "--directory", str(run)]
    proc = subprocess.run(
        [*script, "--budget-wall-min", "1000", "--budget-dry-run-s", "120"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    span_s = float(re.search(r"span ([\d.]+) min", out).group(1)) * 60
    path_s = float(re.search(r"critical path: [\d.]+ min \((\d+) s\)", out).group(1))
    longest = float(re.search(r"longest \d+ jobs:\n.*\n\s*\S+\s+([\d.]+)", out).group(1))
    assert longest <= path_s <= span_s + 6  # the span is rounded to 0.1 min
    assert "PASS  peak memory of a job" in out
    assert re.search(r"PASS  no-op snakemake -n: [\d.]+ s .*nothing to do", out)
    bad = subprocess.run(
        [*script, "--max-rss-mb", "1", "--no-dag", "--no-dry-run"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert bad.returncode == 1 and "FAIL  peak memory of a job" in bad.stdout


def _dry_jobs(proc: subprocess.CompletedProcess) -> list[dict[str, str]]:
    """The wildcards of every job a dry run lists (``wildcards: a=b, ...`` lines)."""
    out = []
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if line.startswith("wildcards:"):
            pairs = (p.split("=", 1) for p in line[len("wildcards:") :].split(", "))
            out.append({k.strip(): v.strip() for k, v in pairs})
    return out


@pytest.mark.long  # 15-50 s: started first among the tests on the DAG
def test_seeds_rerun_each_network_per_seed_and_tables_show_the_spread(
    run: Path, tmp_path: Path
) -> None:
    """Issue 15 §2 seeds: ``seeds: 2`` adds replicate ``+seed1`` of every result whose numbers
    depend on a training seed, with its own training seed, beside the finished replicate 0
    (never rerun); a replicate that builds on another network takes that network's replicate
    of the same seed; the paper table shows the mean, the sd and the n of seeds and tests the
    seeds against the printed number; the regression snapshot records each seed's numbers."""
    work = tmp_path / "w"
    _copy_run(run, work)
    # with the run's job records: a params, code or input-set change would rerun a job here
    shutil.copytree(run / ".snakemake/metadata", work / ".snakemake/metadata")
    res = work / "results"
    cfg = yaml.safe_load((run / "benchmarks/config.yaml").read_text())
    cfg["seeds"] = 2
    (work / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    # 1. the DAG: chained replicates read their own seed's networks; replicate 0 is not rerun
    tz = "experiments/tzirakis2017/{}/recola_avec2016/avec2016/metrics.json"
    zh = "experiments/zhang2018/decision_majority_vote+seed1/rml/loso/metrics.json"
    targets = [f"results/{tz.format('multimodal_landmarks+seed1')}", f"results/{zh}"]
    jobs = _dry_jobs(_snakemake(work, "-n", *targets))
    names = {(j["family"], j["name"]) for j in jobs if j.get("name")}
    assert names == {
        ("tzirakis2017", "multimodal_landmarks+seed1"),
        ("tzirakis2017", "multimodal_traindev+seed1"),
        ("tzirakis2017", "speech000_ccc+seed1"),  # the CNNs multimodal_traindev starts from
        ("tzirakis2017", "visual_ccc+seed1"),
        ("zhang2018", "decision_majority_vote+seed1"),  # trains nothing, reads two networks
        ("zhang2018", "anet+seed1"),
        ("zhang2018", "vnet+seed1"),
    }, names
    # 2. a slice run: one BLSTM (and its post-processed result) of one card, two seeds
    for family, block in cfg["families"].items():
        block["enabled"] = family == "baselines"
    cfg["families"]["baselines"]["exclude"] = [
        "svm_*", "svr_*", "blstm_mse_*", "blstm_ccc_ComParE_2016",
    ]  # fmt: skip
    (work / "benchmarks/config.yaml").write_text(yaml.safe_dump(cfg))
    exp = "experiments/baselines/blstm_ccc_eGeMAPSv02{}/recola_full/recola46"
    r0, r1 = res / exp.format(""), res / exp.format("+seed1")
    before = (r0 / "metrics.json").read_bytes()
    _snakemake(work, "results/tables/tzirakis2017_published")
    assert (r0 / "metrics.json").read_bytes() == before  # replicate 0 kept as it was
    m0, m1 = (json.loads((r / "metrics.json").read_text()) for r in (r0, r1))
    assert m1["replicate"] == {"index": 1, "training_seed": cfg["seed"] + 1000}
    assert m0["replicate"] == {"index": 0, "training_seed": cfg["seed"]}
    assert m1["source"] == m0["source"] and m1["settings"] == m0["settings"]
    key = "arousal.dev.ccc"
    assert m1["metrics"][key] != m0["metrics"][key]  # another seed, another network
    pp0, pp1 = (json.loads((r / "pp-tzirakis2017/metrics.json").read_text()) for r in (r0, r1))
    assert pp1["replicate"]["index"] == 1 and pp1["experiment"].endswith("+seed1")
    # the table: Table III's BLSTM row is the mean of the two post-processed seeds
    cells = pd.concat(
        [pd.read_csv(f) for f in (res / "tables/tzirakis2017_published").glob("*.csv")]
    )
    row = cells[(cells["row"] == "blstm_egemaps_ccc") & cells["reproduced"].notna()]
    assert len(row) == 4 and set(row["seeds"]) == {2}
    keys = ["arousal.test.ccc", "arousal.dev.ccc", "valence.test.ccc", "valence.dev.ccc"]
    pairs = [[pp["metrics"][k] for pp in (pp0, pp1)] for k in keys]
    assert sorted(row["reproduced"]) == pytest.approx(sorted((a + b) / 2 for a, b in pairs))
    assert sorted(row["sd (seeds)"]) == pytest.approx(sorted(abs(a - b) / 2**0.5 for a, b in pairs))
    assert set(row["n (test)"]) == {2}
    assert row["note"].str.contains("one-sample t over 2 seeds").all()
    # the regression snapshot records each seed's numbers
    from emorepro.regression import collect

    found = collect(res)
    assert (exp.format("+seed1"), key) in found and (exp.format(""), key) in found
