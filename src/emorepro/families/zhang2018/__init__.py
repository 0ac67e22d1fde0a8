"""Zhang et al. (2018): AlexNet on log-Mel segments, C3D on face clips, DBN fusion (002).

Experiment names: :mod:`emorepro.families.zhang2018.spec`. Networks:
:mod:`~emorepro.families.zhang2018.audio_net` (AlexNet on log-Mel),
:mod:`~emorepro.families.zhang2018.visual_net` (C3D),
:mod:`~emorepro.families.zhang2018.rbm` and :mod:`~emorepro.families.zhang2018.fusion_nets`
(RBM, DBN, FC fusion), :mod:`~emorepro.families.zhang2018.fusion_rules` (Kittler's rules);
runs: :mod:`~emorepro.families.zhang2018.unimodal` (Anet, Vnet, AlexAudio, C3DVisual) and
:mod:`~emorepro.families.zhang2018.fusion`. Settings: ``families.zhang2018`` of the config
(profiles ``tiny``/``small``/``paper``, local ImageNet AlexNet and C3D Sports-1M weights,
``beyond_papers``: the audio networks on other categorical corpora such as EmoDB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from emorepro.errors import ConfigError
from emorepro.families.base import Experiment, Family, JobInputs, RunContext, pick_profile
from emorepro.families.zhang2018.spec import FAMILY_ID, FUSION_SOURCES, GRAMMAR
from emorepro.layout import Layout
from emorepro.results import Outcome

#: the crops of Zhang et al.: eye-normalised 150x110 faces
FACE_KIND = "zhang"
COMMON = ("optimizer", "batch_size", "lr", "momentum", "svm_C", "stats_segments")
BY_MODALITY = {
    "audio": ("audio_width", "audio_input", "audio_epochs", "net_dropout", "segments_per_epoch"),
    "visual": (
        "visual_width",
        "visual_input",
        "visual_epochs",
        "net_dropout",
        "segments_per_epoch",
    ),
    "fusion": (
        "fusion_epochs",
        "fusion_hidden",
        "dropout",
        "rbm_epochs",
        "rbm_lr_gaussian",
        "rbm_lr_bernoulli",
    ),
}


class Zhang2018(Family):
    """Zhang et al.'s hybrid deep model (module docstring)."""

    id = FAMILY_ID
    paper = FAMILY_ID
    title = "Zhang et al. 2018, Learning affective features with a hybrid deep model"
    grammar = GRAMMAR
    #: float32 training: same kernels and seed -> identical; other CPUs may differ
    regression_tolerance = 0.05

    def inputs(self, exp: Experiment, corpus: str, protocol: str, layout: Layout) -> JobInputs:
        spec = exp.spec
        base: JobInputs = {"index": layout.index(corpus)}
        if spec.modality == "audio":
            return {**base, "logmel": layout.logmel(corpus, spec.length)}
        if spec.modality == "visual":
            return {
                **base,
                "faces": layout.faces(corpus, FACE_KIND),
                "logmel": layout.logmel(corpus, 64),
            }
        return {**base, **{k: layout.metrics(self.id, k, corpus, protocol) for k in FUSION_SOURCES}}

    def settings(
        self, exp: Experiment, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        name, profile = pick_profile(block, config["scale"], key=f"families.{self.id}")
        modality = exp.spec.modality
        out = {"profile": name, **{k: profile[k] for k in (*COMMON, *BY_MODALITY[modality])}}
        if modality != "fusion":
            out[f"{modality}_weights"] = block[modality]["weights"]
            out[f"{modality}_sha256"] = block[modality]["sha256"]
        return out

    def extra_results(
        self, block: Mapping[str, Any], config: Mapping[str, Any]
    ) -> Sequence[tuple[str, str]]:
        """``beyond_papers``: the audio networks on corpora the paper did not use (e.g. EmoDB,
        which has no video); a visual or fusion experiment there is a config error."""
        extra = block.get("beyond_papers", {})
        names = list(extra.get("experiments", []))
        for name in names:
            if self.parse(name).spec.modality != "audio":
                raise ConfigError(
                    f"families.{self.id}.beyond_papers.experiments: {name!r} needs face clips; "
                    "only the audio networks (alexaudio, anet, anet_mel64x15) run beyond the "
                    "paper's corpora"
                )
        return [(n, c) for c in extra.get("corpora", []) for n in names]

    def run(self, ctx: RunContext) -> Outcome:
        if ctx.experiment.spec.modality == "fusion":
            from emorepro.families.zhang2018.fusion import run_fusion

            return run_fusion(ctx)
        from emorepro.families.zhang2018.unimodal import run_unimodal

        return run_unimodal(ctx)


FAMILY = Zhang2018()
