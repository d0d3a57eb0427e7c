"""MNIST digits redrawn with the pad's pen: many writers' shapes in the app's own ink.

MNIST's digits were written with felt pens and scanned: strokes swell, thin and blot. The pad
draws every stroke with one round pen. 1,000 of MNIST's own validation digits, thinned to a
skeleton and redrawn with a round pen, are read 97.6% by the leave-writers-out model against
100% as scanned (``training/sweeps/2026-11-26-h200-redrawn-mnist.json``): a gap like the one
between MNIST and new writers' pen digits. Redrawn digits give training the shapes of MNIST's
hundreds of writers in the ink the model will read.

Thinning is Zhang and Suen's two-pass rule (CACM 27(3), 1984), run on a batch at once; the
skeleton's neighbouring pixels become two-point strokes drawn by ``preprocess``.
"""

from __future__ import annotations

import numpy as np
import torch

from mnist_desk.core.preprocess import fit_to_mnist, render_strokes, to_uint8

# the eight neighbours, clockwise from north (Zhang and Suen's P2 … P9), as (dy, dx)
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
# each skeleton pixel links to these neighbours, so every link is drawn once
_FORWARD = ((0, 1), (1, -1), (1, 0), (1, 1))
UPSAMPLE = 4  # thin at 112×112: a 28×28 skeleton is too jagged to redraw
INK_AT = 0.45  # upsampled grey level above which a pixel is ink
CANVAS = 280.0  # the skeleton is placed on a pad-sized canvas before drawing


def thin(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool ink → its one-pixel-wide skeleton, connectivity kept."""
    height, width = masks.shape[1:]
    padded = np.pad(masks.astype(np.uint8), ((0, 0), (1, 1), (1, 1)))
    centre = padded[:, 1 : 1 + height, 1 : 1 + width]  # a view: writes go to ``padded``
    while True:
        changed = False
        for second_pass in (False, True):
            p = [padded[:, 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in _RING]
            neighbours = sum(q.astype(np.int8) for q in p)
            rises = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.int8) for i in range(8))
            if second_pass:
                first, second = p[0] & p[2] & p[6], p[0] & p[4] & p[6]
            else:
                first, second = p[0] & p[2] & p[4], p[2] & p[4] & p[6]
            remove = (
                (centre == 1)
                & (neighbours >= 2)
                & (neighbours <= 6)
                & (rises == 1)
                & (first == 0)
                & (second == 0)
            )
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return centre.astype(bool)


def skeleton_strokes(skeleton: np.ndarray, scale: float) -> list[list[tuple[float, float]]]:
    """Each pair of touching skeleton pixels as a two-point stroke; lone pixels as dots."""
    on = set(zip(*(a.tolist() for a in np.nonzero(skeleton)), strict=True))
    strokes = []
    for y, x in sorted(on):
        links = [(y + dy, x + dx) for dy, dx in _FORWARD if (y + dy, x + dx) in on]
        if not links:
            strokes.append([(x * scale, y * scale)])
        strokes.extend([(x * scale, y * scale), (nx * scale, ny * scale)] for ny, nx in links)
    return strokes


def skeletons(images: np.ndarray, chunk: int = 500) -> np.ndarray:
    """(N, 28, 28) uint8 MNIST digits → (N, 112, 112) bool skeletons."""
    out = []
    for start in range(0, len(images), chunk):
        grey = torch.from_numpy(images[start : start + chunk].astype(np.float32) / 255.0)
        up = torch.nn.functional.interpolate(
            grey[:, None], scale_factor=UPSAMPLE, mode="bilinear", align_corners=False
        )[:, 0].numpy()
        out.append(thin(up > INK_AT))
    return np.concatenate(out) if out else np.zeros((0, 112, 112), bool)


def redraw(
    images: np.ndarray, rng: np.random.Generator, pen: tuple[float, float] = (0.08, 0.18)
) -> tuple[np.ndarray, np.ndarray]:
    """Redraw uint8 MNIST digits with a round pen of a random width (× the drawing's longer
    side, uniform in ``pen``). Returns the uint8 images and which inputs they came from (a
    digit with no ink left is skipped)."""
    scale = CANVAS / (28 * UPSAMPLE)
    drawn, kept = [], []
    for index, skeleton in enumerate(skeletons(images)):
        strokes = skeleton_strokes(skeleton, scale)
        if not strokes:
            continue
        points = np.array([p for stroke in strokes for p in stroke])
        side = max(float(np.ptp(points, axis=0).max()), scale)
        ink = render_strokes(strokes, rng.uniform(*pen) * side)
        image = None if ink is None else fit_to_mnist(ink)
        if image is not None:
            drawn.append(to_uint8(image))
            kept.append(index)
    if not drawn:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack(drawn), np.array(kept, dtype=np.int64)
