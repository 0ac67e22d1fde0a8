"""Synthetic twin of the AVEC 2016 RECOLA package (27 recordings, 9 train / 9 dev / 9 test).

Layout (as read by AVEC baseline and user scripts, see :mod:`emorepro.corpora.recola`)::

    <root>/recordings_audio/{train,dev,test}_{1..9}.wav
    <root>/recordings_video/{train,dev,test}_{1..9}.mp4          (video only, 25 fps)
    <root>/ratings_gold_standard/{arousal,valence}/<name>.arff    (40 ms, 0..T s inclusive)
    <root>/ratings_individual/{arousal,valence}/<name>.csv        (time;FM1;FM2;FM3;FF1;FF2;FF3)

The gold standard of the test partition was never released publicly; the twin ships it so
that test scores can be computed. Per recording: a latent arousal/valence trajectory plus the
speaker's bias drives the voice (arousal mostly) and the drawn face (valence mostly); the six
ratings lag the latent by ~2.4 s and are smoothed; the gold standard is their mean.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emorepro.parallel import ordered_map
from emorepro.synth.affect import Speaker, annotate, latent_trajectory, make_speakers
from emorepro.synth.face import FaceRenderer
from emorepro.synth.media import write_video, write_wav
from emorepro.synth.voice import synthesize_speech

FRAME_S = 0.04
FPS = 25.0
RATERS = ("FM1", "FM2", "FM3", "FF1", "FF2", "FF3")
PARTITIONS = ("train", "dev", "test")
_STREAM = 2016  # stable stream id of this corpus in every rng seed

#: size profiles: recording length, audio rate (real), video size (height, width; reduced
#: below ``full``), recordings per partition (real: 9)
SCALES: dict[str, dict] = {
    "tiny": {"per_partition": 9, "duration_s": 15.0, "sr": 44100, "size": (96, 128)},
    "small": {"per_partition": 9, "duration_s": 60.0, "sr": 44100, "size": (240, 320)},
    "full": {"per_partition": 9, "duration_s": 300.0, "sr": 44100, "size": (720, 1280)},
}


def frame_times(n: int) -> np.ndarray:
    """Annotation times 0, 0.04, ... for ``n`` frames, rounded to 10 µs."""
    return np.round(np.arange(n) * FRAME_S, 5)


def _fmt_time(t: float) -> str:
    return f"{t:.2f}".rstrip("0").rstrip(".") if t else "0"


def write_arff(path: Path, name: str, values: np.ndarray) -> None:
    """AVEC gold-standard ARFF: ``Instance_name, frameTime, GoldStandard`` per 40 ms frame."""
    lines = [
        "@relation GOLDSTANDARD",
        "",
        "@attribute Instance_name string",
        "@attribute frameTime numeric",
        "@attribute GoldStandard numeric",
        "",
        "",
        "@data",
        "",
    ]
    lines += [
        f"{name},{_fmt_time(t)},{v:.6f}"
        for t, v in zip(frame_times(len(values)), values, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def write_ratings_csv(path: Path, raters: np.ndarray) -> None:
    """Per-annotator ratings: ``time;FM1;FM2;FM3;FF1;FF2;FF3`` (``;``-separated, header)."""
    lines = [";".join(("time", *RATERS))]
    for t, row in zip(frame_times(raters.shape[1]), raters.T, strict=True):
        lines.append(";".join([f"{t:.2f}", *(f"{v:.6f}" for v in row)]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def render_recording(
    *,
    speaker: Speaker,
    seed_parts: list[int],
    duration_s: float,
    sr: int,
    size: tuple[int, int],
    audio_path: Path,
    video_path: Path,
    mux_audio: bool,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write one recording's wav and mp4; return ``{dim: (gold, raters)}``.

    The latent has ``n + 1`` frames (times 0..T inclusive, like the real label files); audio
    and video use the first ``n`` = T / 40 ms frames.
    """
    n = round(duration_s / FRAME_S)
    latent = latent_trajectory(n + 1, rng=np.random.default_rng([*seed_parts, 0]))
    latent[:, 0] += speaker.arousal_bias
    latent[:, 1] += speaker.valence_bias
    latent = np.clip(latent, -1.0, 1.0)
    audio = synthesize_speech(
        arousal=latent[:n, 0],
        valence=latent[:n, 1],
        speaker=speaker,
        duration_s=duration_s,
        sr=sr,
        rng=np.random.default_rng([*seed_parts, 1]),
    )
    audio_path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(audio_path, audio, sr)
    renderer = FaceRenderer(speaker, size=size)
    frng = np.random.default_rng([*seed_parts, 2])

    def frames() -> Iterator[np.ndarray]:
        for i in range(n):
            yield renderer.render(arousal=latent[i, 0], valence=latent[i, 1], rng=frng)

    video_path.parent.mkdir(parents=True, exist_ok=True)
    if mux_audio:
        write_video(video_path, frames(), fps=FPS, audio=audio, sr=sr)
    else:
        write_video(video_path, frames(), fps=FPS)
    return {
        dim: annotate(latent[:, k], rng=np.random.default_rng([*seed_parts, 3 + k]))
        for k, dim in enumerate(("arousal", "valence"))
    }


