# Shared helpers: validated config, paths, named input functions (no lambdas in rules).
from pathlib import Path

from emorepro.config import validate_config
from emorepro.errors import ConfigError
from emorepro.protocols import protocols_for

CFG = validate_config(config, source="benchmarks/config.yaml (+ --config overrides)")
R = CFG["results"]
ENV = "../../envs/emorepro.yaml"
CORPORA = list(CFG["corpora"])
SVM_CORPORA = CFG["baselines"]["svm"]["corpora"]

for _name, _c in CFG["corpora"].items():
    if _c["source"] == "real" and not Path(_c["path"]).is_dir():
        raise ConfigError(
            f"corpora.{_name}.path: {_c['path']!r} is not a folder; point it at the root of "
            f"your copy of {_name} or set source: synthetic"
        )


wildcard_constraints:
    corpus="|".join(CORPORA),
    protocol="[a-z0-9]+",


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


def svm_protocol(corpus):
    """The evaluation protocol of a categorical corpus (single source: emorepro.protocols)."""
    return protocols_for(corpus)[0]


def experiment_results():
    out = [
        f"{R}/experiments/baselines/svm_{CFG['baselines']['svm']['feature_set']}/{c}/{svm_protocol(c)}/metrics.json"
        for c in SVM_CORPORA
    ]
    if "recola_avec2016" in CORPORA:
        out.append(
            f"{R}/experiments/baselines/svr_{CFG['baselines']['svr']['feature_set']}/recola_avec2016/avec2016/metrics.json"
        )
    return out


def all_targets(wildcards):
    return [
        *fold_sheets(),
        *experiment_results(),
        f"{R}/mlflow.done",
        f"{R}/tables/baselines.md",
    ]


def scale_param(wildcards):
    return corpus_scale(wildcards.corpus)
