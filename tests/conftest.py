"""Import emorepro before any test module imports torch: its CPU-kernel pins
(:mod:`emorepro.numerics`) must be in the environment before torch runs a kernel."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import emorepro  # noqa: F401


@pytest.fixture
def make_result() -> Callable[..., dict[str, Any]]:
    """Build a valid ``metrics.json`` dict (emorepro.results) with the given fields.

    ``task``: classification (labels a, b; a 2x2 confusion) or regression (targets arousal,
    valence); every metric gets a variant unless ``metric_variants`` is given.
    """
    from emorepro.results import Identity, Outcome, Source, build_result

    def make(
        *,
        metrics: dict[str, float],
        task: str = "regression",
        family: str = "baselines",
        experiment: str = "svr_eGeMAPSv02",
        corpus: str = "recola_avec2016",
        protocol: str = "avec2016",
        seed: int = 7,
        scale: str | None = "tiny",
        params: dict[str, Any] | None = None,
        folds: list[dict[str, Any]] | None = None,
        profile: str | None = None,
        postprocess: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        identity = Identity(
            paper=family,
            family=family,
            experiment=experiment,
            corpus=corpus,
            protocol=protocol,
            source=Source("synthetic" if scale else "real", scale, seed),
            rule="experiment",
            fold_sheet_sha256="ab" * 32,
            settings=settings or {},
            postprocess=postprocess,
        )
        classification = task == "classification"
        outcome = Outcome(
            task,  # type: ignore[arg-type]
            pd.DataFrame(),
            dict(metrics),
            {k: f"{k} variant" for k in metrics if not k.startswith("n_")},
            folds or [{"fold": 0, "metrics": dict(metrics)}],
            params=params or {},
            labels=("a", "b") if classification else None,
            targets=None if classification else ("arousal", "valence"),
            confusion={"labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}
            if classification
            else None,
            profile=profile,
        )
        return build_result(identity, outcome)

    return make


@pytest.fixture(scope="session")
def emodb_copy() -> Path:
    """The real EmoDB copy: $EMOREPRO_EMODB, else ../shared/data/emodb beside the checkout.
    In CI a missing copy fails; elsewhere the tests that need it say so and how to get it."""
    root = Path(__file__).resolve().parents[1]
    path = Path(os.environ.get("EMOREPRO_EMODB", root.parent / "shared/data/emodb")).resolve()
    if not (path / "wav").is_dir():
        message = (
            f"needs the EmoDB corpus at {path} (set EMOREPRO_EMODB): download it from "
            "http://emodb.bilderbar.info (CC0-1.0) and unpack it so that wav/ is inside"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
