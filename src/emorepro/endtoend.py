"""File-level steps of the end-to-end models of Tzirakis et al. (2017): every network, one rule.

An experiment *name* fixes the network and the protocol variant (:func:`parse_experiment`):

=========================  ==================================================================
``speech000_ccc`` etc.      speech CNN (``000``: 40 first-layer filters, ``001``: 20) + LSTM,
                            CCC or MSE loss (Tables III, IV)
``visual_ccc``              ResNet-50 on 96x96 face crops + LSTM (Table V)
``speech_seq75`` ...        Table II ablation: LSTM sequence length 75/150/300, ``ablation_epochs``
``visual_seq75`` ...        the same for the visual network
``multimodal_train``        001 Table VI: CNNs from ``speech001_ccc`` and ``visual_ccc``, new
                            LSTM on 1280 + 2048 features, trained end to end on train
``multimodal_traindev``     000 Table VI: the same from ``speech000_ccc``, trained on train + dev
                            for twice the epochs (no dev selection: dev is training data)
``multimodal_landmarks``    000 Table VI: CNNs of ``multimodal_traindev`` frozen, Procrustes-
                            aligned landmarks appended to the LSTM input, new LSTM on train + dev
=========================  ==================================================================

Each run selects its epoch on dev CCC (except train + dev runs: last epoch), predicts dev and
test whole recordings and writes the layout of every other result (long predictions table +
``metrics.json`` with ``<target>.<role>.ccc``), so the shared post-processing rule, tables,
figures and the MLflow mirror apply unchanged; it also writes ``model.pt`` (the kept weights
and the settings that rebuild the network), which multimodal runs and Fig. 2 start from.

A *profile* (``tiny``/``small``/``paper``) holds the scientific settings: ``paper`` is the
paper's (6 s = 150 steps, 500 ms second-layer filters, ResNet-50 on 96x96 crops, LSTM 256,
Adam 1e-4, batch 25 audio / 2 video, 60 epochs) and is meant for a GPU; ``tiny``/``small``
narrow the networks and shrink the faces so the same code path runs on 2 CPU cores. The
profile name and settings are stored with the result and printed in every table row.

Decisions the paper leaves open (README, "Decisions"): the number of epochs outside Table II
(the profile's ``epochs``); "twice the number of epochs required to train the model when
only the training set was used" = ``2 x epochs``; the Table II ablation uses the speech
network of version 000 and the AVEC 2016 partitions (the tables of both versions are equal);
landmark coordinates are standardised with training-recording means and deviations.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emorepro import metrics as M
from emorepro.corpora import get_adapter
from emorepro.corpora.index import read_index
from emorepro.errors import ConfigError, CorruptInputError
from emorepro.pipeline import _result_header, read_sheet, torch_device, write_json, write_parquet

log = logging.getLogger("emorepro")

TARGETS = ("arousal", "valence")
CCC_VARIANT = "ccc[pooled over partition, population moments (ddof=0)]"
MODEL_FORMAT = 1


@dataclass(frozen=True)
class E2ESpec:
    """What one experiment name means (see the module table)."""

    name: str
    network: str  # speech | visual | multimodal
    version: str = "000"  # speech CNN widths (and the paper version of a multimodal run)
    loss: str = "ccc"
    steps: int | None = None  # None: the profile's
    ablation: bool = False  # epochs = profile["ablation_epochs"]
    epochs_factor: int = 1
    train_roles: tuple[str, ...] = ("train",)
    init: tuple[str, ...] = ()  # experiments whose model.pt this one starts from
    landmarks: bool = False
    freeze_cnns: bool = False
    needs: tuple[str, ...] = field(default=())  # inputs: audio, faces, landmarks

    @property
    def select_on_dev(self) -> bool:
        return "dev" not in self.train_roles


_AV = ("audio", "faces")
_TRAINDEV = E2ESpec("multimodal_traindev", "multimodal", "000", epochs_factor=2,
                    train_roles=("train", "dev"), init=("speech000_ccc", "visual_ccc"),
                    needs=_AV)  # fmt: skip
_PATTERNS: tuple[tuple[str, Any], ...] = (
    (r"speech(000|001)_(ccc|mse)", lambda m: E2ESpec(m[0], "speech", m[1], m[2], needs=("audio",))),
    (r"visual_(ccc|mse)", lambda m: E2ESpec(m[0], "visual", loss=m[1], needs=("faces",))),
    (
        r"speech_seq([1-9][0-9]*)",
        lambda m: E2ESpec(m[0], "speech", steps=int(m[1]), ablation=True, needs=("audio",)),
    ),
    (
        r"visual_seq([1-9][0-9]*)",
        lambda m: E2ESpec(m[0], "visual", steps=int(m[1]), ablation=True, needs=("faces",)),
    ),
    (
        r"multimodal_train",
        lambda m: replace(
            _TRAINDEV,
            name=m[0],
            version="001",
            epochs_factor=1,
            train_roles=("train",),
            init=("speech001_ccc", "visual_ccc"),
        ),
    ),
    (r"multimodal_traindev", lambda m: _TRAINDEV),
    (
        r"multimodal_landmarks",
        lambda m: replace(
            _TRAINDEV,
            name=m[0],
            init=("multimodal_traindev",),
            landmarks=True,
            freeze_cnns=True,
            needs=(*_AV, "landmarks"),
        ),
    ),
)
EXPERIMENT_PATTERN = "|".join(p for p, _ in _PATTERNS)
"""Regex (alternation) of every valid experiment name (a Snakemake wildcard constraint)."""


def parse_experiment(name: str) -> E2ESpec:
    """The :class:`E2ESpec` of an experiment name; unknown names -> ``ConfigError``."""
    for pattern, make in _PATTERNS:
        m = re.fullmatch(pattern, name)
        if m:
            return make(m)
    raise ConfigError(
        f"tzirakis2017 experiment {name!r} is unknown; use speech000_ccc, speech001_mse, "
        "visual_ccc, speech_seq<N>, visual_seq<N>, multimodal_train, multimodal_traindev or "
        "multimodal_landmarks"
    )


def resolve_settings(spec: E2ESpec, profile: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one run: the profile with the experiment's overrides applied.

    ``steps`` (ablation length), ``epochs`` (``ablation_epochs`` for Table II, times
    ``epochs_factor``), ``batch_size`` and ``lr`` (``visual_batch_size`` and ``visual_lr``
    when frames are in the input: the paper's 2 and 1e-4) and the first-layer width of the
    speech CNN's version.
    """
    s = dict(profile)
    s["n_filters_1"] = profile["n_filters_1"][spec.version]
    if spec.steps is not None:
        s["steps"] = spec.steps
    base = profile["ablation_epochs"] if spec.ablation else profile["epochs"]
    s["epochs"] = int(base) * spec.epochs_factor
    if "faces" in spec.needs:
        s["batch_size"] = profile["visual_batch_size"]
        s["lr"] = profile["visual_lr"]
    return s


