"""Example paper family: nearest class centroid on utterance functionals.

The smallest complete family (``docs/adding-a-family.md`` walks through it). Copied into
``src/emorepro/families/example/`` by ``tests/workflow/test_example_family.py``, with the
card ``example.yaml`` and the config block ``config_block.yaml``, to show that a family needs
nothing outside its folder, its card and its config block.

Grammar: ``centroid_<eGeMAPSv02|ComParE_2016>``: features z-scored with the fold's training
statistics, each test item given the class of the nearest training class mean (Euclidean).
Classification over the corpus' own folds (LOSO, LOGSO, ...); figures: the shared confusion
matrix and this family's ``centroids`` (distances between the class means of the last fold).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.evaluation import Fold, run_over_folds, summarise_classification
from emorepro.families.base import Experiment, Family, Grammar, Rule, RunContext
from emorepro.layout import Layout
from emorepro.results import Outcome, source_of


def _centroid(m: re.Match[str]) -> Experiment:
    figures = ("confusion", "centroids")
    return Experiment("example", m[0], "classification", figures=figures, spec=m[1])


class Example(Family):
    """Nearest class centroid (module docstring)."""

    id = "example"
    paper = "example"
    title = "Example family: nearest class centroid"
    grammar = Grammar(
        "example",
        (Rule(r"centroid_(eGeMAPSv02|ComParE_2016)", _centroid, "centroid_<feature set>"),),
    )

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> dict:
        return {"features": layout.functionals(corpus, exp.spec), "index": layout.index(corpus)}

    def settings(self, exp: Experiment, block: Mapping[str, Any], config: Mapping) -> dict:
        return {"feature_set": exp.spec, "distance": block["distance"]}

    def run(self, ctx: RunContext) -> Outcome:
        feats = pd.read_parquet(ctx.path("features")).set_index("item_id")
        labels = read_index(ctx.path("index")).set_index("item_id")["emotion"]
        classes = get_adapter(ctx.corpus).labels
        means: dict[str, list[float]] = {}

        def fit_predict(fold: Fold) -> pd.DataFrame:
            x = feats.loc[fold.train].to_numpy()
            mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-12
            y = labels.loc[fold.train].to_numpy()
            present = [c for c in classes if c in set(y)]
            centres = np.stack([((x[y == c] - mu) / sd).mean(axis=0) for c in present])
            test = (feats.loc[fold.test].to_numpy() - mu) / sd
            dist = np.linalg.norm(test[:, None, :] - centres[None], axis=2)
            means.clear()
            means.update({c: centres[i].tolist() for i, c in enumerate(present)})
            return pd.DataFrame(
                {"item_id": fold.test, "y_true": labels.loc[fold.test].to_numpy(),
                 "y_pred": np.asarray(present)[dist.argmin(axis=1)]}
            )  # fmt: skip

        table = run_over_folds(ctx.sheet(), fit_predict)
        s = summarise_classification(table, classes)
        return Outcome(
            "classification", table, s.metrics, s.metric_variants, s.folds,
            params={"class_means_last_fold": means}, labels=classes, confusion=s.confusion,
        )  # fmt: skip

    def figure_kinds(self) -> tuple[str, ...]:
        return ("centroids",)

    def draw_figure(
        self, kind: str, result: Mapping[str, Any], predictions: pd.DataFrame, out: Path
    ) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        means = result["params"]["class_means_last_fold"]
        names = list(means)
        c = np.asarray([means[n] for n in names])
        dist = np.linalg.norm(c[:, None] - c[None], axis=2)
        fig, ax = plt.subplots(figsize=(4, 4))
        ax.imshow(dist, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"class-mean distances ({source_of(result).describe()})", fontsize=7)
        fig.tight_layout()
        fig.savefig(out, format="png", metadata={"Software": None})
        plt.close(fig)


FAMILY = Example()
