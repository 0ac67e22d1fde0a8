"""Tzirakis et al. models: shapes, parameter counts, weight files, init, copying, augmentation."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.tzirakis2017.models import (
    FaceTransform,
    MultimodalModel,
    SpeechCNN,
    UnimodalModel,
    VisualCNN,
    count_parameters,
    load_state_dict_file,
)
from emorepro.models.weights import sha256_file
from emorepro.training.runtime import seed_everything


def small_speech(**kw) -> SpeechCNN:
    """4 ms steps (64 samples), 8/7 taps, 4 filters pooled by 2 -> 32 * 2 = 64 features."""
    args = dict(
        frame_s=0.004,
        n_filters_1=3,
        kernel_1_s=0.0005,
        n_filters_2=4,
        kernel_2_s=0.000875,
        channel_pool=2,
        dropout=0.0,
    )
    args.update(kw)
    return SpeechCNN("000", **args)


def lstm_params(n_in: int, h: int) -> int:
    return 4 * h * (n_in + h) + 8 * h


# ---------------------------------------------------------------- speech network


def test_full_speech_cnn_shape_and_taps_000():
    seed_everything(0)
    net = SpeechCNN("000").eval()
    assert (net.n_filters_1, net.kernel_1, net.n_filters_2, net.kernel_2) == (40, 80, 40, 4000)
    assert net.out_dim == 1280 == 320 * 4
    x = torch.randn(1, 2 * 640)
    with torch.no_grad():
        out = net(x)
        out3 = net(x.reshape(1, 2, 640))
    assert out.shape == (1, 2, 1280)
    assert torch.equal(out, out3)


def test_speech_version_001_first_layer():
    net = SpeechCNN("001")
    assert net.n_filters_1 == 20 and net.conv1.weight.shape == (20, 1, 80)
    assert net.conv2.weight.shape == (40, 20, 4000) and net.out_dim == 1280


def _numpy_speech(net: SpeechCNN, x: np.ndarray) -> np.ndarray:
    """Independent float64 reference of the speech CNN (dropout off) for one waveform."""
    w1 = net.conv1.weight.detach().double().numpy()
    b1 = net.conv1.bias.detach().double().numpy()
    w2 = net.conv2.weight.detach().double().numpy()
    b2 = net.conv2.bias.detach().double().numpy()

    def same(sig: np.ndarray, k: int) -> np.ndarray:
        left = (k - 1) // 2
        return np.pad(sig, (left, k - 1 - left))

    k1, k2 = w1.shape[-1], w2.shape[-1]
    h1 = np.stack([np.correlate(same(x, k1), w1[f, 0], "valid") + b1[f] for f in range(len(b1))])
    h1 = np.maximum(h1, 0.0)
    h1 = np.maximum(h1[:, 0::2], h1[:, 1::2])
    h2 = np.stack(
        [
            sum(np.correlate(same(h1[c], k2), w2[m, c], "valid") for c in range(h1.shape[0]))
            + b2[m]
            for m in range(len(b2))
        ]
    )
    p = net.channel_pool
    pooled = np.stack([h2[j * p : (j + 1) * p].max(axis=0) for j in range(h2.shape[0] // p)])
    half = net.frame_samples // 2
    steps = pooled.shape[1] // half
    out = np.zeros((steps, net.out_dim))
    for t in range(steps):
        for s in range(half):
            for c in range(pooled.shape[0]):
                out[t, s * pooled.shape[0] + c] = pooled[c, t * half + s]
    return out


def test_speech_cnn_matches_numpy_reference():
    seed_everything(1)
    net = small_speech().eval()
    assert (net.kernel_1, net.kernel_2, net.out_dim) == (8, 7, 64)
    x = torch.randn(2, 3 * 64)
    with torch.no_grad():
        got = net(x).double().numpy()
    for i in range(2):
        np.testing.assert_allclose(got[i], _numpy_speech(net, x[i].double().numpy()), atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((1, 100), "multiple"), ((1, 0), "multiple"), ((1, 2, 63), "frame"), ((64,), "expected")],
)
def test_speech_cnn_rejects_bad_input(shape, match):
    with pytest.raises(ValueError, match=match):
        small_speech()(torch.zeros(shape))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"version": "002"},
        {"n_filters_2": 5},
        {"frame_s": 0.0041},
        {"kernel_1_s": 1e-6},
        {"dropout": 1.0},
    ],
)
def test_speech_cnn_rejects_bad_config(kwargs):
    version = kwargs.pop("version", "000")
    with pytest.raises(ConfigError):
        SpeechCNN(version, **kwargs)


# ---------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(("version", "f1"), [("000", 40), ("001", 20)])
def test_full_speech_model_parameter_count(version, f1):
    model = UnimodalModel(SpeechCNN(version))
    cnn = (f1 * 80 + f1) + (40 * f1 * 4000 + 40)
    recurrent = lstm_params(1280, 256) + lstm_params(256, 256) + (256 * 2 + 2)
    assert count_parameters(model.encoder) == cnn
    assert count_parameters(model) == cnn + recurrent
    assert count_parameters(model) == {"000": 8_505_042, "001": 5_303_422}[version]
    # the paper's "≈1.5M" / "(1.1 mil.)" is far below what the described layers hold
    assert count_parameters(model) > 3 * 1.5e6


def test_visual_and_multimodal_parameter_counts():
    seed_everything(0)
    visual = UnimodalModel(VisualCNN())
    # torchvision documents 25,557,032 parameters for ResNet-50; minus the 2048 x 1000 classifier
    trunk = 25_557_032 - (2048 * 1000 + 1000)
    assert count_parameters(visual.encoder) == trunk
    assert count_parameters(visual) == trunk + lstm_params(2048, 256) + lstm_params(256, 256) + 514
    mm = MultimodalModel(SpeechCNN("000"), visual.encoder)
    assert mm.in_dim == 3328
    expected = 3_240 + 6_400_040 + trunk + lstm_params(3328, 256) + lstm_params(256, 256) + 514
    assert count_parameters(mm) == expected == 34_110_226


# ---------------------------------------------------------------- visual network


def test_resnet50_features_2048_per_frame():
    seed_everything(0)
    net = VisualCNN().eval()
    assert net.out_dim == 2048 and net.pretrained is False and net.weights_sha256 is None
    with torch.no_grad():
        out = net(torch.randn(1, 2, 3, 96, 96))
    assert out.shape == (1, 2, 2048)


@pytest.mark.parametrize(("width", "dim"), [("resnet18", 512), ("tiny", 64)])
def test_reduced_trunks(width, dim):
    seed_everything(0)
    net = VisualCNN(width=width).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 3, 96, 96))
    assert net.out_dim == dim and out.shape == (2, 3, dim)


def test_visual_rejects_bad_input_and_config():
    net = VisualCNN(width="tiny")
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        net(torch.zeros(2, 3, 96, 96))
    with pytest.raises(ValueError, match="float"):
        net(torch.zeros(1, 1, 3, 96, 96, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="width"):
        VisualCNN(width="vgg")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="sha256"):
        VisualCNN(width="tiny", sha256="0" * 64)


# ---------------------------------------------------------------- weight files


@pytest.fixture
def tiny_weights(tmp_path):
    seed_everything(3)
    src = VisualCNN(width="tiny")
    state = dict(src.trunk.state_dict())
    state["fc.weight"] = torch.zeros(10, 64)  # an ImageNet-style classifier, ignored
    state["fc.bias"] = torch.zeros(10)
    path = tmp_path / "tiny.pth"
    torch.save(state, path)
    return src, path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_weights_load_with_good_checksum(tiny_weights):
    src, path, digest = tiny_weights
    seed_everything(99)
    for sha in (digest, digest[:8].upper(), None):
        net = VisualCNN(width="tiny", weights=str(path), sha256=sha)
        assert net.pretrained is True and net.weights_sha256 == digest == sha256_file(path)
        for key, value in src.trunk.state_dict().items():
            assert torch.equal(net.trunk.state_dict()[key], value), key


def test_weights_bad_checksum_names_file(tiny_weights):
    _, path, digest = tiny_weights
    wrong = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(CorruptInputError, match=r"tiny\.pth.*SHA-256"):
        VisualCNN(width="tiny", weights=str(path), sha256=wrong)
    with pytest.raises(ConfigError, match="hex"):
        load_state_dict_file(path, sha256="not-a-digest")


def test_weights_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.pth.*does not exist"):
        load_state_dict_file(tmp_path / "absent.pth")


def test_weights_wrong_architecture_names_keys(tiny_weights, tmp_path):
    _, path, _ = tiny_weights
    with pytest.raises(CorruptInputError, match=r"tiny\.pth.*missing keys.*unexpected keys"):
        VisualCNN(width="resnet18", weights=str(path))
    state = torch.load(path, weights_only=True)
    state["0.weight"] = torch.zeros(16, 3, 5, 5)
    bad = tmp_path / "shape.pth"
    torch.save(state, bad)
    with pytest.raises(CorruptInputError, match=r"shape\.pth.*shape mismatches.*0\.weight"):
        VisualCNN(width="tiny", weights=str(bad))


class _Payload:
    """An arbitrary object: weights_only=True must refuse to unpickle it."""


def test_weights_only_refuses_pickled_objects(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"w": _Payload()}, path)
    with pytest.raises(CorruptInputError, match=r"evil\.pth.*weights_only"):
        load_state_dict_file(path)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(CorruptInputError, match=r"junk\.pth"):
        load_state_dict_file(junk)
    listing = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], listing)
    with pytest.raises(CorruptInputError, match="not a state dict"):
        load_state_dict_file(listing)


def test_weights_nested_and_dataparallel_prefix(tmp_path):
    state = {"module.a": torch.ones(2), "module.b": torch.zeros(1)}
    path = tmp_path / "nested.pth"
    torch.save({"state_dict": state, "epoch": torch.tensor(3)}, path)
    got = load_state_dict_file(path)
    assert set(got) == {"a", "b"} and torch.equal(got["a"], torch.ones(2))


# ---------------------------------------------------------------- recurrent models


def small_pair() -> tuple[UnimodalModel, UnimodalModel]:
    return (
        UnimodalModel(small_speech(), hidden=32),
        UnimodalModel(VisualCNN(width="tiny"), hidden=32),
    )


def test_unimodal_shapes_and_hidden():
    seed_everything(0)
    model = UnimodalModel(small_speech(), hidden=16, layers=2).eval()
    out, hidden = model(torch.randn(3, 4 * 64), return_hidden=True)
    assert out.shape == (3, 4, 2) and hidden.shape == (3, 4, 16)
    with pytest.raises(ConfigError):
        UnimodalModel(small_speech(), hidden=0)


def test_multimodal_lstm_is_glorot_initialised():
    seed_everything(0)
    speech, visual = small_pair()
    hidden = 32
    mm = MultimodalModel(speech.encoder, visual.encoder, hidden=hidden, layers=2)
    n_in = 64 + 64
    assert mm.in_dim == n_in
    fans = {
        "weight_ih_l0": (n_in, 4 * hidden),
        "weight_hh_l0": (hidden, 4 * hidden),
        "weight_ih_l1": (hidden, 4 * hidden),
        "weight_hh_l1": (hidden, 4 * hidden),
    }
    params = dict(mm.rnn.named_parameters())
    for name, (fan_in, fan_out) in fans.items():
        w = params[name].detach()
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert w.abs().max() <= bound
        # U[-a, a] has std a / sqrt(3); PyTorch default U[-1/sqrt(H), 1/sqrt(H)] is >= 8 % off
        assert w.std().item() == pytest.approx(bound / math.sqrt(3.0), rel=0.03), name
        assert abs(1 / math.sqrt(hidden) - bound) / bound > 0.08
    for name in ("bias_ih_l0", "bias_hh_l0", "bias_ih_l1", "bias_hh_l1"):
        assert torch.count_nonzero(params[name]) == 0


def test_from_unimodal_copies_cnn_weights_exactly():
    seed_everything(0)
    speech, visual = small_pair()
    mm = MultimodalModel.from_unimodal(speech, visual, hidden=8)
    for copy_, orig in ((mm.speech, speech.encoder), (mm.visual, visual.encoder)):
        ref = orig.state_dict()
        got = copy_.state_dict()
        assert set(got) == set(ref)
        for key in ref:
            assert torch.equal(got[key], ref[key]), key
            assert got[key].data_ptr() != ref[key].data_ptr()
    with torch.no_grad():
        speech.encoder.conv1.weight.add_(1.0)
    assert not torch.equal(mm.speech.conv1.weight, speech.encoder.conv1.weight)
    with pytest.raises(ConfigError, match="UnimodalModel"):
        MultimodalModel.from_unimodal(speech.encoder, visual)  # type: ignore[arg-type]


def test_freeze_cnns_trains_only_the_recurrent_part():
    seed_everything(0)
    speech, visual = small_pair()
    mm = MultimodalModel.from_unimodal(speech, visual, hidden=8, landmarks_dim=5).freeze_cnns()
    mm.train()
    bn = mm.visual.trunk[1]
    before = bn.running_mean.clone()
    out = mm(torch.randn(2, 3 * 64), torch.randn(2, 3, 3, 32, 32), torch.randn(2, 3, 5))
    out.square().mean().backward()
    assert torch.equal(bn.running_mean, before) and not bn.training
    assert all(p.grad is None for p in mm.speech.parameters())
    assert all(p.grad is None for p in mm.visual.parameters())
    assert all(p.grad is not None for p in [*mm.rnn.parameters(), *mm.head.parameters()])
    recurrent = lstm_params(128 + 5, 8) + lstm_params(8, 8) + 8 * 2 + 2
    assert count_parameters(mm, trainable_only=True) == recurrent


def test_multimodal_input_checks():
    seed_everything(0)
    speech, visual = small_pair()
    mm = MultimodalModel.from_unimodal(speech, visual, hidden=8)
    audio, video = torch.randn(1, 3 * 64), torch.randn(1, 3, 3, 32, 32)
    assert mm.eval()(audio, video).shape == (1, 3, 2)
    with pytest.raises(ValueError, match="same 40 ms steps"):
        mm(audio, torch.randn(1, 2, 3, 32, 32))
    with pytest.raises(ValueError, match="landmarks_dim=0"):
        mm(audio, video, torch.zeros(1, 3, 4))
    mm_l = MultimodalModel.from_unimodal(speech, visual, hidden=8, landmarks_dim=4)
    with pytest.raises(ValueError, match=r"\(1, 3, 4\)"):
        mm_l(audio, video)


def test_forward_is_deterministic_under_seed():
    def run(seed: int) -> torch.Tensor:
        seed_everything(seed)
        speech, visual = small_pair()
        mm = MultimodalModel.from_unimodal(speech, visual, hidden=8).train()
        mm.speech.dropout.p = mm.visual.dropout.p = 0.5
        audio = torch.randn(2, 2 * 64)
        video = torch.randn(2, 2, 3, 32, 32)
        return mm(audio, video)

    a = run(7)
    assert torch.equal(a, run(7))
    assert not torch.equal(a, run(8))


# ---------------------------------------------------------------- augmentation


def _resized(frames: torch.Tensor) -> torch.Tensor:
    x = frames.float() / 255.0
    return F.interpolate(x, size=(110, 110), mode="bilinear", align_corners=False, antialias=True)


def _frames(seed: int, t: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 128, (t, 3, 96, 96), generator=g, dtype=torch.uint8)


def test_eval_transform_is_resize_then_centre_crop():
    frames = _frames(0)
    tf = FaceTransform(train=False)
    out = tf(frames)
    assert out.shape == (3, 3, 96, 96) and out.dtype == torch.float32
    assert torch.equal(out, tf(frames))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    ref = (_resized(frames)[..., 7:103, 7:103] - mean) / std
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)
    hwc = frames.permute(0, 2, 3, 1).numpy()
    assert torch.equal(tf(hwc), out)


def test_train_transform_random_crop_and_brightness():
    frames = _frames(1)
    tf = FaceTransform(train=True, brightness=0.2, saturation=0.0, normalise=False)
    out = tf(frames, generator=torch.Generator().manual_seed(5))
    assert out.shape == (3, 3, 96, 96)
    big = _resized(frames)
    hits = []
    for top in range(15):
        for left in range(15):
            crop = big[..., top : top + 96, left : left + 96]
            ratio = out / crop.clamp_min(1e-3)
            factor = ratio[crop > 0.05].median()
            if torch.allclose(out, (crop * factor).clamp(0, 1), atol=1e-5):
                hits.append((top, left, float(factor)))
    assert len(hits) == 1
    assert 0.8 <= hits[0][2] <= 1.2


def test_train_transform_saturation_formula():
    frames = _frames(2, t=1)
    tf = FaceTransform(train=True, brightness=0.0, saturation=0.2, normalise=False)
    g = torch.Generator().manual_seed(11)
    out = tf(frames, generator=g)
    g.manual_seed(11)
    top, left = int(torch.randint(15, (), generator=g)), int(torch.randint(15, (), generator=g))
    _ = torch.rand((), generator=g)  # the brightness draw (factor 1 here)
    f = 1.0 + 0.2 * (2.0 * float(torch.rand((), generator=g)) - 1.0)
    crop = _resized(frames)[..., top : top + 96, left : left + 96]
    gray = (0.2989 * crop[:, 0] + 0.587 * crop[:, 1] + 0.114 * crop[:, 2]).unsqueeze(1)
    torch.testing.assert_close(out, (f * crop + (1 - f) * gray).clamp(0, 1), atol=1e-5, rtol=0)


def test_train_transform_seeded_and_shared_across_frames():
    one = _frames(3, t=1)
    seq = one.expand(4, -1, -1, -1)
    tf = FaceTransform(train=True)
    a = tf(seq, generator=torch.Generator().manual_seed(0))
    b = tf(seq, generator=torch.Generator().manual_seed(0))
    c = tf(seq, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert all(torch.equal(a[0], a[i]) for i in range(4))
    torch.manual_seed(4)
    d = tf(seq)
    torch.manual_seed(4)
    assert torch.equal(d, tf(seq))


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((96, 96, 3), dtype=np.float32),
        torch.zeros(3, 96, 96, dtype=torch.int32),
        torch.zeros(96, 96, 3),
    ],
)
def test_transform_rejects_bad_frames(bad):
    with pytest.raises(ValueError, match="FaceTransform"):
        FaceTransform(train=False)(bad)


def test_transform_rejects_bad_config():
    with pytest.raises(ConfigError):
        FaceTransform(train=True, size=120)
    with pytest.raises(ConfigError):
        FaceTransform(train=True, brightness=1.5)
