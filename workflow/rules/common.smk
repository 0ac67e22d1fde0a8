# Shared helpers: validated config, the plan of results (emorepro.plan: paper cards + family
# registry), paths (emorepro.layout) and named input functions (no lambdas in rules).
from pathlib import Path

from emorepro.cards import card_paths, iter_cells, load_card
from emorepro.config import validate_config
from emorepro.errors import ConfigError
from emorepro.families import family_code_sha256, family_ids, get_family
from emorepro.layout import Layout
from emorepro.plan import (
    ResultKey,
    canonical,
    chain_depths,
    check_cards,
    figure_jobs,
    figure_targets,
    job_inputs,
    job_settings,
    plan_results,
)
from emorepro.protocols import PROTOCOLS, protocols_for

CFG = validate_config(config, source="benchmarks/config.yaml (+ --config overrides)")
R = CFG["results"]
L = Layout(R)
ENV = "../../envs/emorepro.yaml"
# Peak memory a job may use (MB; `resources: mem_mb` of each rule, so that Snakemake's
# `--resources mem_mb=N` and SLURM schedule by memory). Measured peaks at scale small
# (python benchmarks/dag_profile.py) rounded up, at the 2.5 GB budget or below. The linear
# SVR on ComParE_2016 (recola_full, small: 4,800 x 6,373 training rows, LIBLINEAR since
# issue 14; it was 10.6 GB with libsvm's Gram matrix) peaks at 1.7 GB (1,625 MiB measured),
# within the experiment budget below. The per-recording rules (emorepro.parallel) were
# measured with 2 workers (execution.media_threads: 2): RSS summed over the job's processes
# (what the benchmark files record; pages the forked workers share with the job are counted
# in each), e.g. synth_corpus 1.6 GB (PSS 1.3 GB, RECOLA full) and landmark_frames 1.6 GB
# (PSS 0.7 GB) at small; face_crops 0.7 GB.
MEM_MB = {
    "light": 1000,  # indexes, fold sheets, tables, figures, gold standard, LLD frames
    "synth_corpus": 2000,
    "functionals": 1000,
    "windowed_functionals": 2500,
    "logmel_segments": 1500,
    "face_crops": 1500,
    "landmark_frames": 2000,
    "video_descriptors": 2000,
    "video_windowed": 2000,
    "experiment": 2500,
    "postprocess": 1500,
    "mlflow_mirror": 1500,
}
# Torch intra-op threads of a training job (execution.torch_threads); a fixed number, not
# the cores Snakemake has free, so that the same seed gives the same numbers under any
# --cores (torch's parallel reductions depend on the thread count).
TORCH_THREADS = CFG["execution"]["torch_threads"]
# Forked workers of the per-recording media rules (execution.media_threads, default 2). A job
# that asks for 2 cores starts only when 2 are free at once, and whenever one core frees,
# Snakemake fills it with a ready one-core job, whatever the priorities: on 2 cores with the
# default DAG, synth_corpus for RECOLA-46 (no inputs, priority 10) started after 22.5 min.
# With 1, command 1 was 0.6 min shorter but the CI 2.3 min longer (README, Threads and memory).
# Their outputs are the same for any count (emorepro.parallel).
MEDIA_THREADS = CFG["execution"]["media_threads"]
# What a training job reads of `execution` (device, torch threads): its params, so changing
# them reruns the experiments; media_threads is left out, it never reaches a training.
TRAINING_EXECUTION = canonical(
    {k: v for k, v in CFG["execution"].items() if k != "media_threads"}
)
CORPORA = list(CFG["corpora"])
# Paper cards: a relative folder is resolved against the repository (the Snakefile's folder).
CARDS_DIR = Path(CFG["cards"])
if not CARDS_DIR.is_absolute():
    CARDS_DIR = Path(workflow.basedir) / CARDS_DIR
CARD_FILES = {p.stem: str(p) for p in card_paths(CARDS_DIR)}
if not CARD_FILES:
    raise ConfigError(
        f"cards: no paper cards (*.yaml) in {CARDS_DIR}; point 'cards' at them"
    )
