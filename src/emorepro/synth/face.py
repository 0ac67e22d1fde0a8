"""Expressive face renderer: a real face photo warped by arousal and valence.

The base is the face in :func:`skimage.data.astronaut` (detectable by stock face detectors).
Expressions are a smooth backward displacement field (``cv2.remap``), linear in the affect:

    map(x) = x + id(x) - a * A(x) - v * V(x) - jitter,
    A, V = sum_i d_i * exp(-|x - p_i|^2 / (2 sigma_i^2))   (Gaussian RBF bumps)

with control points p_i at mouth corners, cheeks, brows and eyelids (in units of the face box
side s). Valence moves the mouth corners up/out (smile) or down (frown) and the inner brows
(strong); arousal opens the eyes, raises the brows and scales the head by 1 + 0.04 a (weak).
Speaker identity (tint, face size and position, identity field id(x), background) comes from
``speaker.seed``.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import skimage.data

from emorepro.synth.affect import Speaker

#: Haar face box of the astronaut image (x, y, side) in source pixels.
_SRC_BOX = (177.0, 66.0, 95.0)
#: Patch margins around the face box, in units of the side s: left/right, top, bottom.
_MARGIN_X, _MARGIN_TOP, _MARGIN_BOTTOM = 0.45, 0.5, 0.45

# (u, v, du, dv, sigma) in face-box units: content displacement per unit of affect.
_VALENCE_BUMPS = (
    (0.305, 0.83, -0.02, -0.085, 0.07),  # left mouth corner up/out
    (0.66, 0.83, 0.02, -0.085, 0.07),  # right mouth corner
    (0.48, 0.80, 0.0, -0.01, 0.06),  # upper lip
    (0.25, 0.70, 0.0, -0.03, 0.10),  # cheeks
    (0.72, 0.70, 0.0, -0.03, 0.10),
    (0.38, 0.23, -0.02, -0.04, 0.06),  # inner brows: down/in for negative valence
    (0.62, 0.23, 0.02, -0.04, 0.06),
)
_AROUSAL_BUMPS = (
    (0.26, 0.30, 0.0, -0.025, 0.05),  # upper eyelids
    (0.74, 0.32, 0.0, -0.025, 0.05),
    (0.26, 0.42, 0.0, 0.012, 0.04),  # lower eyelids
    (0.74, 0.44, 0.0, 0.012, 0.04),
    (0.20, 0.23, 0.0, -0.025, 0.07),  # brows
    (0.38, 0.22, 0.0, -0.025, 0.07),
    (0.62, 0.22, 0.0, -0.025, 0.07),
    (0.80, 0.23, 0.0, -0.025, 0.07),
)
_AROUSAL_ZOOM = 0.04


@cache
def _astronaut() -> np.ndarray:
    """The astronaut photo, reflect-padded by 64 px so patches never leave the image."""
    return cv2.copyMakeBorder(skimage.data.astronaut(), 64, 64, 64, 64, cv2.BORDER_REFLECT)


def _bump_field(
    bumps: tuple[tuple[float, float, float, float, float], ...],
    gx: np.ndarray,
    gy: np.ndarray,
    side: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of Gaussian RBF displacements (pixels) on face-box coordinates gx, gy (units of s)."""
    dx = np.zeros_like(gx)
    dy = np.zeros_like(gy)
    for u, v, du, dv, sigma in bumps:
        w = np.exp(-((gx - u) ** 2 + (gy - v) ** 2) / (2.0 * sigma**2))
        dx += du * side * w
        dy += dv * side * w
    return dx, dy


