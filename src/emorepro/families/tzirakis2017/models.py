"""Tzirakis et al. 2017 (000 published, 001 preprint): end-to-end audio-visual CNN-LSTM.

Architecture numbers are from Sec. III of the papers (experiments.md §1.3, §1.9); what the
papers leave open is decided here and stated where it is implemented:

* :class:`SpeechCNN`: raw 16 kHz waveform -> 1280 features per 40 ms step.
* :class:`VisualCNN`: ResNet-50 trunk -> 2048 features per 96x96 face frame. 001 prints "640
  features", which a ResNet-50 average pool cannot give; 640 is not implemented (2048 is used
  for both versions).
* :class:`UnimodalModel`: encoder -> 2-layer LSTM (256) -> linear head per step.
* :class:`MultimodalModel`: both CNNs -> concatenation (+ landmarks) -> new 2-layer LSTM.
* :class:`FaceTransform`: the paper's face augmentation (train) and its deterministic eval twin.

**Dropout** ("p = 0.5 for all layers except the recurrent ones"): each encoder owns one dropout
on the features it hands to the LSTM (the speech network's listed Dropout layer; the same on the
ResNet's pooled features). There is none between or after the LSTM layers, so the recurrent
models take no dropout argument (a second one on the encoder output would compound to 0.75).

**Parameter counts** (PyTorch LSTM keeps two bias vectors per gate: ``4H(in + H) + 8H``):

* speech CNN, 000: conv1 ``40*1*80 + 40 = 3,240``; conv2 ``40*40*4000 + 40 = 6,400,040``;
  001: conv1 ``20*80 + 20 = 1,620``; conv2 ``40*20*4000 + 40 = 3,200,040``.
* recurrent part on 1280 inputs: LSTM-1 ``4*256*(1280 + 256) + 8*256 = 1,574,912``, LSTM-2
  ``4*256*(256 + 256) + 8*256 = 526,336``, head ``256*2 + 2 = 514``; together 2,101,762.
* full speech model: **8,505,042** (000), **5,303,422** (001).
* visual: ResNet-50 without its classifier ``25,557,032 - (2048*1000 + 1000) = 23,508,032``,
  LSTM-1 on 2048 inputs 2,361,344, LSTM-2 526,336, head 514: **26,396,226**.
* multimodal (000, no landmarks): 6,403,280 + 23,508,032 + LSTM-1 on 3328 inputs 3,672,064
  + 526,336 + 514 = **34,110,226**.

The papers say "≈1.5M" (Sec. V, both) and "(1.1 mil.)" (001, Sec. III-B). No reading of the
described speech network gets there: the 500 ms second convolution alone has 6.4M (000) / 3.2M
(001) weights, and the two LSTM layers 2.1M. 1.5M is close to the first LSTM layer alone
(1.57M); the paper's numbers are reported as stated and not matched.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torchvision
import torchvision.transforms.v2.functional as TF
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.batchnorm import _BatchNorm
from torchvision.models.resnet import BasicBlock

from emorepro.errors import ConfigError
from emorepro.models.weights import apply_state_dict, load_state_dict_file, sha256_file

Version = Literal["000", "001"]
Width = Literal["resnet50", "resnet18", "tiny"]

FIRST_LAYER_FILTERS: dict[str, int] = {"000": 40, "001": 20}
"""F of the first temporal convolution: "F = 40" (000) vs "F = 20" (001), Sec. III-B."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def count_parameters(module: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters (``requires_grad`` ones only when ``trainable_only``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _same_pad(k: int) -> tuple[int, int]:
    """'same' zero padding for stride 1: ``(k - 1) // 2`` left, the rest right (TF convention)."""
    left = (k - 1) // 2
    return left, k - 1 - left


def _taps(seconds: float, rate: int, name: str) -> int:
    taps = round(seconds * rate)
    if taps < 1:
        raise ConfigError(f"{name}={seconds} s is shorter than one sample at {rate} Hz")
    return taps