CARDS = {name: load_card(path) for name, path in CARD_FILES.items()}
check_cards(CARDS, CARD_FILES)

for _name, _c in CFG["corpora"].items():
    if _c["source"] == "real" and not Path(_c["path"]).is_dir():
        raise ConfigError(
            f"corpora.{_name}.path: {_c['path']!r} is not a folder; point it at the root of "
            f"your copy of {_name} or set source: synthetic"
        )

RESULTS = plan_results(CFG, CARDS)
FIGURE_JOBS = figure_jobs(RESULTS, L)
FIGURE_FAMILIES = sorted({f.rel.split("/")[1] for f in FIGURE_JOBS})


wildcard_constraints:
    corpus="|".join(CORPORA),
    protocol="|".join(PROTOCOLS),
    feature_set="[A-Za-z0-9_]+",
    audio_set="eGeMAPSv02|ComParE_2016",
    family="|".join(family_ids()),
    name="[A-Za-z0-9_.+-]+",
    grid="[a-z0-9_]+",
    card="[a-z0-9_]+",
    rdir="experiments/[^ ]+",


def corpus_cfg(corpus):
    return CFG["corpora"][corpus]


def corpus_scale(corpus):
    return corpus_cfg(corpus).get("scale", CFG["scale"])


def corpus_root(wildcards):
    """Root folder of a corpus: the generated twin or the user's real copy."""
    c = corpus_cfg(wildcards.corpus)
    return c["path"] if c["source"] == "real" else L.twin(wildcards.corpus)


def corpus_source(wildcards):
    c = corpus_cfg(wildcards.corpus)
    return {
        "source": c["source"],
        "scale": corpus_scale(wildcards.corpus) if c["source"] == "synthetic" else None,
        "seed": CFG["seed"],
    }


def scale_param(wildcards):
    return corpus_scale(wildcards.corpus)


def result_key(wildcards):
    return ResultKey(
        wildcards.family, wildcards.name, wildcards.corpus, wildcards.protocol
    )


def experiment_inputs(wildcards):
    """The named inputs the result's family asks for (emorepro.plan.job_inputs)."""
    return job_inputs(result_key(wildcards), L, corpus_root(wildcards))


def experiment_settings(wildcards):
    """Scientific settings of one experiment (a change reruns exactly that job)."""
    return job_settings(result_key(wildcards), CFG)


def experiment_code(wildcards):
    """The family's code (a change reruns that family's jobs only)."""
    return family_code_sha256(wildcards.family)


#: Corpora, indexes, fold sheets and features run before any experiment (experiments have
#: 0 and up, emorepro.plan.chain_depths): their consumers then all become ready early and pack
#: the cores, instead of a late feature job (e.g. 70 s of ComParE windows) and the model
#: behind it running alone at the end while the other core idles.
FEATURE_PRIORITY = 10

_CHAIN_DEPTHS = {}


def experiment_priority(wildcards):
    """Jobs that start longer chains of trainings first (emorepro.plan.chain_depths);
    computed on the first job that needs running, so a no-op dry run never pays for it.
    """
    if not _CHAIN_DEPTHS:
        _CHAIN_DEPTHS.update(chain_depths(RESULTS, lambda k: job_inputs(k, L, "")))
    return _CHAIN_DEPTHS.get(result_key(wildcards), 0)


def experiment_gpu(wildcards):
    trains = result_key(wildcards).experiment().trains_network
    return 1 if trains and CFG["execution"]["device"] == "cuda" else 0


def experiment_results():
    return [f"{R}/{k.rel}/metrics.json" for k in RESULTS]


def family_results(wildcards):
    return [
        f"{R}/{k.rel}/metrics.json" for k in RESULTS if k.family == wildcards.family
    ]


def mlflow_markers():
    return [
        f"{R}/mlflow/{family}.done" for family in sorted({k.family for k in RESULTS})
    ]


