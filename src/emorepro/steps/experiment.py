"""The generic experiment step: one job of any family, dispatched through the registry.

``experiment_step`` parses the experiment name with its family's grammar, builds the
:class:`~emorepro.families.base.RunContext`, lets the family compute an
:class:`~emorepro.results.Outcome` and writes the result with the one writer of the result
contract (:func:`emorepro.results.write_result`). The job's checkpoint (if the family wrote
one) is removed once the result is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emorepro.families import get_family
from emorepro.families.base import RunContext
from emorepro.io import read_json
from emorepro.plan import ResultKey
from emorepro.results import Identity, Source, write_result

log = logging.getLogger("emorepro")


@dataclass(frozen=True)
class JobParams:
    """The params of an experiment job (rule ``experiment``): scientific ``settings``,
    ``execution`` knobs (device, threads: never a number), the corpus ``source``, the
    ``checkpoint`` file, the feature ``cache`` folder and ``code``, the SHA-256 of the
    family's code (:func:`emorepro.families.family_code_sha256`; only there so that Snakemake
    reruns the job when it changes)."""

    settings: Mapping[str, Any]
    execution: Mapping[str, Any]
    source: Mapping[str, Any]
    checkpoint: str
    cache: str
    code: str = ""


def experiment_step(
    key: ResultKey, inputs: Mapping[str, Any], params: JobParams, result_dir: Path | str
) -> dict[str, Any]:
    """Run ``key`` (``<family>/<name>`` on a corpus and protocol), write its result folder.

    ``inputs`` are the job's named input files (``sheet`` and ``sheet_meta`` always).
    """
    fam = get_family(key.family)
    result_dir = Path(result_dir)
    ctx = RunContext(
        experiment=key.experiment(),
        corpus=key.corpus,
        protocol=key.protocol,
        inputs=dict(inputs),
        settings=dict(params.settings),
        execution=dict(params.execution),
        source=Source.from_mapping(params.source),
        result_dir=result_dir,
        checkpoint=Path(params.checkpoint),
        cache_dir=Path(params.cache),
        replicate=key.replicate,
    )
    log.info(
        "%s on %s (%s, training seed %d)",
        key.rel,
        ctx.source.describe(),
        ctx.experiment.task,
        ctx.seed,
    )
    result_dir.mkdir(parents=True, exist_ok=True)
    outcome = fam.run(ctx)
    identity = Identity(
        paper=fam.paper,
        family=fam.id,
        experiment=key.name,
        corpus=key.corpus,
        protocol=key.protocol,
        source=ctx.source,
        rule="experiment",
        fold_sheet_sha256=read_json(ctx.path("sheet_meta"))["sha256"],
        settings=dict(params.settings),
        replicate={"index": ctx.replicate, "training_seed": ctx.seed},
    )
    result = write_result(
        identity,
        outcome,
        metrics_path=result_dir / "metrics.json",
        predictions_path=result_dir / "predictions.parquet",
    )
    ctx.checkpoint.unlink(missing_ok=True)
    log.info("%s: %s", key.rel, {k: round(v, 4) for k, v in outcome.metrics.items() if v == v})
    return result
