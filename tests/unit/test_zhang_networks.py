"""Zhang et al. (002) networks: AudioAlexNet and C3D shapes, layout, weights, normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch.nn import functional as F

from emorepro.errors import ConfigError, CorruptInputError
from emorepro.families.zhang2018.audio_net import ALEX_WIDTHS, AudioAlexNet, pool5_side
from emorepro.families.zhang2018.visual_net import C3D, C3D_WIDTHS, c3d_pool5_shape
from emorepro.models.weights import sha256_file

C = 6


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- audio network


@pytest.mark.parametrize("width", sorted(ALEX_WIDTHS))
@pytest.mark.parametrize("frames", [64, 15])
def test_audio_shapes_every_width(width: str, frames: int) -> None:
    torch.manual_seed(0)
    net = AudioAlexNet(C, width=width).eval()
    seg = torch.randn(2, 64, frames, 3)
    with torch.no_grad():
        logits, feats, image = net(seg), net.features(seg), net.prepare(seg)
    s = ALEX_WIDTHS[width].input_size
    assert net.input_size == s and net.feature_dim == ALEX_WIDTHS[width].fc
    assert image.shape == (2, 3, s, s)
    assert logits.shape == (2, C) and feats.shape == (2, net.feature_dim)
    assert (feats >= 0).all()  # fc7 after its ReLU
    with torch.no_grad():
        assert torch.allclose(net.fc8(feats), logits)
        assert torch.allclose(net(image, prepared=True), logits)


def test_audio_pool5_follows_input_size() -> None:
    assert pool5_side(227) == pool5_side(224) == 6
    assert pool5_side(96) == 2 and pool5_side(64) == 1
    assert AudioAlexNet(C, width="tiny", input_size=96).trunk.flat_dim == 32 * 2 * 2
    with pytest.raises(ConfigError, match="needs >= 63"):
        AudioAlexNet(C, width="tiny", input_size=48)
    with pytest.raises(ConfigError, match="width"):
        AudioAlexNet(C, width="huge")


def test_audio_paper_width_is_torchvision_alexnet_without_fc8() -> None:
    tv = torchvision.models.alexnet(weights=None)
    net = AudioAlexNet(C, width="paper")
    fc8 = 4096 * 1000 + 1000
    assert n_params(tv) == 61_100_840
    assert n_params(net.trunk) == n_params(tv) - fc8 == 57_003_840
    assert n_params(net) == 57_003_840 + 4096 * C + C
    want = {
        k: tuple(v.shape) for k, v in tv.state_dict().items() if not k.startswith("classifier.6")
    }
    assert {k: tuple(v.shape) for k, v in net.trunk.state_dict().items()} == want


def test_audio_prepare_layout_resize_and_standardisation() -> None:
    net = AudioAlexNet(C, width="tiny", input_size=96)
    mel = torch.arange(64, dtype=torch.float32)
    seg = mel[None, :, None, None].expand(1, 64, 15, 3).clone()  # value = Mel bin
    seg[..., 1] *= 2.0
    seg[..., 2] = 5.0
    image = net.prepare(seg)
    # Mel bins are rows: every column is the same; row values rise with the bin
    assert torch.allclose(image, image[..., :1].expand_as(image))
    assert (image[0, 0, 1:, 0] >= image[0, 0, :-1, 0]).all()
    want = F.interpolate(seg.permute(0, 3, 1, 2), size=(96, 96), mode="bilinear")
    assert torch.allclose(image, want)  # identity statistics before fitting

    train = torch.randn(10, 64, 64, 3) * torch.tensor([2.0, 0.5, 0.1]) + torch.tensor([3, 0, -1])
    net.fit_input_stats(train.numpy())
    x64 = train.double().permute(3, 0, 1, 2).reshape(3, -1)
    assert torch.allclose(net.norm.mean.double(), x64.mean(1), atol=1e-5)
    assert torch.allclose(net.norm.std.double(), x64.std(1, correction=0), atol=1e-5)
    z = net.prepare(train)
    assert torch.allclose(z.mean(dim=(0, 2, 3)), torch.zeros(3), atol=0.05)
    assert "norm.mean" in net.state_dict() and "norm.std" in net.state_dict()


def test_audio_rejects_wrong_layout() -> None:
    net = AudioAlexNet(C, width="tiny")
    with pytest.raises(ValueError, match=r"\(B, n_mels, L, 3\)"):
        net.prepare(torch.randn(2, 3, 64, 64))
    with pytest.raises(ConfigError, match="n_classes"):
        AudioAlexNet(1, width="tiny")


def test_audio_load_imagenet_all_but_fc8(tmp_path) -> None:
    torch.manual_seed(1)
    tv = torchvision.models.alexnet(weights=None).eval()
    path = tmp_path / "alexnet-test.pth"
    torch.save(tv.state_dict(), path)
    net = AudioAlexNet(C, width="paper").eval()
    fc8_before = net.fc8.weight.clone()
    net.load_imagenet(path, sha256_file(path)[:8])
    assert net.pretrained and net.weights_sha256 == sha256_file(path)
    assert torch.equal(net.fc8.weight, fc8_before)  # the new C-way layer is not loaded
    image = torch.randn(1, 3, 227, 227)
    with torch.no_grad():
        ref = tv.classifier[:6](torch.flatten(tv.avgpool(tv.features(image)), 1))
        assert torch.allclose(net.features(image, prepared=True), ref, atol=1e-5)
    with pytest.raises(CorruptInputError, match="SHA-256"):
        AudioAlexNet(C, width="paper").load_imagenet(path, "0" * 64)


def test_audio_load_imagenet_refuses_other_widths(tmp_path) -> None:
    path = tmp_path / "w.pth"
    with pytest.raises(ConfigError, match="width 'paper' only"):
        AudioAlexNet(C, width="small").load_imagenet(path)
    with pytest.raises(ConfigError, match="input_size=227"):
        AudioAlexNet(C, width="paper", input_size=160).load_imagenet(path)


# ---------------------------------------------------------------- visual network


def clips(b: int, h: int = 150, w: int = 110, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (b, 3, 16, h, w), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize("width", ["small", "tiny"])
def test_c3d_shapes_narrow_widths(width: str) -> None:
    torch.manual_seed(0)
    net = C3D(C, width=width).eval()
    x = clips(2)
    with torch.no_grad():
        logits, feats, prepared = net(x), net.features(x), net.prepare(x)
    s = C3D_WIDTHS[width].input_size
    t, h, w = c3d_pool5_shape(16, s)
    assert net.trunk.flat_dim == C3D_WIDTHS[width].channels[-1] * t * h * w
    assert prepared.shape == (2, 3, 16, s, s)
    assert logits.shape == (2, C) and feats.shape == (2, net.feature_dim)
    assert net.feature_dim == C3D_WIDTHS[width].fc and (feats >= 0).all()


def test_c3d_paper_width_shapes_and_parameter_count() -> None:
    torch.manual_seed(0)
    net = C3D(C, width="paper").eval()
    convs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512)] + [(512, 512)] * 3
    conv_params = sum(cin * cout * 27 + cout for cin, cout in convs)
    assert conv_params == 27_655_936
    trunk = conv_params + (8192 * 4096 + 4096) + (4096 * 4096 + 4096)
    assert n_params(net.trunk) == trunk == 77_995_776
    assert n_params(net) == trunk + 4096 * C + C
    with torch.no_grad():
        out = net(clips(1))
    assert out.shape == (1, C) and net.trunk.flat_dim == 8192


def test_c3d_pool5_sizes_analytic() -> None:
    # Sports-1M: 16 x 112 x 112 -> 512 x 1 x 4 x 4 = 8192 (fc6 inputs)
    assert c3d_pool5_shape(16, 112) == (1, 4, 4)
    # the paper's literal 227 x 227: 227 -> 114 -> 57 -> 29 -> 15 -> 8 (rounded up)
    assert c3d_pool5_shape(16, 227) == (1, 8, 8)
    assert c3d_pool5_shape(16, 96) == (1, 3, 3)
    with pytest.raises(ConfigError, match="shorter than a pooling kernel"):
        c3d_pool5_shape(8, 112)


def test_c3d_pooling_uses_caffe_windows() -> None:
    """7 -> 4 with windows [0, 1], [2, 3], [4, 5], [6] (Caffe rounds up, no padding)."""
    net = C3D(C, width="tiny")
    x = torch.arange(7.0).reshape(1, 1, 1, 1, 7).expand(1, 1, 2, 7, 7).contiguous()
    out = net.trunk.pool5(x)
    assert out.shape == (1, 1, 1, 4, 4)
    assert out[0, 0, 0, 0].tolist() == [1.0, 3.0, 5.0, 6.0]


def test_c3d_prepare_resize_and_normalisation() -> None:
    net = C3D(C, width="tiny")
    x = torch.zeros(1, 3, 16, 150, 110, dtype=torch.uint8)
    x[:, 1] = 255
    p = net.prepare(x)
    assert p.shape == (1, 3, 16, 32, 32)
    assert torch.allclose(p[:, 0], torch.full_like(p[:, 0], -1.0))  # (0 - 127.5) / 127.5
    assert torch.allclose(p[:, 1], torch.ones_like(p[:, 1]))
    train = clips(3, seed=4)
    net.fit_input_stats(train, scale=False)
    assert torch.equal(net.norm.std, torch.ones(3))
    means = train.double().mean(dim=(0, 2, 3, 4))
    assert torch.allclose(net.norm.mean.double(), means, atol=1e-4)
    net.fit_input_stats(train)
    assert (net.norm.std > 50).all()  # uniform 0-255 pixels: std about 74
    with pytest.raises(ValueError, match=r"\(B, 3, 16, H, W\)"):
        net.prepare(torch.zeros(1, 16, 3, 150, 110))


def test_c3d_load_sports1m(tmp_path) -> None:
    torch.manual_seed(2)
    source = C3D(487, width="paper")
    state = dict(source.trunk.state_dict())
    state.update({"fc8.weight": source.fc8.weight, "fc8.bias": source.fc8.bias})
    path = tmp_path / "c3d_sports1m.pth"
    torch.save(state, path)
    net = C3D(C, width="paper")
    net.load_sports1m(path, sha256_file(path))
    assert net.pretrained
    for key, value in source.trunk.state_dict().items():
        assert torch.equal(net.trunk.state_dict()[key], value), key
    assert net.fc8.weight.shape == (C, 4096)
    del state["conv3b.bias"]
    torch.save(state, path)
    with pytest.raises(CorruptInputError, match="missing keys"):
        net.load_sports1m(path)


def test_c3d_load_sports1m_refuses_other_shapes(tmp_path) -> None:
    path = tmp_path / "w.pth"
    with pytest.raises(ConfigError, match="width 'paper' only"):
        C3D(C, width="tiny").load_sports1m(path)
    with pytest.raises(ConfigError, match="input_size=112"):
        C3D(C, width="paper", input_size=96).load_sports1m(path)


def test_c3d_accepts_numpy_and_is_deterministic() -> None:
    torch.manual_seed(3)
    net = C3D(C, width="tiny").eval()
    x = clips(1, seed=9)
    with torch.no_grad():
        a = net(x.numpy())
        b = net(x.float())
    assert torch.equal(a, b)
    assert np.isfinite(a.numpy()).all()