def fold_sheets():
    return [L.sheet(c, p) for c in CORPORA for p in protocols_for(c)]


def figures():
    return figure_targets(RESULTS, L)


def _figure_jobs(family):
    prefix = f"experiments/{family}/"
    return [f for f in FIGURE_JOBS if f.rel.startswith(prefix)]


def figure_dirs():
    """One folder per family with figures: the output of its `figures` job."""
    return [f"{R}/figures/experiments/{family}" for family in FIGURE_FAMILIES]


def figure_inputs(wildcards):
    rels = sorted({f.rel for f in _figure_jobs(wildcards.family)})
    return {
        "metrics": [f"{R}/{rel}/metrics.json" for rel in rels],
        "predictions": [f"{R}/{rel}/predictions.parquet" for rel in rels],
    }


def figure_specs(wildcards):
    """[kind, metrics.json, predictions.parquet, png] of every figure of the family."""
    return [
        [f.kind, f"{R}/{f.rel}/metrics.json", f"{R}/{f.rel}/predictions.parquet", f.png]
        for f in _figure_jobs(wildcards.family)
    ]


def card_results(wildcards):
    """metrics.json and predictions of every planned result a card's rows use, with their
    seed replicates (emorepro.replicates)."""
    used = {
        c.result
        for c in iter_cells(CARDS[wildcards.card], results="")
        if c.status == "dag" and c.result
    }
    return [
        f"{R}/{k.rel}/{f}"
        for k in RESULTS
        if k.with_replicate(0).rel in used
        for f in ("metrics.json", "predictions.parquet")
    ]


def card_file(wildcards):
    return CARD_FILES[wildcards.card]


def table_dirs():
    return [f"{R}/tables/{name}" for name in CARD_FILES]


def tables_root(wildcards, output):
    """The results root, derived from the output folder results/tables/<card>."""
    return str(Path(output.tables).parent.parent)


def index_root(wildcards, output):
    """The results root, derived from results/index.md."""
    return str(Path(output.md).parent)


def feature_targets():
    """Features the config asks for that no planned experiment may consume yet."""
    f = CFG["features"]
    out = [
        L.logmel(c, n) for c in f["logmel"]["corpora"] for n in f["logmel"]["lengths"]
    ]
    out += [L.faces(c, k) for c in f["faces"]["corpora"] for k in f["faces"]["kinds"]]
    return out


def all_targets(wildcards):
    return [
        *fold_sheets(),
        *feature_targets(),
        *experiment_results(),
        *figure_dirs(),
        *table_dirs(),
        f"{R}/index.md",
        *mlflow_markers(),
    ]


def landmark_model_file(wildcards):
    """The configured landmark model (a dlib shape-predictor file, or ibug68 for dlib's
    68-point model from face_recognition_models), else the synthetic one."""
    # imported here: dlib and OpenCV load only when a video rule asks
    from emorepro.features.landmarks import resolve_model_setting

    path = resolve_model_setting(CFG["features"]["video"]["landmark_model"])
    return path if path else L.synthetic_landmark_model()


def render_partial_tables(logs):
    """`onerror`: the paper tables of what a failed run finished, in results/tables-partial/,
    each failed cell marked with its job's log (README, "Interrupted runs"). Never raises:
    the run has failed already, and its own error is the one to read."""
    import sys

    from emorepro.steps.reporting import partial_tables_step

    out = f"{R}/tables-partial"
    try:
        counts = partial_tables_step(
            list(CARD_FILES.values()),
            results_root=R,
            planned=[k.rel for k in RESULTS],
            snakemake_logs=list(logs or []),
            out_dir=out,
        )
    except Exception as err:  # noqa: BLE001 - report, do not mask the run's failure
        print(f"emorepro: partial tables not rendered: {err}", file=sys.stderr)
        return
    failed = counts.get("failed", 0)
    print(
        f"emorepro: partial tables in {out}/ ({failed} cells failed; README.md lists the "
        "failed jobs and their logs)",
        file=sys.stderr,
    )