class SpeechCNN(nn.Module):
    """Raw waveform ``(B, T*frame)`` or ``(B, T, frame)`` -> ``(B, T, out_dim)`` (000/001, III-B).

    1. conv1d, F filters of ``kernel_1_s`` (5 ms = 80 taps at 16 kHz; F = 40 for 000, 20 for
       001, or ``n_filters_1``), 'same' zero padding, stride 1;
    2. ReLU (the "half-wave rectifier"), max-pool 2 over time (16 -> 8 kHz);
    3. conv1d, ``n_filters_2`` = 40 filters of ``kernel_2_s`` = 500 ms at the pooled rate:
       **4000 taps** at 8 kHz, which is both the "500 ms window" and the "size of 4000" of the
       paper (at 16 kHz 500 ms would be 8000 taps); 'same' padding, no activation (the paper
       lists none; the channel max-pool that follows is itself a maxout-like non-linearity);
    4. max-pool across channels by ``channel_pool`` = 10: channels ``10j .. 10j+9`` -> ``j``,
       so 40 -> 4 channels;
    5. dropout ``dropout``; 6. reshape to steps: at 8 kHz a 40 ms step holds 320 samples x 4
       channels = **1280** features, flattened sample-major (``feature = 4*sample + channel``).

    The convolutions run over the whole input sequence (a 500 ms kernel spans 12.5 steps, so
    it cannot act inside one 40 ms frame); 'same' padding keeps exactly T steps, and only the
    ends of the sequence see zeros. ``padding`` is the paper's silent point (§1.10 item 5).
    Conv weights keep PyTorch's default initialisation (not stated in the paper).

    Width knobs (``n_filters_1``, ``n_filters_2``, ``kernel_*_s``, ``channel_pool``, ``sr``,
    ``frame_s``) change sizes only, never the code path; ``out_dim`` follows them.
    Cost: conv2 needs ``n_filters_2 * F * taps_2`` MACs per 8 kHz sample, i.e. 6.4M per
    sample and 3.1e11 per 6 s sequence at full size (a GPU job; use a short ``kernel_2_s`` for
    CPU smoke runs).
    """

    def __init__(
        self,
        version: Version = "000",
        *,
        sr: int = 16000,
        frame_s: float = 0.04,
        n_filters_1: int | None = None,
        kernel_1_s: float = 0.005,
        n_filters_2: int = 40,
        kernel_2_s: float = 0.5,
        channel_pool: int = 10,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if version not in FIRST_LAYER_FILTERS:
            raise ConfigError(f"SpeechCNN version={version!r}; use '000' or '001'")
        f1 = FIRST_LAYER_FILTERS[version] if n_filters_1 is None else int(n_filters_1)
        frame = round(frame_s * sr)
        if not math.isclose(frame, frame_s * sr, abs_tol=1e-6) or frame < 2 or frame % 2:
            raise ConfigError(
                f"frame_s={frame_s} s at sr={sr} Hz gives {frame_s * sr} samples; it must be a "
                "whole, even number of samples (the time max-pool halves it)"
            )
        if f1 < 1 or n_filters_2 < 1 or channel_pool < 1 or n_filters_2 % channel_pool:
            raise ConfigError(
                f"SpeechCNN filters: n_filters_1={f1}, n_filters_2={n_filters_2}, "
                f"channel_pool={channel_pool}; all must be >= 1 and n_filters_2 a multiple "
                "of channel_pool"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"SpeechCNN dropout={dropout}; use a probability in [0, 1)")
        self.version: str = version
        self.sr = int(sr)
        self.frame_samples = frame
        self.n_filters_1 = f1
        self.n_filters_2 = int(n_filters_2)
        self.channel_pool = int(channel_pool)
        self.kernel_1 = _taps(kernel_1_s, self.sr, "kernel_1_s")
        self.kernel_2 = _taps(kernel_2_s, self.sr // 2, "kernel_2_s")
        self.channels_out = self.n_filters_2 // self.channel_pool
        self.out_dim: int = (frame // 2) * self.channels_out
        self.conv1 = nn.Conv1d(1, f1, self.kernel_1)
        self.conv2 = nn.Conv1d(f1, self.n_filters_2, self.kernel_2)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 3:
            if x.shape[-1] != self.frame_samples:
                raise ValueError(
                    f"SpeechCNN: (B, T, frame) input has frame {x.shape[-1]}, expected "
                    f"{self.frame_samples} samples ({self.frame_samples / self.sr * 1000:g} ms)"
                )
            x = x.reshape(x.shape[0], -1)
        if x.ndim != 2 or not x.is_floating_point():
            raise ValueError(
                f"SpeechCNN: expected a float (B, T*{self.frame_samples}) or "
                f"(B, T, {self.frame_samples}) waveform, got {x.dtype} {tuple(x.shape)}"
            )
        b, n = x.shape
        if n == 0 or n % self.frame_samples:
            raise ValueError(
                f"SpeechCNN: {n} samples is not a positive multiple of the "
                f"{self.frame_samples}-sample step; cut sequences to whole 40 ms steps"
            )
        h = self.conv1(F.pad(x.unsqueeze(1), _same_pad(self.kernel_1)))
        h = F.max_pool1d(F.relu(h), 2)
        h = self.conv2(F.pad(h, _same_pad(self.kernel_2)))
        h = h.reshape(b, self.channels_out, self.channel_pool, -1).amax(dim=2)
        h = self.dropout(h)
        return h.transpose(1, 2).reshape(b, n // self.frame_samples, self.out_dim)


def _torchvision_trunk(builder: Callable[..., nn.Module]) -> Callable[[], nn.Module]:
    def make() -> nn.Module:
        net = builder(weights=None)
        net.fc = nn.Identity()  # type: ignore[assignment]
        return net

    return make


def _tiny_trunk() -> nn.Module:
    """Smoke-profile trunk: 3x3/2 stem (16) + two ResNet BasicBlocks (32, 64, stride 2) + pool."""

    def down(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm2d(cout))

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(16),
        nn.ReLU(inplace=True),
        BasicBlock(16, 32, stride=2, downsample=down(16, 32)),
        BasicBlock(32, 64, stride=2, downsample=down(32, 64)),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


TRUNKS: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "resnet50": (_torchvision_trunk(torchvision.models.resnet50), 2048),
    "resnet18": (_torchvision_trunk(torchvision.models.resnet18), 512),
    "tiny": (_tiny_trunk, 64),
}
"""Visual trunks: name -> (constructor, feature size). Only ``resnet50`` is the paper's."""


class VisualCNN(nn.Module):
    """Face frames ``(B, T, 3, H, W)`` -> ``(B, T, out_dim)``: a ResNet trunk per frame.

    ``width="resnet50"`` is the paper's network: torchvision ResNet-50 up to its global
    average pool (2048-d), classifier removed. ``"resnet18"`` (512-d) and ``"tiny"`` (64-d, two
    BasicBlocks) are reduced trunks for CPU smoke profiles. Dropout ``dropout`` is applied to
    the pooled features (see the module docstring).

    ``weights``: a local state-dict file (e.g. torchvision's ImageNet ``resnet50-*.pth``;
    its ``fc.*`` classifier keys are ignored), checked against ``sha256`` when given and
    loaded with ``weights_only=True`` (:mod:`emorepro.models.weights`). Without a file the
    trunk is randomly initialised; ``pretrained`` records which, and ``weights_sha256`` the
    digest of the file used, so a result row can say so.
    """

    def __init__(
        self,
        *,
        weights: str | Path | None = None,
        sha256: str | None = None,
        width: Width = "resnet50",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if width not in TRUNKS:
            raise ConfigError(f"VisualCNN width={width!r}; use one of {sorted(TRUNKS)}")
        if sha256 is not None and weights is None:
            raise ConfigError("VisualCNN: sha256 given without a weights file; set weights too")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"VisualCNN dropout={dropout}; use a probability in [0, 1)")
        make, self.out_dim = TRUNKS[width]
        self.width: str = width
        self.trunk = make()
        self.dropout = nn.Dropout(dropout)
        self.pretrained = False
        self.weights_sha256: str | None = None
        if weights is not None:
            state = load_state_dict_file(weights, sha256=sha256)
            apply_state_dict(self.trunk, state, source=weights, ignore_prefixes=("fc.",))
            self.pretrained = True
            self.weights_sha256 = sha256_file(weights)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 5 or x.shape[2] != 3 or not x.is_floating_point():
            raise ValueError(
                "VisualCNN: expected float frames (B, T, 3, H, W) (see FaceTransform), got "
                f"{x.dtype} {tuple(x.shape)}"
            )
        b, t = x.shape[:2]
        feats = self.trunk(x.reshape(b * t, *x.shape[2:]))
        return self.dropout(feats).reshape(b, t, self.out_dim)


class FaceTransform:
    """Face frames -> float model input ``(..., 3, size, size)`` (000 Sec. V).

    Accepts a tensor ``(..., 3, H, W)`` (uint8 0-255 or float 0-1) or a NumPy uint8 array
    ``(..., H, W, 3)`` as written by :func:`emorepro.features.faces.face_clip`.

    * ``train=True``: resize to ``resize`` x ``resize`` (110, bilinear, antialiased), random
      ``size`` x ``size`` (96) crop, brightness factor ~ U[1 - b, 1 + b] then saturation
      factor ~ U[1 - s, 1 + s] (b = s = 0.2: the paper gives no strengths). One draw per
      call, so a ``(T, 3, H, W)`` sequence gets the same crop and colours in every frame
      (the paper does not say per frame or per sequence; call per frame for the other).
      Random numbers come from ``generator`` (a ``torch.Generator``) or torch's global one.
    * ``train=False``: resize 110 and centre crop 96, deterministic. The paper does not state
      its test-time input; this shows faces at the same scale as the training crops.
    * ``normalise``: subtract the ImageNet mean and divide by its std last (what the
      torchvision ImageNet weights expect; the paper only says "pixel intensities").
    """

    def __init__(
        self,
        *,
        train: bool,
        size: int = 96,
        resize: int = 110,
        brightness: float = 0.2,
        saturation: float = 0.2,
        normalise: bool = True,
    ) -> None:
        if not 1 <= size <= resize:
            raise ConfigError(f"FaceTransform: need 1 <= size ({size}) <= resize ({resize})")
        if not (0.0 <= brightness < 1.0 and 0.0 <= saturation < 1.0):
            raise ConfigError(
                f"FaceTransform: brightness={brightness}, saturation={saturation}; each must "
                "be in [0, 1) (the factor is drawn from [1 - x, 1 + x])"
            )
        self.train, self.size, self.resize = bool(train), int(size), int(resize)
        self.brightness, self.saturation = float(brightness), float(saturation)
        self.normalise = bool(normalise)

    @staticmethod
    def _as_float_chw(frames: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(frames, np.ndarray):
            if frames.ndim < 3 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise ValueError(
                    f"FaceTransform: NumPy input must be uint8 (..., H, W, 3), got "
                    f"{frames.dtype} {frames.shape}"
                )
            frames = torch.tensor(frames).movedim(-1, -3)  # copy: input may be read-only
        if frames.ndim < 3 or frames.shape[-3] != 3:
            raise ValueError(
                f"FaceTransform: tensor input must be (..., 3, H, W), got {tuple(frames.shape)}"
            )
        if frames.dtype == torch.uint8:
            return frames.float().div_(255.0)
        if not frames.is_floating_point():
            raise ValueError(f"FaceTransform: use uint8 or float frames, got {frames.dtype}")
        return frames.float()

    def _uniform(self, half: float, generator: torch.Generator | None) -> float:
        return 1.0 + half * (2.0 * float(torch.rand((), generator=generator)) - 1.0)

    def __call__(
        self, frames: torch.Tensor | np.ndarray, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        x = self._as_float_chw(frames)
        x = TF.resize(x, [self.resize, self.resize], antialias=True)
        if self.train:
            span = self.resize - self.size + 1
            top = int(torch.randint(span, (), generator=generator))
            left = int(torch.randint(span, (), generator=generator))
            x = TF.crop(x, top, left, self.size, self.size)
            x = TF.adjust_brightness(x, self._uniform(self.brightness, generator))
            x = TF.adjust_saturation(x, self._uniform(self.saturation, generator))
        else:
            x = TF.center_crop(x, [self.size, self.size])
        if self.normalise:
            x = TF.normalize(x, list(IMAGENET_MEAN), list(IMAGENET_STD))
        return x.contiguous()


def glorot_lstm_(lstm: nn.LSTM) -> nn.LSTM:
    """Glorot/Xavier-uniform init of every LSTM weight matrix, zero biases (in place).

    ``weight_ih_l{k}`` (4H x in) and ``weight_hh_l{k}`` (4H x H) each get
    U[-a, a], ``a = sqrt(6 / (fan_in + fan_out))`` over the whole stacked-gate matrix (as
    ``nn.init.xavier_uniform_`` computes it). The paper cites Glorot and says nothing about the
    biases or per-gate fans; zero biases follow Glorot & Bengio (2010).
    """
    for name, param in lstm.named_parameters():
        if name.startswith("weight_"):
            nn.init.xavier_uniform_(param)
        elif name.startswith("bias_"):
            nn.init.zeros_(param)
    return lstm


def _out_dim(encoder: nn.Module, role: str) -> int:
    dim = getattr(encoder, "out_dim", None)
    if not isinstance(dim, int) or dim < 1:
        raise ConfigError(f"{role} encoder {type(encoder).__name__} has no positive int out_dim")
    return dim


def _recurrent(in_dim: int, hidden: int, layers: int, n_targets: int) -> tuple[nn.LSTM, nn.Linear]:
    if hidden < 1 or layers < 1 or n_targets < 1:
        raise ConfigError(
            f"hidden={hidden}, layers={layers}, n_targets={n_targets}; all must be >= 1"
        )
    lstm = glorot_lstm_(nn.LSTM(in_dim, hidden, num_layers=layers, batch_first=True))
    return lstm, nn.Linear(hidden, n_targets)


class UnimodalModel(nn.Module):
    """``encoder`` -> ``layers``-layer LSTM (``hidden`` cells) -> linear head at every step.

    ``forward(x)`` -> ``(B, T, n_targets)`` (arousal, valence); with ``return_hidden=True``
    also the last LSTM layer's ``(B, T, hidden)`` outputs (the paper's Fig. 2 analysis).
    Each 6 s sequence starts from a zero state. LSTM init: Glorot (:func:`glorot_lstm_`); the
    paper states it for the multimodal LSTM only and no other, so the unimodal ones use it too.
    No dropout is added here (see the module docstring).
    """

    def __init__(
        self, encoder: nn.Module, *, hidden: int = 256, layers: int = 2, n_targets: int = 2
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.rnn, self.head = _recurrent(_out_dim(encoder, "unimodal"), hidden, layers, n_targets)

    def forward(
        self, x: torch.Tensor, *, return_hidden: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        hidden, _ = self.rnn(self.encoder(x))
        out = self.head(hidden)
        return (out, hidden) if return_hidden else out


class MultimodalModel(nn.Module):
    """Speech and visual CNNs -> concat (+ landmarks) -> new LSTM -> linear head per step.

    Input per step: ``speech.out_dim + visual.out_dim + landmarks_dim`` features
    (000: 1280 + 2048 = 3328; the landmark row adds the Procrustes-aligned landmark
    coordinates, whose size the paper does not give). The LSTM is Glorot-initialised.
    :meth:`from_unimodal` starts the CNNs from trained unimodal models (000: "initialized
    utilizing the weights of the unimodal models", then trained end-to-end);
    :meth:`freeze_cnns` fixes them for the landmark variant ("we train only the recurrent
    network"): no gradients, and BatchNorm statistics frozen (BN layers stay in eval mode even
    when the model is put in training mode). The optimiser should be given only
    ``[p for p in model.parameters() if p.requires_grad]``.
    """

    def __init__(
        self,
        speech: nn.Module,
        visual: nn.Module,
        *,
        hidden: int = 256,
        layers: int = 2,
        landmarks_dim: int = 0,
        n_targets: int = 2,
    ) -> None:
        super().__init__()
        if landmarks_dim < 0:
            raise ConfigError(f"landmarks_dim={landmarks_dim}; use 0 (none) or a positive size")
        self.speech = speech
        self.visual = visual
        self.landmarks_dim = int(landmarks_dim)
        self.in_dim = _out_dim(speech, "speech") + _out_dim(visual, "visual") + landmarks_dim
        self.rnn, self.head = _recurrent(self.in_dim, hidden, layers, n_targets)
        self.cnns_frozen = False

    @classmethod
    def from_unimodal(
        cls,
        speech_model: UnimodalModel,
        visual_model: UnimodalModel,
        *,
        hidden: int = 256,
        layers: int = 2,
        landmarks_dim: int = 0,
        n_targets: int = 2,
    ) -> MultimodalModel:
        """New model whose CNNs are deep copies of the unimodal models' encoders.

        The unimodal LSTMs and heads are discarded (Sec. III-D); the copies share no tensor
        with the originals.
        """
        for role, model in (("speech_model", speech_model), ("visual_model", visual_model)):
            if not isinstance(model, UnimodalModel):
                raise ConfigError(f"{role} must be a UnimodalModel, got {type(model).__name__}")
        return cls(
            copy.deepcopy(speech_model.encoder),
            copy.deepcopy(visual_model.encoder),
            hidden=hidden,
            layers=layers,
            landmarks_dim=landmarks_dim,
            n_targets=n_targets,
        )

    def freeze_cnns(self) -> MultimodalModel:
        """Stop gradients into both CNNs and freeze their BatchNorm statistics."""
        for enc in (self.speech, self.visual):
            enc.requires_grad_(False)
        self.cnns_frozen = True
        return self.train(self.training)

    def train(self, mode: bool = True) -> MultimodalModel:
        super().train(mode)
        if self.cnns_frozen:
            for enc in (self.speech, self.visual):
                for m in enc.modules():
                    if isinstance(m, _BatchNorm):
                        m.eval()
        return self

    def forward(
        self,
        audio: torch.Tensor,
        video: torch.Tensor,
        landmarks: torch.Tensor | None = None,
        *,
        return_hidden: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        a = self.speech(audio)
        v = self.visual(video)
        if a.shape[:2] != v.shape[:2]:
            raise ValueError(
                f"MultimodalModel: speech gives (B, T) = {tuple(a.shape[:2])} but video gives "
                f"{tuple(v.shape[:2])}; audio and frames must cover the same 40 ms steps"
            )
        parts = [a, v]
        if self.landmarks_dim:
            want = (*a.shape[:2], self.landmarks_dim)
            if landmarks is None or tuple(landmarks.shape) != want:
                got = None if landmarks is None else tuple(landmarks.shape)
                raise ValueError(f"MultimodalModel: landmarks must have shape {want}, got {got}")
            parts.append(landmarks.to(a.dtype))
        elif landmarks is not None:
            raise ValueError(
                "MultimodalModel: landmarks given but landmarks_dim=0; build the model with "
                "landmarks_dim set to their size"
            )
        hidden, _ = self.rnn(torch.cat(parts, dim=-1))
        out = self.head(hidden)
        return (out, hidden) if return_hidden else out
