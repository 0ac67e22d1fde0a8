"""Tzirakis et al. (2017): end-to-end speech, visual and multimodal networks on RECOLA.

Experiment names: :mod:`emorepro.families.tzirakis2017.spec`. Networks:
:mod:`~emorepro.families.tzirakis2017.models` (speech CNN 000/001, ResNet visual CNN,
unimodal and multimodal LSTMs); training: :mod:`~emorepro.families.tzirakis2017.train`;
Fig. 2: :mod:`~emorepro.families.tzirakis2017.fig2`. Settings: ``families.tzirakis2017`` of the
config (profiles ``tiny``/``small``/``paper``, local ImageNet weights for the ResNet).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from emorepro.families.base import (
    CORPUS_ROOT,
    Experiment,
    Family,
    JobInputs,
    RunContext,
    pick_profile,
)
from emorepro.families.tzirakis2017.spec import FAMILY_ID, GRAMMAR, resolve_settings
from emorepro.layout import Layout
from emorepro.postprocess import Grid, ladder
from emorepro.results import Outcome

#: Tzirakis et al.: median windows "ranging from 0.4 s to 20 s", shifts "from 0.04 s to
#: 10 s", steps not stated. Chosen: windows every 0.4 s (50 values) and shifts at every 40 ms
#: frame (250 values); a full AVEC 2016 partition (9 x 7,500 frames) is searched in well under
#: a second per target (benchmarks/postprocess_search.py).
GRID = Grid(
    name="tzirakis2017",
    median_windows_s=ladder(0.4, 20.0, 0.4),
    shifts_s=ladder(0.04, 10.0, 0.04),
)
#: Fig. 2 reads the windowed ComParE_2016 functionals of the analysed recording
FIG2_FEATURE_SET = "ComParE_2016"
FACE_KIND = "tzirakis"


class Tzirakis2017(Family):
    """End-to-end networks of Tzirakis et al. (module docstring)."""

    id = FAMILY_ID
    paper = FAMILY_ID
    title = "Tzirakis et al. 2017, End-to-end multimodal emotion recognition"
    grammar = GRAMMAR
    #: float32 training: same kernels and seed -> identical; other BLAS builds may differ
    regression_tolerance = 0.05

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> JobInputs:
        base: JobInputs = {"root": CORPUS_ROOT, "index": layout.index(corpus)}
        if exp.spec is None:  # fig2_cells
            return {
                **base,
                "model": layout.metrics(self.id, "speech000_ccc", corpus, protocol),
                "functionals": layout.windowed(corpus, FIG2_FEATURE_SET),
            }
        spec = exp.spec
        base["init"] = [layout.metrics(self.id, n, corpus, protocol) for n in spec.init]
        if "faces" in spec.needs:
            base["faces"] = layout.faces(corpus, FACE_KIND)
        if "landmarks" in spec.needs:
            base["landmarks"] = layout.landmark_frames(corpus)
        return base

    def settings(
        self, exp: Experiment, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        name, profile = pick_profile(block, config["scale"], key=f"families.{self.id}")
        if exp.spec is None:
            return {"profile": name, "model": "speech000_ccc", "feature_set": FIG2_FEATURE_SET}
        visual = block["visual"]
        return {
            **resolve_settings(exp.spec, profile),
            "profile": name,
            "visual_weights": visual["weights"],
            "visual_sha256": visual["sha256"],
        }

    def run(self, ctx: RunContext) -> Outcome:
        if ctx.experiment.spec is None:
            from emorepro.families.tzirakis2017.fig2 import run_fig2

            return run_fig2(ctx)
        from emorepro.families.tzirakis2017.train import run_e2e

        return run_e2e(ctx)

    def grids(self) -> Mapping[str, Grid]:
        return {GRID.name: GRID}

    def figure_kinds(self) -> tuple[str, ...]:
        return ("fig2",)

    def draw_figure(
        self, kind: str, result: Mapping[str, Any], predictions: pd.DataFrame, out: Path
    ) -> None:
        if kind != "fig2":
            super().draw_figure(kind, result, predictions, out)
        from emorepro.families.tzirakis2017.fig2 import draw_fig2

        draw_fig2(result, predictions, out)


FAMILY = Tzirakis2017()