# --------------------------------------------------------------------------- models


def build_speech_cnn(settings: Mapping[str, Any], version: str) -> Any:
    from emorepro.models.tzirakis import SpeechCNN

    return SpeechCNN(
        version,
        n_filters_1=int(settings["n_filters_1"]),
        n_filters_2=int(settings["n_filters_2"]),
        kernel_2_s=float(settings["kernel_2_s"]),
        channel_pool=int(settings["channel_pool"]),
    )


def build_visual_cnn(settings: Mapping[str, Any], *, pretrained: bool = True) -> Any:
    """VisualCNN of the profile's width; ImageNet weights from ``visual_weights`` when set
    (checksum ``visual_sha256``) and ``pretrained`` (a model restored from ``model.pt`` does
    not need them)."""
    from emorepro.models.tzirakis import VisualCNN

    weights = settings.get("visual_weights") if pretrained else None
    return VisualCNN(
        weights=weights,
        sha256=settings.get("visual_sha256") if weights else None,
        width=str(settings["visual_width"]),
    )


def build_network(spec: E2ESpec, settings: Mapping[str, Any], *, pretrained: bool = True) -> Any:
    """The bare network of a spec (UnimodalModel or MultimodalModel), randomly initialised."""
    from emorepro.models.tzirakis import MultimodalModel, UnimodalModel

    hidden, layers = int(settings["hidden"]), int(settings["layers"])
    if spec.network == "speech":
        return UnimodalModel(build_speech_cnn(settings, spec.version), hidden=hidden, layers=layers)
    if spec.network == "visual":
        return UnimodalModel(
            build_visual_cnn(settings, pretrained=pretrained), hidden=hidden, layers=layers
        )
    return MultimodalModel(
        build_speech_cnn(settings, spec.version),
        build_visual_cnn(settings, pretrained=False),
        hidden=hidden,
        layers=layers,
        landmarks_dim=int(settings.get("landmarks_dim", 0)),
    )