class FaceRenderer:
    """Render one speaker's face at a fixed frame size for any (arousal, valence)."""

    def __init__(self, speaker: Speaker, *, size: tuple[int, int]) -> None:
        height, width = size
        if height < 96 or width < 96:
            raise ValueError(f"frame size must be at least 96x96, got {height}x{width}")
        self.speaker, self.size = speaker, (int(height), int(width))
        rng = np.random.default_rng(speaker.seed)
        side = float(rng.uniform(0.36, 0.46)) * min(height, width)  # portrait frames too
        pw = round(side * (1.0 + 2 * _MARGIN_X))
        ph = round(side * (1.0 + _MARGIN_TOP + _MARGIN_BOTTOM))
        cx = width / 2 + rng.uniform(-0.12, 0.12) * width
        cy = height / 2 + rng.uniform(-0.05, 0.05) * height
        self._x0 = int(np.clip(round(cx - pw / 2), 0, width - pw))
        self._y0 = int(np.clip(round(cy - ph / 2), 0, height - ph))
        self._side = side
        self._box = (
            self._x0 + round(_MARGIN_X * side),
            self._y0 + round(_MARGIN_TOP * side),
            round(side),
            round(side),
        )
        self._patch = self._base_patch(rng, pw, ph)
        self._build_fields(rng, pw, ph)
        self._alpha = self._ellipse_alpha(pw, ph)
        self._background = self._make_background(rng)
        roi = self._background[self._y0 : self._y0 + ph, self._x0 : self._x0 + pw]
        self._bg_part = roi.astype(np.float32) * (1.0 - self._alpha)
        self._noise: list[np.ndarray] = []

    def face_box(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the face (detector-style box) in frame pixels, without jitter."""
        return self._box

    def _base_patch(self, rng: np.random.Generator, pw: int, ph: int) -> np.ndarray:
        """Source crop around the face resized to (ph, pw), with the speaker's skin tint."""
        sx, sy, sside = _SRC_BOX
        x0 = sx - _MARGIN_X * sside + 64
        y0 = sy - _MARGIN_TOP * sside + 64
        x1 = x0 + sside * (1.0 + 2 * _MARGIN_X)
        y1 = y0 + sside * (1.0 + _MARGIN_TOP + _MARGIN_BOTTOM)
        crop = _astronaut()[round(y0) : round(y1), round(x0) : round(x1)]
        interp = cv2.INTER_AREA if pw < crop.shape[1] else cv2.INTER_CUBIC
        patch = cv2.resize(crop, (pw, ph), interpolation=interp).astype(np.float32)
        tint = rng.uniform(0.85, 1.1) * (1.0 + rng.normal(0.0, 0.07, size=3))
        return np.clip(patch * tint.astype(np.float32), 0, 255).astype(np.uint8)

    def _build_fields(self, rng: np.random.Generator, pw: int, ph: int) -> None:
        """Identity grid and per-unit arousal/valence backward maps (float32, patch pixels)."""
        side = self._side
        px, py = np.meshgrid(np.arange(pw, dtype=np.float32), np.arange(ph, dtype=np.float32))
        gx = (px - _MARGIN_X * side) / side
        gy = (py - _MARGIN_TOP * side) / side
        ident = tuple(
            (u, v, float(rng.normal(0, 0.012)), float(rng.normal(0, 0.012)), 0.12)
            for u, v in ((0.28, 0.35), (0.72, 0.37), (0.5, 0.6), (0.48, 0.85), (0.5, 1.05))
        )
        ix, iy = _bump_field(ident, gx, gy, side)
        self._gx, self._gy = px - ix, py - iy
        vx, vy = _bump_field(_VALENCE_BUMPS, gx, gy, side)
        ax, ay = _bump_field(_AROUSAL_BUMPS, gx, gy, side)
        cxp, cyp = (_MARGIN_X + 0.5) * side, (_MARGIN_TOP + 0.55) * side
        ax += _AROUSAL_ZOOM * (px - cxp)
        ay += _AROUSAL_ZOOM * (py - cyp)
        self._vx, self._vy, self._ax, self._ay = vx, vy, ax, ay

    def _ellipse_alpha(self, pw: int, ph: int) -> np.ndarray:
        """Feathered elliptical matte (ph, pw, 1) around the head."""
        mask = np.zeros((ph, pw), np.float32)
        centre = (round(pw / 2), round(ph / 2))
        axes = (round(pw / 2 * 0.92), round(ph / 2 * 0.95))
        cv2.ellipse(mask, centre, axes, 0.0, 0.0, 360.0, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(1.0, 0.05 * self._side))
        return mask[:, :, None]

    def _make_background(self, rng: np.random.Generator) -> np.ndarray:
        """Plain muted colour with a vertical gradient and fixed low-amplitude texture."""
        height, width = self.size
        colour = rng.uniform(70, 190, size=3).astype(np.float32)
        ramp = np.linspace(-12, 12, height, dtype=np.float32)[:, None, None]
        texture = rng.normal(0.0, 3.0, size=(height, width, 1)).astype(np.float32)
        return np.clip(colour + ramp + texture, 0, 255).astype(np.uint8)

    def _sensor_noise(self, rng: np.random.Generator) -> np.ndarray:
        """One of four cached int16 noise frames (sd ~2 grey levels)."""
        if not self._noise:
            nrng = np.random.default_rng(self.speaker.seed + 1)
            self._noise = [
                np.round(nrng.normal(0.0, 2.0, size=(*self.size, 3))).astype(np.int16)
                for _ in range(4)
            ]
        return self._noise[int(rng.integers(0, len(self._noise)))]

    def render(
        self, *, arousal: float, valence: float, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """uint8 RGB frame (H, W, 3) showing the face at (arousal, valence) in [-1, 1]."""
        a = float(np.clip(arousal, -1.0, 1.0))
        v = float(np.clip(valence, -1.0, 1.0))
        jx = jy = 0.0
        if rng is not None:
            jx, jy = rng.normal(0.0, 0.01 * self._side, size=2)
        map_x = self._gx - a * self._ax - v * self._vx - np.float32(jx)
        map_y = self._gy - a * self._ay - v * self._vy - np.float32(jy)
        warped = cv2.remap(
            self._patch, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        frame = self._background.copy()
        ph, pw = warped.shape[:2]
        blended = warped.astype(np.float32) * self._alpha + self._bg_part
        frame[self._y0 : self._y0 + ph, self._x0 : self._x0 + pw] = blended.astype(np.uint8)
        if rng is not None:
            frame = cv2.add(frame, self._sensor_noise(rng), dtype=cv2.CV_8U)
        return frame
