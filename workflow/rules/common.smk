# Shared helpers: validated config, paths, named input functions (no lambdas in rules).
from pathlib import Path

from emorepro.cards import card_paths, iter_cells, load_card
from emorepro.config import validate_config
from emorepro.endtoend import EXPERIMENT_PATTERN, parse_experiment
from emorepro.errors import ConfigError
from emorepro.protocols import protocols_for

CFG = validate_config(config, source="benchmarks/config.yaml (+ --config overrides)")
R = CFG["results"]
ENV = "../../envs/emorepro.yaml"
CORPORA = list(CFG["corpora"])
SVM_CORPORA = CFG["baselines"]["svm"]["corpora"]
AUDIO_SETS = ("eGeMAPSv02", "ComParE_2016")
VIDEO_SETS = ("geometric", "appearance")
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

for _name, _c in CFG["corpora"].items():
    if _c["source"] == "real" and not Path(_c["path"]).is_dir():
        raise ConfigError(
            f"corpora.{_name}.path: {_c['path']!r} is not a folder; point it at the root of "
            f"your copy of {_name} or set source: synthetic"
        )


wildcard_constraints:
    corpus="|".join(CORPORA),
    protocol="[a-z0-9]+",
    feature_set="|".join(AUDIO_SETS + VIDEO_SETS),
    audio_set="|".join(AUDIO_SETS),
    loss="mse|ccc",
    family="[A-Za-z0-9_.+-]+",
    name="[A-Za-z0-9_.+-]+",
    grid="[a-z0-9]+",
    card="[a-z0-9_]+",
    rdir="experiments/[^ ]+",


def corpus_cfg(corpus):
    return CFG["corpora"][corpus]


def corpus_scale(corpus):
    return corpus_cfg(corpus).get("scale", CFG["scale"])


def corpus_root(wildcards):
    """Root folder of a corpus: the generated twin or the user's real copy."""
    c = corpus_cfg(wildcards.corpus)
    if c["source"] == "real":
        return c["path"]
    return f"{R}/corpora/{wildcards.corpus}"


def corpus_source(wildcards):
    c = corpus_cfg(wildcards.corpus)
    return {
        "source": c["source"],
        "scale": corpus_scale(wildcards.corpus) if c["source"] == "synthetic" else None,
        "seed": CFG["seed"],
    }


def fold_sheets():
    return [f"{R}/folds/{c}/{p}.csv" for c in CORPORA for p in protocols_for(c)]


def protocol_of(corpus):
    """The evaluation protocol of a corpus (single source: emorepro.protocols)."""
    return protocols_for(corpus)[0]


def _base_results():
    """Result folders (relative to R) of the classical experiments the config asks for."""
    b = CFG["baselines"]
    out = [
        f"experiments/baselines/svm_{b['svm']['feature_set']}/{c}/{protocol_of(c)}"
        for c in SVM_CORPORA
    ]
    for c in b["svr"]["corpora"]:
        for fs in b["svr"]["feature_sets"]:
            if fs in VIDEO_SETS and c != "recola_avec2016":
                continue  # AVEC-style video descriptors are defined for the AVEC package
            out.append(f"experiments/baselines/svr_{fs}/{c}/{protocol_of(c)}")
    if "blstm" in b:
        for c in b["blstm"]["corpora"]:
            for fs in b["blstm"]["feature_sets"]:
                for loss in b["blstm"]["losses"]:
                    out.append(
                        f"experiments/baselines/blstm_{loss}_{fs}/{c}/{protocol_of(c)}"
                    )
    tz = CFG.get("models", {}).get("tzirakis2017")
    if tz:
        e2e = "experiments/tzirakis2017"
        for c in tz["corpora"]:
            for version in tz["versions"]:
                for loss in tz["losses"].get(c, []):
                    out.append(f"{e2e}/speech{version}_{loss}/{c}/{protocol_of(c)}")
        avec = (
            f"recola_avec2016/{protocol_of('recola_avec2016')}"  # video: AVEC 2016 only
        )
        names = [f"visual_{loss}" for loss in tz["visual"]["losses"]]
        names += [
            f"{net}_seq{n}"
            for net in tz["ablation"]["networks"]
            for n in tz["ablation"]["lengths"]
        ]
        names += [f"multimodal_{v}" for v in tz["multimodal"]]
        out += [f"{e2e}/{name}/{avec}" for name in names]
        if tz["fig2"]:
            out.append(f"{e2e}/fig2_cells/recola_full/{protocol_of('recola_full')}")
    return out


def _profile_name():
    """The model profile: configured, else named like the scale (full -> paper)."""
    tz = CFG.get("models", {}).get("tzirakis2017")
    if not tz:
        return None
    name = tz.get("profile") or {"full": "paper"}.get(CFG["scale"], CFG["scale"])
    if name not in tz["profiles"]:
        raise ConfigError(
            f"models.tzirakis2017.profile: {name!r} is not one of the profiles "
            f"{sorted(tz['profiles'])}; add it under models.tzirakis2017.profiles"
        )
    return name


PROFILE = _profile_name()


E2E_PATTERN = EXPERIMENT_PATTERN