def input_keys(spec: E2ESpec) -> tuple[str, ...]:
    if spec.network == "speech":
        return ("audio",)
    if spec.network == "visual":
        return ("frames",)
    return ("audio", "frames", "landmarks") if spec.landmarks else ("audio", "frames")


def save_model(path: Path | str, network: Any, spec: E2ESpec, settings: Mapping[str, Any]) -> Path:
    """``model.pt``: ``{"format", "spec", "settings", "state_dict"}`` (tensors on CPU), written
    atomically; :func:`load_model` rebuilds the network from it."""
    import torch

    from emorepro.pipeline import _atomic

    payload = {
        "format": MODEL_FORMAT,
        "spec": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()},
        "settings": _plain(settings),
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
    }
    path = Path(path)
    _atomic(path, lambda p: torch.save(payload, p))
    return path


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def load_model(path: Path | str) -> tuple[Any, E2ESpec, dict[str, Any]]:
    """(network in eval mode on CPU, spec, settings) of a ``model.pt`` (``weights_only``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CorruptInputError(path, "model file is missing", fix="run the experiment first")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any unpickling failure means a bad file
        raise CorruptInputError(
            path,
            f"cannot read the model file ({err})",
            fix="delete it and rerun the experiment that writes it",
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise CorruptInputError(
            path,
            f"not an emorepro model file (format {MODEL_FORMAT})",
            fix="delete it and rerun the experiment that writes it",
        )
    raw = dict(payload["spec"])
    for key in ("train_roles", "init", "needs"):
        raw[key] = tuple(raw[key])
    spec = E2ESpec(**raw)
    settings = dict(payload["settings"])
    network = build_network(spec, settings, pretrained=False)
    network.load_state_dict(payload["state_dict"])
    network.eval()
    return network, spec, settings


def initialise(network: Any, spec: E2ESpec, init_files: Sequence[Path | str]) -> None:
    """Start a multimodal network from trained models (Sec. III-D): CNNs from the unimodal
    speech and visual models (or from another multimodal model for the landmark variant);
    the LSTM stays freshly Glorot-initialised. Then freeze the CNNs if the spec says so."""
    loaded = [load_model(f) for f in init_files]
    by_network = {s.network: (n, f) for (n, s, _), f in zip(loaded, init_files, strict=True)}
    if "multimodal" in by_network:
        source, _ = by_network["multimodal"]
        network.speech.load_state_dict(source.speech.state_dict())
        network.visual.load_state_dict(source.visual.state_dict())
    else:
        for role in ("speech", "visual"):
            if role not in by_network:
                raise ConfigError(f"{spec.name}: no {role} model among {list(init_files)}")
            source, _ = by_network[role]
            getattr(network, role).load_state_dict(source.encoder.state_dict())
    if spec.freeze_cnns:
        network.freeze_cnns()


# --------------------------------------------------------------------------- data


@dataclass
class _Recording:
    item: str
    labels: np.ndarray
    audio: np.ndarray | None = None
    crops: np.ndarray | None = None
    landmarks: np.ndarray | None = None


def _load_faces(item: str, manifest: pd.DataFrame, cache_dir: Path, n_labels: int) -> np.ndarray:
    from emorepro.training.sequences import label_frame_indices

    rows = manifest.set_index("item_id")
    if item not in rows.index:
        raise CorruptInputError(
            Path(cache_dir),
            f"no face crops for {item}",
            fix="rerun the face_crops rule for this corpus",
        )
    row = rows.loc[item]
    path = Path(cache_dir) / str(row["file"])
    try:
        with np.load(path) as data:
            crops = data["crops"]
    except (OSError, KeyError, ValueError) as err:
        raise CorruptInputError(
            path,
            f"unreadable face crops ({err})",
            fix="delete the file and rerun the face_crops rule",
        ) from None
    try:
        idx = label_frame_indices(n_labels, float(row["fps"]), len(crops))
    except ValueError as err:
        raise CorruptInputError(path, str(err), fix="use the complete video") from None
    return crops[idx]


def load_recordings(
    spec: E2ESpec,
    corpus: str,
    items: Sequence[str],
    *,
    root: Path | str,
    index_csv: Path | str,
    faces: Path | str | None = None,
    landmarks: Path | str | None = None,
    cache_dir: Path | str | None = None,
) -> list[_Recording]:
    """Gold standard plus the inputs the spec needs, per recording, at the 40 ms label rate."""
    from emorepro.training.sequences import load_recola_recording

    adapter = get_adapter(corpus)
    rows = read_index(index_csv).set_index("item_id")
    face_manifest = pd.read_parquet(faces) if "faces" in spec.needs else None
    lm_manifest = pd.read_parquet(landmarks) if "landmarks" in spec.needs else None
    out = []
    for item in items:
        row = {"item_id": item, **rows.loc[item].to_dict()}
        if "audio" in spec.needs:
            audio, labels = load_recola_recording(root, row, adapter)
        else:
            frame = adapter.read_labels(Path(root), row)
            audio, labels = None, frame[list(TARGETS)].to_numpy(np.float32)
        rec = _Recording(item, labels, audio)
        if face_manifest is not None:
            rec.crops = _load_faces(item, face_manifest, Path(str(cache_dir)), len(labels))
        if lm_manifest is not None:
            from emorepro.features.landmark_frames import load_landmark_frames

            lm_row = lm_manifest.set_index("item_id").loc[item]
            coords, _face = load_landmark_frames(lm_row, cache_dir)
            rec.landmarks = _fit_length(np.asarray(coords, np.float32), len(labels), item)
        out.append(rec)
    return out


def _fit_length(x: np.ndarray, n: int, item: str) -> np.ndarray:
    """Landmark rows on the label grid: equal length, or one frame short (repeat the last)."""
    if len(x) == n:
        return x
    if len(x) in (n - 1, n + 1):
        return x[:n] if len(x) > n else np.concatenate([x, x[-1:]])
    raise ValueError(f"item {item}: {len(x)} landmark frames for {n} label frames")


def standardise_landmarks(
    recordings: Mapping[str, Sequence[_Recording]],
) -> dict[str, float | list[float]]:
    """``(x - mean) / std`` per coordinate with mean/std over the training recordings' frames
    (population std; a constant coordinate keeps std 1). Modifies the recordings in place and
    returns the statistics."""
    train = np.concatenate([r.landmarks for r in recordings["train"]])
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    for recs in recordings.values():
        for r in recs:
            r.landmarks = ((r.landmarks - mean) / std).astype(np.float32)
    return {"mean": mean.tolist(), "std": std.tolist()}


def make_dataset(
    spec: E2ESpec, recs: Sequence[_Recording], settings: Mapping[str, Any], *, train: bool
) -> Any:
    """The sequence dataset of a spec; face frames go through ``FaceTransform`` at the
    profile's face size: the paper's augmentation (random crop, brightness and saturation)
    when ``train`` and the profile's ``face_augment``, the centre crop otherwise."""
    from emorepro.models.tzirakis import FaceTransform
    from emorepro.training.sequences import AudioSequences, AVSequences, VideoSequences

    steps, items = int(settings["steps"]), [r.item for r in recs]
    if spec.network == "speech":
        return AudioSequences([(r.audio, r.labels) for r in recs], steps=steps, items=items)
    transform = FaceTransform(
        train=train and bool(settings["face_augment"]),
        size=int(settings["face_size"]),
        resize=int(settings["face_resize"]),
    )
    if spec.network == "visual":
        return VideoSequences(
            [(r.crops, r.labels) for r in recs], steps=steps, items=items, transform=transform
        )
    return AVSequences(
        [(r.audio, r.crops, r.labels) for r in recs],
        steps=steps,
        items=items,
        transform=transform,
        landmarks=[r.landmarks for r in recs] if spec.landmarks else None,
    )