@dataclass(frozen=True)
class TwinFolders:
    """Where a RECOLA twin writes each recording's files (folders relative to the root)."""

    #: ``<name>.wav``
    audio: str
    #: ``<name>.mp4``
    video: str
    #: ``<dim>/<name>.csv``: the six annotators' ratings
    ratings: str
    #: ``<dim>/<name>.arff``: the gold standard (AVEC 2016 package only)
    gold: str | None = None
    #: also mux the audio into the ``.mp4`` (full release)
    mux_audio: bool = False


AVEC_TWIN = TwinFolders(
    audio="recordings_audio", video="recordings_video", ratings="ratings_individual",
    gold="ratings_gold_standard",
)  # fmt: skip


def write_recording(
    root: Path,
    folders: TwinFolders,
    name: str,
    *,
    speaker: Speaker,
    seed_parts: list[int],
    cfg: dict,
) -> None:
    """Render recording ``name`` at the size profile ``cfg`` and write all its files."""
    labels = render_recording(
        speaker=speaker,
        seed_parts=seed_parts,
        duration_s=float(cfg["duration_s"]),
        sr=int(cfg["sr"]),
        size=tuple(cfg["size"]),
        audio_path=root / folders.audio / f"{name}.wav",
        video_path=root / folders.video / f"{name}.mp4",
        mux_audio=folders.mux_audio,
    )
    for dim, (gold, raters) in labels.items():
        if folders.gold is not None:
            write_arff(root / folders.gold / dim / f"{name}.arff", name, gold)
        write_ratings_csv(root / folders.ratings / dim / f"{name}.csv", raters)


def write_recordings(
    root: Path,
    folders: TwinFolders,
    speakers: list[Speaker],
    *,
    stream: list[int],
    cfg: dict,
    threads: int = 1,
) -> None:
    """One recording per speaker, named by its id: recording ``k`` draws from the
    generators seeded ``[*stream, k, ...]`` only, so ``threads`` worker processes write the
    same files as one."""

    def one(k: int) -> None:
        sp = speakers[k]
        write_recording(root, folders, sp.id, speaker=sp, seed_parts=[*stream, k], cfg=cfg)

    for _ in ordered_map(one, range(len(speakers)), threads=threads):
        pass


def generate(root: Path, *, scale: str, seed: int, threads: int = 1) -> None:
    """Write the AVEC 2016 twin under ``root`` (recordings in ``threads`` processes)."""
    cfg = SCALES[scale]
    root = Path(root)
    names = [f"{p}_{i}" for p in PARTITIONS for i in range(1, cfg["per_partition"] + 1)]
    speakers = make_speakers(names, rng=np.random.default_rng([seed, _STREAM, 0]), language="fr")
    write_recordings(root, AVEC_TWIN, speakers, stream=[seed, _STREAM, 1], cfg=cfg, threads=threads)
