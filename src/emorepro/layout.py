"""Where everything lives under the results folder: the one definition of every path.

The Snakemake rules build their output patterns from these functions (called with
``"{corpus}"``-style wildcards) and the paper families ask them for their inputs, so a path
is spelled once. Every function returns a POSIX string relative to the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    """Paths below ``root`` (the config's ``results``)."""

    root: str = "results"

    # corpora and protocols
    def twin(self, corpus: str) -> str:
        return f"{self.root}/corpora/{corpus}"

    def index(self, corpus: str) -> str:
        return f"{self.root}/index/{corpus}.csv"

    def sheet(self, corpus: str, protocol: str) -> str:
        return f"{self.root}/folds/{corpus}/{protocol}.csv"

    def sheet_meta(self, corpus: str, protocol: str) -> str:
        return f"{self.root}/folds/{corpus}/{protocol}.json"

    def labels(self, corpus: str) -> str:
        """Gold standard of a continuous corpus, one row per (recording, label frame)."""
        return f"{self.root}/labels/{corpus}.parquet"

    # features
    def feature_cache(self) -> str:
        return f"{self.root}/cache/features"

    def functionals(self, corpus: str, feature_set: str) -> str:
        return f"{self.root}/features/{corpus}/{feature_set}_functionals.parquet"

    def windowed(self, corpus: str, audio_set: str) -> str:
        return f"{self.root}/features/{corpus}/{audio_set}_windowed.parquet"

    def llds(self, corpus: str, audio_set: str) -> str:
        return f"{self.root}/features/{corpus}/{audio_set}_lld.parquet"

    def logmel(self, corpus: str, length: int | str) -> str:
        return f"{self.root}/features/{corpus}/logmel_64x{length}.parquet"

    def faces(self, corpus: str, kind: str) -> str:
        return f"{self.root}/features/{corpus}/faces_{kind}.parquet"

    def landmark_frames(self, corpus: str) -> str:
        return f"{self.root}/features/{corpus}/landmark_frames.parquet"

    def video_descriptors(self, corpus: str) -> str:
        return f"{self.root}/features/{corpus}/video_descriptors.parquet"

    def video_windowed(self, corpus: str, protocol: str, video_set: str) -> str:
        return f"{self.root}/features/{corpus}/{protocol}/video_{video_set}_windowed.parquet"

    def synthetic_landmark_model(self) -> str:
        return f"{self.root}/models/landmarks/synthetic_shape_predictor.dat"

    # results
    def result_dir(
        self, family: str, name: str, corpus: str, protocol: str, grid: str | None = None
    ) -> str:
        """``<root>/experiments/<family>/<name>/<corpus>/<protocol>[/pp-<grid>]``."""
        base = f"{self.root}/{result_rel(family, name, corpus, protocol)}"
        return f"{base}/pp-{grid}" if grid else base

    def metrics(self, family: str, name: str, corpus: str, protocol: str) -> str:
        return f"{self.result_dir(family, name, corpus, protocol)}/metrics.json"

    def predictions(self, family: str, name: str, corpus: str, protocol: str) -> str:
        return f"{self.result_dir(family, name, corpus, protocol)}/predictions.parquet"

    def checkpoint(self, family: str, name: str, corpus: str, protocol: str) -> str:
        return f"{self.root}/checkpoints/{family}/{name}/{corpus}/{protocol}.pt"

    def figure(self, rel_result: str, kind: str) -> str:
        """Figure ``kind`` of a result folder given relative to the root."""
        return f"{self.root}/figures/{rel_result}/{kind}.png"


def result_rel(family: str, name: str, corpus: str, protocol: str) -> str:
    """A result folder relative to the results root (the form the paper cards use)."""
    return f"experiments/{family}/{name}/{corpus}/{protocol}"