# --------------------------------------------------------------------------- the step


def _visual_init(spec: E2ESpec, settings: Mapping[str, Any]) -> str | None:
    """How the visual CNN started, for the table row: ImageNet file digest or random."""
    if spec.network == "speech":
        return None
    if spec.network == "multimodal":
        return "from " + ", ".join(spec.init)
    sha = settings.get("visual_sha256")
    if settings.get("visual_weights"):
        return f"ImageNet weights (sha256 {sha})" if sha else "ImageNet weights (unchecked file)"
    return "random initialisation (no ImageNet weights configured)"


def _prediction_table(dataset: Any, predicted: Mapping[str, np.ndarray], role: str) -> pd.DataFrame:
    parts = []
    for target_idx, target in enumerate(TARGETS):
        for item in dataset.items:
            gold = dataset.labels[item][:, target_idx]
            parts.append(
                pd.DataFrame(
                    {
                        "item_id": item,
                        "time_s": np.arange(len(gold)) * 0.04,
                        "role": role,
                        "target": target,
                        "y_true": gold.astype(np.float64),
                        "y_pred": predicted[item][:, target_idx].astype(np.float64),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def e2e_step(
    name: str,
    corpus: str,
    protocol: str,
    *,
    root: Path | str,
    index_csv: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    profile: str,
    profile_settings: Mapping[str, Any],
    execution: Mapping[str, Any],
    checkpoint: Path | str,
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
    out_model: Path | str,
    faces: Path | str | None = None,
    landmarks: Path | str | None = None,
    cache_dir: Path | str | None = None,
    init_models: Sequence[Path | str] = (),
) -> dict[str, Any]:
    """Train and evaluate one end-to-end experiment on one fixed partition (module docstring)."""
    from emorepro.models.tzirakis import count_parameters
    from emorepro.training.runtime import seed_everything
    from emorepro.training.trainer import DictInput, TrainConfig, predict, train

    spec = parse_experiment(name)
    settings = resolve_settings(spec, profile_settings)
    device = torch_device(execution)
    folds = read_sheet(sheet)
    items = {r: folds.loc[folds["role"] == r, "item_id"].tolist() for r in ("train", "dev", "test")}
    recs = {
        r: load_recordings(
            spec,
            corpus,
            v,
            root=root,
            index_csv=index_csv,
            faces=faces,
            landmarks=landmarks,
            cache_dir=cache_dir,
        )
        for r, v in items.items()
    }
    extra: dict[str, Any] = {}
    if spec.landmarks:
        extra["landmark_standardisation"] = standardise_landmarks(recs)
        settings["landmarks_dim"] = int(recs["train"][0].landmarks.shape[1])
    train_recs = [r for role in spec.train_roles for r in recs[role]]
    train_set = make_dataset(spec, train_recs, settings, train=True)
    sets = {r: make_dataset(spec, recs[r], settings, train=False) for r in ("dev", "test")}
    seed_everything(int(source["seed"]), device=device)  # the weights' initialisation too
    network = build_network(spec, settings)
    if spec.init:
        initialise(network, spec, init_models)
    model = DictInput(network, input_keys(spec))
    cfg = TrainConfig(
        loss=spec.loss,
        epochs=int(settings["epochs"]),
        lr=float(settings["lr"]),
        batch_size=int(settings["batch_size"]),
        seed=int(source["seed"]),
        device=str(device),
        name=name,
    )
    n_params = count_parameters(network)
    n_trainable = count_parameters(network, trainable_only=True)
    log.info(
        "%s %s/%s profile %s: %d parameters (%d trainable), %d training sequences from "
        "%s, %d epochs, on %s",
        name,
        corpus,
        protocol,
        profile,
        n_params,
        n_trainable,
        len(train_set),
        "+".join(spec.train_roles),
        cfg.epochs,
        device,
    )
    dev_set = sets["dev"] if spec.select_on_dev else None
    model, history = train(model, train_set, dev_set, cfg, checkpoint=checkpoint)
    preds, metrics = [], {}
    for role in ("dev", "test"):
        table = _prediction_table(sets[role], predict(model, sets[role], device=device), role)
        for target in TARGETS:
            part = table[table["target"] == target]
            metrics[f"{target}.{role}.ccc"] = M.ccc(part["y_true"], part["y_pred"])
        preds.append(table)
    result = {
        **_result_header(
            experiment=name,
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="tzirakis_e2e",
        ),
        "paper": "tzirakis2017",
        "metrics": metrics,
        "metric_variants": dict.fromkeys(metrics, CCC_VARIANT),
        "params": {
            "network": spec.network,
            "version": spec.version,
            "loss": spec.loss,
            "profile": profile,
            "train_roles": "+".join(spec.train_roles),
            "epoch_selection": "best dev CCC" if spec.select_on_dev else "last epoch",
            "init": list(spec.init),
            "cnns_frozen": spec.freeze_cnns,
            "visual_init": _visual_init(spec, settings),
            **{k: v for k, v in settings.items() if k not in ("visual_weights",)},
            "n_parameters": n_params,
            "n_trainable": n_trainable,
            "best_epoch": history["best_epoch"],
            "history": history["epochs"],
        },
        **extra,
        "folds": [{"fold": 0, "metrics": metrics, "params": {"best_epoch": history["best_epoch"]}}],
        "device": str(device),
        "timing": history.get("timing", []),
    }
    save_model(out_model, network, spec, settings)
    write_parquet(out_predictions, pd.concat(preds, ignore_index=True))
    write_json(out_metrics, result)
    Path(checkpoint).unlink(missing_ok=True)
    log.info("%s/%s %s: %s", corpus, protocol, name, metrics)
    return result


# --------------------------------------------------------------------------- Fig. 2


def hidden_states(network: Any, dataset: Any, item: str) -> np.ndarray:
    """``(T, hidden)`` last-layer LSTM outputs of a unimodal network over one recording:
    every window from a zero state (as in training), later windows overwrite the overlap of
    the tail window."""
    import torch

    k = dataset.items.index(item)
    out = np.zeros((len(dataset.labels[item]), network.rnn.hidden_size), np.float32)
    network.eval()
    with torch.no_grad():
        for idx, (j, a, b) in enumerate(dataset.windows):
            if j != k:
                continue
            x = dataset[idx]["audio"][None]
            _, hidden = network(x, return_hidden=True)
            out[a:b] = hidden[0].numpy()
    return out


def fig2_step(
    corpus: str,
    protocol: str,
    *,
    model: Path | str,
    root: Path | str,
    index_csv: Path | str,
    sheet: Path | str,
    sheet_meta: Path | str,
    functionals: Path | str,
    execution: Mapping[str, Any],
    source: Mapping[str, Any],
    out_predictions: Path | str,
    out_metrics: Path | str,
    out_figure: Path | str,
) -> dict[str, Any]:
    """Fig. 2 (000 Sec. V-B1): on the first test recording (sorted; unseen in training), the
    three last-layer LSTM units of the trained speech network most correlated with the
    arousal gold standard, and their Pearson correlation with openSMILE ComParE_2016
    functionals (:mod:`emorepro.cell_analysis`). Metrics ``<feature>.test.pcc``; the
    predictions table holds the feature (``y_true``) and the chosen unit (``y_pred``)."""
    from emorepro.cell_analysis import FIG2_FEATURES, cell_feature_correlations, fig2_figure

    torch_device(execution)  # thread settings; the analysis runs on the CPU
    network, spec, settings = load_model(model)
    if spec.network != "speech":
        raise ConfigError(f"{model}: Fig. 2 analyses a speech network, this is {spec.network}")
    folds = read_sheet(sheet)
    test = sorted(folds.loc[folds["role"] == "test", "item_id"])
    if not test:
        raise ConfigError(f"{sheet}: no test recordings to analyse")
    item = test[0]
    recs = load_recordings(spec, corpus, [item], root=root, index_csv=index_csv)
    dataset = make_dataset(spec, recs, settings, train=False)
    hidden = hidden_states(network, dataset, item)
    gold = dataset.labels[item][:, 0]
    table = pd.read_parquet(functionals)
    feats = table[table["item_id"] == item].sort_values("time_s").reset_index(drop=True)
    if feats.empty:
        raise CorruptInputError(
            Path(functionals), f"no rows for {item}", fix="rerun the windowed_functionals rule"
        )
    n = min(len(feats), len(gold))
    if abs(len(feats) - len(gold)) > 1:
        raise CorruptInputError(
            Path(functionals),
            f"{len(feats)} frames for {item} but {len(gold)} label frames",
            fix="rerun windowed_functionals",
        )
    hidden, gold, feats = hidden[:n], gold[:n], feats.iloc[:n]
    analysis = cell_feature_correlations(hidden, gold, feats)
    time_s = np.arange(n) * 0.04
    fig2_figure(
        out_figure,
        time_s,
        hidden,
        feats,
        analysis,
        title=f"Fig. 2 · {corpus}/{protocol} · test {item}",
    )
    metrics, rows = {}, []
    for key, info in analysis["features"].items():
        metrics[f"{key}.test.pcc"] = float("nan") if info["pcc"] is None else float(info["pcc"])
        unit = hidden[:, int(info["unit"])] if info["unit"] is not None else np.full(n, np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "item_id": item,
                    "time_s": time_s,
                    "role": "test",
                    "target": key,
                    "y_true": feats[FIG2_FEATURES[key]].to_numpy(np.float64),
                    "y_pred": unit.astype(np.float64),
                }
            )
        )
    result = {
        **_result_header(
            experiment="fig2_cells",
            corpus=corpus,
            protocol=protocol,
            source=source,
            sheet_meta=sheet_meta,
            rule="tzirakis_fig2",
        ),
        "paper": "tzirakis2017",
        "metrics": metrics,
        "metric_variants": dict.fromkeys(
            metrics, "pcc[one recording, last LSTM layer unit vs openSMILE feature, |r|]"
        ),
        "params": {
            "model": "speech000_ccc",
            "recording": item,
            "profile": settings.get("profile"),
            "hidden": int(hidden.shape[1]),
            "analysis": analysis,
        },
        "folds": [{"fold": 0, "metrics": metrics, "params": {"recording": item}}],
    }
    write_parquet(out_predictions, pd.concat(rows, ignore_index=True))
    write_json(out_metrics, result)
    log.info("Fig. 2 on %s: units %s -> %s", item, analysis["units"], metrics)
    return result