def e2e_settings(wildcards):
    """Scientific settings of an end-to-end run: the profile plus the local ImageNet weights
    (resolved per experiment by emorepro.endtoend.resolve_settings)."""
    tz = CFG["models"]["tzirakis2017"]
    return {
        **tz["profiles"][PROFILE],
        "visual_weights": tz["visual"]["weights"],
        "visual_sha256": tz["visual"]["sha256"],
    }


def e2e_inputs(wildcards):
    """Corpus, partition and what the experiment needs: face crops, landmarks, and the
    model.pt of the runs it starts from (multimodal)."""
    spec = parse_experiment(wildcards.name)
    c, p = wildcards.corpus, wildcards.protocol
    inputs = {
        "root": corpus_root(wildcards),
        "index": f"{R}/index/{c}.csv",
        "sheet": f"{R}/folds/{c}/{p}.csv",
        "sheet_meta": f"{R}/folds/{c}/{p}.json",
        "init": [
            f"{R}/experiments/tzirakis2017/{n}/{c}/{p}/model.pt" for n in spec.init
        ],
    }
    if "faces" in spec.needs:
        inputs["faces"] = f"{R}/features/{c}/faces_tzirakis.parquet"
    if "landmarks" in spec.needs:
        inputs["landmarks"] = f"{R}/features/{c}/landmark_frames.parquet"
    return inputs


def _configured_results():
    """Base results plus the post-processed variants that some card row needs."""
    base = _base_results()
    extra = set()
    for card in CARDS.values():
        for cell in iter_cells(card, results=""):
            if cell.status != "dag" or not cell.result:
                continue
            parent, leaf = cell.result.rsplit("/", 1)
            if leaf.startswith("pp-") and parent in base:
                extra.add(cell.result)
    return [*base, *sorted(extra)]


RESULTS = _configured_results()


def experiment_results():
    return [f"{R}/{d}/metrics.json" for d in RESULTS]


def is_categorical(rdir):
    """experiments/<family>/<name>/...: the SVM experiments are the categorical ones."""
    return Path(rdir).parts[2].startswith("svm_")


def tables_root(wildcards, output):
    """The results root, derived from the output folder results/tables/<card>."""
    return str(Path(output.tables).parent.parent)


def index_root(wildcards, output):
    """The results root, derived from results/index.md."""
    return str(Path(output.md).parent)


def figures():
    """Confusion matrix or prediction trace of every result; Fig. 2 has its own figure."""
    out = []
    for d in RESULTS:
        if Path(d).parts[2] == "fig2_cells":
            out.append(f"{R}/figures/{d}/fig2.png")
        else:
            out.append(
                f"{R}/figures/{d}/{'confusion' if is_categorical(d) else 'trace'}.png"
            )
    return out


def card_results(wildcards):
    """metrics.json and predictions of every configured result a card's rows use."""
    card = CARDS[wildcards.card]
    used = {
        c.result for c in iter_cells(card, results="") if c.status == "dag" and c.result
    }
    dirs = [d for d in RESULTS if d in used]
    return [
        f"{R}/{d}/{f}" for d in dirs for f in ("metrics.json", "predictions.parquet")
    ]


def card_file(wildcards):
    return CARD_FILES[wildcards.card]


def table_dirs():
    return [f"{R}/tables/{name}" for name in CARD_FILES]


def feature_targets():
    """Features that no experiment consumes yet (inputs of the deep models of later issues)."""
    f = CFG["features"]
    out = [
        f"{R}/features/{c}/logmel_64x{n}.parquet"
        for c in f["logmel"]["corpora"]
        for n in f["logmel"]["lengths"]
    ]
    out += [
        f"{R}/features/{c}/faces_{k}.parquet"
        for c in f["faces"]["corpora"]
        for k in f["faces"]["kinds"]
    ]
    return out


def all_targets(wildcards):
    return [
        *fold_sheets(),
        *feature_targets(),
        *experiment_results(),
        *figures(),
        *table_dirs(),
        f"{R}/index.md",
        f"{R}/mlflow.done",
        f"{R}/tables/baselines.md",
    ]


def svr_frames(wildcards):
    """Frame table of an SVR: windowed openSMILE functionals, or AVEC-style video
    descriptors (appearance PCA fitted on the protocol's training recordings)."""
    if wildcards.feature_set in VIDEO_SETS:
        return (
            f"{R}/features/{wildcards.corpus}/{wildcards.protocol}/"
            f"video_{wildcards.feature_set}_windowed.parquet"
        )
    return f"{R}/features/{wildcards.corpus}/{wildcards.feature_set}_windowed.parquet"


def landmark_model_file(wildcards):
    """The configured landmark model (e.g. dlib's 68-point file), else the synthetic one."""
    path = CFG["features"]["video"]["landmark_model"]
    return path if path else f"{R}/models/landmarks/synthetic_shape_predictor.dat"


def blstm_params(wildcards):
    """Scientific parameters of the BLSTM (the loss comes from the wildcard)."""
    keys = ("hidden", "layers", "epochs", "lr", "batch_size", "seq_len")
    return {k: CFG["baselines"]["blstm"][k] for k in keys}


def gpu_request(wildcards):
    return 1 if CFG["execution"]["device"] == "cuda" else 0


def scale_param(wildcards):
    return corpus_scale(wildcards.corpus)
