"""Networks of one end-to-end experiment: build them from settings, save and load
``model.pt``, start a multimodal network from trained unimodal ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.tzirakis2017.spec import E2ESpec
from emorepro.io import atomic_write

MODEL_FORMAT = 1


def build_speech_cnn(settings: Mapping[str, Any], version: str) -> Any:
    from emorepro.families.tzirakis2017.models import SpeechCNN

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
    from emorepro.families.tzirakis2017.models import VisualCNN

    weights = settings.get("visual_weights") if pretrained else None
    return VisualCNN(
        weights=weights,
        sha256=settings.get("visual_sha256") if weights else None,
        width=str(settings["visual_width"]),
    )


def build_network(spec: E2ESpec, settings: Mapping[str, Any], *, pretrained: bool = True) -> Any:
    """The bare network of a spec (UnimodalModel or MultimodalModel), randomly initialised."""
    from emorepro.families.tzirakis2017.models import MultimodalModel, UnimodalModel

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

    payload = {
        "format": MODEL_FORMAT,
        "spec": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(spec).items()},
        "settings": _plain(settings),
        "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()},
    }
    path = Path(path)
    atomic_write(path, lambda p: torch.save(payload, p))
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
