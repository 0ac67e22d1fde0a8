"""Training throughput of the emorepro trainer against a bare PyTorch loop on the same model.

    python benchmarks/train_throughput.py --model speech|visual|stub --steps 150 --batch 4 \\
        --iters 5 [--device cpu|cuda] [--amp] [--seed 0]

Builds ``batch x iters`` synthetic 6 s sequences (``--steps`` label frames each; white-noise
audio or random 96x96 face crops, random targets), then measures sequences per second of

(a) :func:`emorepro.training.trainer.train` (``DataLoader`` over the dataset, device transfer,
    forward, CCC loss, backward, Adam step, per-epoch bookkeeping; no dev set), two epochs of
    ``iters`` batches, the second one timed;
(b) a bare loop over the same batches, collated once beforehand: ``.to(device)``, forward,
    ``ccc_loss``, backward, Adam step; one warm-up pass of ``iters`` batches, then ``iters``
    timed batches.

Both start from the same initial weights and run under the same global flags
(:func:`emorepro.training.runtime.seed_everything`: deterministic algorithms, cuDNN benchmark
off). ``speech`` and ``visual`` are the DAG's networks of ``speech000_ccc`` and ``visual_ccc``
(:mod:`emorepro.families.tzirakis2017`) at the widths of ``--profile`` (``paper``: full
size, run it on a GPU); ``stub`` is a small conv + LSTM stand-in with the same audio
contract, for a quick check of this script. Visual inputs are pixel / 255 (no
augmentation), so the figure is the model's, not the transform's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from emorepro.training.losses import ccc_loss
from emorepro.training.runtime import pick_device, seed_everything
from emorepro.training.sequences import SAMPLES_PER_FRAME, AudioSequences, VideoSequences
from emorepro.training.trainer import DictInput, TrainConfig, train


class StubSpeech(nn.Module):
    """``(B, T * 640)`` -> strided conv (16 x 80 taps, stride 40) -> LSTM(32) -> ``(B, T, 2)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 16, kernel_size=80, stride=40, padding=20)
        self.rnn = nn.LSTM(16 * (SAMPLES_PER_FRAME // 40), 32, batch_first=True)
        self.head = nn.Linear(32, 2)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b = audio.shape[0]
        h = torch.relu(self.conv(audio.unsqueeze(1)))  # (B, 16, T * 16)
        h = h.view(b, 16, -1, SAMPLES_PER_FRAME // 40).permute(0, 2, 3, 1).flatten(2)
        out, _ = self.rnn(h)
        return self.head(out)


def build_model(kind: str, profile: str = "paper") -> tuple[nn.Module, str, int]:
    """(model taking a batch dict, input key, face size): the DAG's network of
    ``speech000_ccc`` / ``visual_ccc`` at the widths of ``families.tzirakis2017.profiles.<profile>``
    in benchmarks/config.yaml (paper: ResNet-50 on 96x96 faces; tiny/small: reduced trunk on
    the profile's smaller faces)."""
    if kind == "stub":
        return DictInput(StubSpeech(), ("audio",)), "audio", 0
    import yaml

    from emorepro.families import parse_experiment
    from emorepro.families.tzirakis2017.networks import build_network, input_keys
    from emorepro.families.tzirakis2017.spec import resolve_settings

    config = yaml.safe_load((Path(__file__).parent / "config.yaml").read_text())
    profiles = config["families"]["tzirakis2017"]["profiles"]
    if profile not in profiles:
        sys.exit(f"--profile {profile!r}: not one of {sorted(profiles)} in benchmarks/config.yaml")
    name = "speech000_ccc" if kind == "speech" else "visual_ccc"
    spec = parse_experiment(f"tzirakis2017/{name}").spec
    settings = resolve_settings(spec, profiles[profile])
    model = DictInput(build_network(spec, settings), input_keys(spec))
    return model, input_keys(spec)[0], int(settings["face_size"]) if kind == "visual" else 0


def synthetic_dataset(
    key: str, n_seq: int, steps: int, seed: int, size: int = 96
) -> AudioSequences | VideoSequences:
    """One recording of ``n_seq * steps`` label frames cut into ``n_seq`` windows."""
    rng = np.random.default_rng(seed)
    n = n_seq * steps
    labels = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    if key == "audio":
        audio = rng.standard_normal(n * SAMPLES_PER_FRAME).astype(np.float32)
        return AudioSequences([(audio, labels)], steps=steps, align="start")
    crops = rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return VideoSequences([(crops, labels)], steps=steps)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bare_loop(
    model: nn.Module, batches: list[dict], device: torch.device, iters: int, amp: bool
) -> float:
    """Sequences per second of forward + CCC loss + backward + Adam over ``iters`` batches."""
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    nb = device.type == "cuda"

    def step(batch: dict) -> None:
        x = {k: v.to(device, non_blocking=nb) for k, v in batch.items() if torch.is_tensor(v)}
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            pred = model(x)
        ccc_loss(pred.float(), x["target"]).backward()
        opt.step()

    for batch in batches:  # warm-up pass
        step(batch)
    _sync(device)
    t0 = time.perf_counter()
    n = 0
    for i in range(iters):
        batch = batches[i % len(batches)]
        step(batch)
        n += len(batch["target"])
    _sync(device)
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=("speech", "visual", "stub"), required=True)
    ap.add_argument("--profile", default="paper", help="tiny | small | paper (model widths)")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast in both loops")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if min(args.steps, args.batch, args.iters) < 1:
        ap.error("--steps, --batch and --iters must be >= 1")
    device = pick_device(args.device)
    seed_everything(args.seed, device=device)

    torch.manual_seed(args.seed)
    model, key, size = build_model(args.model, args.profile)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ds = synthetic_dataset(key, args.batch * args.iters, args.steps, args.seed, size)
    n_params = sum(p.numel() for p in model.parameters())

    cfg = TrainConfig(
        loss="ccc", epochs=2, lr=1e-4, batch_size=args.batch, seed=args.seed,
        device=str(device), amp=args.amp, name="bench",
    )  # fmt: skip
    _, hist = train(model, ds, None, cfg)
    trainer_sps = float(hist["timing"][-1]["sequences_per_s"])

    model.load_state_dict(init)
    batches = list(DataLoader(ds, batch_size=args.batch, shuffle=False))
    bare_sps = bare_loop(model, batches, device, args.iters, args.amp)

    result = {
        "model": args.model,
        "profile": args.profile,
        "face_size": size or None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "parameters": int(n_params),
        "steps": args.steps,
        "batch": args.batch,
        "iters": args.iters,
        "amp": bool(args.amp),
        "trainer_sequences_per_s": round(trainer_sps, 4),
        "bare_sequences_per_s": round(bare_sps, 4),
        "trainer_over_bare": round(trainer_sps / bare_sps, 4),
    }
    print(f"model {args.model} ({n_params:,} parameters) on {result['device']}, "
          f"{args.batch} x {args.steps} steps, {args.iters} timed batches")  # fmt: skip
    print(f"(a) emorepro trainer : {trainer_sps:10.3f} sequences/s")
    print(f"(b) bare PyTorch loop: {bare_sps:10.3f} sequences/s")
    print(f"ratio (a)/(b)        : {trainer_sps / bare_sps:10.3f}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
