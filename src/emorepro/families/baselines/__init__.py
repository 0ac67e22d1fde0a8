"""Classical baselines: linear SVM, ε-SVR (libsvm) and BLSTM, as the papers' comparison rows.

Experiment names (the grammar, defined here once):

==========================  =====================================================================
``svm_<audio set>[_spkz]``  linear one-vs-one C-SVM on utterance functionals, one model per fold
                             (LOSO / LOGSO / official partition); classification. Features are
                             z-scored with the fold's training statistics; ``_spkz`` first
                             z-scores every speaker's items with that speaker's own statistics
``svr_<set>``                linear ε-SVR per target on windowed functionals (``eGeMAPSv02``,
                             ``ComParE_2016``) or AVEC-style video descriptors (``geometric``,
                             ``appearance``), C chosen on dev; regression
``blstm_<loss>_<audio set>`` BLSTM on openSMILE LLDs at the label rate, ``mse`` or ``ccc`` loss,
                             epoch chosen on dev; regression
==========================  =====================================================================

``<audio set>`` is ``eGeMAPSv02`` or ``ComParE_2016``. Besides the paper cards' rows, the config
block runs the SVM on ``svm.corpora`` x ``svm.feature_sets`` x ``svm.normalisations`` and the
SVR on ``svr.corpora`` x ``svr.feature_sets`` (video descriptors on the AVEC 2016 package only).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from emorepro.families.base import Experiment, Family, Grammar, JobInputs, Rule, RunContext
from emorepro.layout import Layout
from emorepro.results import Outcome

AUDIO_SETS = ("eGeMAPSv02", "ComParE_2016")
VIDEO_SETS = ("geometric", "appearance")
#: the corpus whose AVEC 2016 package defines the video descriptors
VIDEO_CORPUS = "recola_avec2016"
_AUDIO = "|".join(AUDIO_SETS)
_VIDEO = "|".join(VIDEO_SETS)


#: normalisation name -> experiment-name suffix
NORMALISATIONS = {"fold": "", "speaker": "_spkz"}


def _svm(m: re.Match[str]) -> Experiment:
    spec = {"model": "svm", "features": m[1], "normalisation": "speaker" if m[2] else "fold"}
    return Experiment("baselines", m[0], "classification", spec=spec)


def _svr(m: re.Match[str]) -> Experiment:
    return Experiment("baselines", m[0], "regression", spec={"model": "svr", "features": m[1]})


def _blstm(m: re.Match[str]) -> Experiment:
    spec = {"model": "blstm", "loss": m[1], "features": m[2]}
    return Experiment("baselines", m[0], "regression", trains_network=True, spec=spec)


GRAMMAR = Grammar(
    "baselines",
    (
        Rule(rf"svm_({_AUDIO})(_spkz)?", _svm, "svm_<eGeMAPSv02|ComParE_2016>[_spkz]"),
        Rule(
            rf"svr_({_AUDIO}|{'|'.join(VIDEO_SETS)})", _svr, "svr_<audio set|geometric|appearance>"
        ),
        Rule(rf"blstm_(mse|ccc)_({_AUDIO})", _blstm, "blstm_<mse|ccc>_<audio set>"),
    ),
)


class Baselines(Family):
    """SVM, SVR and BLSTM baselines (see the module docstring)."""

    id = "baselines"
    paper = "baselines"
    title = "Classical baselines (linear SVM, ε-SVR, BLSTM)"
    grammar = GRAMMAR

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> JobInputs:
        model, features = exp.spec["model"], exp.spec["features"]
        if model == "svm":
            return {"features": layout.functionals(corpus, features), "index": layout.index(corpus)}
        if model == "blstm":
            return {"frames": layout.llds(corpus, features)}
        if features in VIDEO_SETS:
            return {"frames": layout.video_windowed(corpus, protocol, features)}
        return {"frames": layout.windowed(corpus, features)}

    def settings(
        self, exp: Experiment, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        model = exp.spec["model"]
        out: dict[str, Any] = {"feature_set": exp.spec["features"]}
        if model == "svm":
            out["C"] = block["svm"]["C"]
            out["normalisation"] = exp.spec["normalisation"]
        elif model == "svr":
            svr = block["svr"]
            out.update(
                C_grid=list(svr["C_grid"]),
                epsilon=svr["epsilon"],
                train_frame_step=svr["train_frame_step"],
            )
            out["window_s"] = config["features"]["windowed"]["window_s"]
        else:
            out.update(
                {
                    k: block["blstm"][k]
                    for k in ("hidden", "layers", "epochs", "lr", "batch_size", "seq_len")
                }
            )
            out["loss"] = exp.spec["loss"]
        return out

    def extra_results(
        self, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> Sequence[tuple[str, str]]:
        svm, svr = block["svm"], block["svr"]
        out = [
            (f"svm_{fs}{NORMALISATIONS[norm]}", c)
            for c in svm["corpora"]
            for fs in svm["feature_sets"]
            for norm in svm["normalisations"]
        ]
        out += [
            (f"svr_{fs}", c)
            for c in svr["corpora"]
            for fs in svr["feature_sets"]
            if fs not in VIDEO_SETS or c == VIDEO_CORPUS
        ]
        return out

    def run(self, ctx: RunContext) -> Outcome:
        from emorepro.families.baselines import runs

        return {"svm": runs.svm_run, "svr": runs.svr_run, "blstm": runs.blstm_run}[
            ctx.experiment.spec["model"]
        ](ctx)

    def tolerance(self, exp: Experiment) -> float:
        # the BLSTM trains in float32 (same kernels and seed -> identical; a BLAS may differ)
        return 0.03 if exp.spec["model"] == "blstm" else self.regression_tolerance


FAMILY = Baselines()
