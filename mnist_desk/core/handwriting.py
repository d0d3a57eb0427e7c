"""Digits we wrote ourselves as stroke lists, in several styles.

They feed the GUI tests (real mouse events), the stroke benchmark and the README's
per-digit table. Control points live in a unit box (y down) and are smoothed with a
Catmull-Rom spline into the dense point lists a mouse produces.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Control points per digit: a list of strokes, each a list of (x, y) in the unit box.
CONTROL_POINTS: dict[int, list[list[tuple[float, float]]]] = {
    0: [
        [
            (0.5, 0.04),
            (0.25, 0.15),
            (0.16, 0.5),
            (0.27, 0.86),
            (0.5, 0.96),
            (0.74, 0.85),
            (0.84, 0.5),
            (0.74, 0.14),
            (0.5, 0.04),
            (0.42, 0.07),
        ]
    ],
    1: [[(0.38, 0.2), (0.56, 0.04), (0.54, 0.5), (0.52, 0.96)]],
    2: [
        [
            (0.2, 0.26),
            (0.35, 0.08),
            (0.6, 0.05),
            (0.78, 0.22),
            (0.7, 0.45),
            (0.4, 0.72),
            (0.18, 0.94),
            (0.5, 0.93),
            (0.84, 0.94),
        ]
    ],
    3: [
        [
            (0.2, 0.15),
            (0.5, 0.04),
            (0.78, 0.17),
            (0.74, 0.38),
            (0.45, 0.5),
            (0.78, 0.62),
            (0.8, 0.82),
            (0.5, 0.96),
            (0.18, 0.86),
        ]
    ],
    4: [
        [(0.62, 0.04), (0.38, 0.35), (0.14, 0.66), (0.5, 0.66), (0.88, 0.66)],
        [(0.64, 0.34), (0.64, 0.65), (0.64, 0.96)],
    ],
    5: [
        [
            (0.28, 0.06),
            (0.24, 0.25),
            (0.21, 0.46),
            (0.5, 0.4),
            (0.78, 0.55),
            (0.8, 0.8),
            (0.52, 0.96),
            (0.2, 0.88),
        ],
        [(0.28, 0.06), (0.55, 0.06), (0.82, 0.05)],
    ],
    6: [
        [
            (0.72, 0.05),
            (0.42, 0.22),
            (0.22, 0.58),
            (0.3, 0.88),
            (0.55, 0.96),
            (0.78, 0.8),
            (0.72, 0.56),
            (0.45, 0.5),
            (0.24, 0.66),
        ]
    ],
    7: [[(0.14, 0.08), (0.5, 0.08), (0.86, 0.07), (0.6, 0.5), (0.42, 0.96)]],
    8: [
        [
            (0.74, 0.16),
            (0.5, 0.04),
            (0.26, 0.17),
            (0.34, 0.38),
            (0.66, 0.58),
            (0.76, 0.8),
            (0.5, 0.96),
            (0.24, 0.8),
            (0.34, 0.58),
            (0.66, 0.38),
            (0.74, 0.16),
        ]
    ],
    9: [
        [
            (0.76, 0.3),
            (0.5, 0.46),
            (0.26, 0.3),
            (0.4, 0.07),
            (0.7, 0.1),
            (0.76, 0.3),
            (0.7, 0.6),
            (0.62, 0.96),
        ]
    ],
}

# style name → (shear, scale x, scale y, offset x, offset y, pen factor), offsets in canvas units
STYLES: dict[str, tuple[float, float, float, float, float, float]] = {
    "plain": (0.0, 0.55, 0.7, 0.0, 0.0, 1.0),
    "slanted": (-0.3, 0.55, 0.7, 0.0, 0.0, 1.0),
    "small": (0.0, 0.22, 0.28, 0.0, 0.0, 0.6),
    "off-centre": (0.0, 0.4, 0.5, 0.22, -0.2, 1.0),
    "thick": (0.0, 0.55, 0.7, 0.0, 0.0, 1.8),
    "thin": (0.0, 0.55, 0.7, 0.0, 0.0, 0.45),
    "wide": (0.0, 0.75, 0.6, 0.0, 0.0, 1.0),
}

Strokes = list[list[tuple[float, float]]]


def catmull_rom(points: Sequence[tuple[float, float]], per_segment: int = 8) -> np.ndarray:
    """Dense, smooth points through ``points`` (what a moving mouse reports)."""
    p = np.asarray(points, dtype=np.float64)
    if len(p) < 3:
        t = np.linspace(0, 1, per_segment * max(len(p) - 1, 1) + 1)[:, None]
        return p[0] + (p[-1] - p[0]) * t if len(p) > 1 else p
    padded = np.vstack([p[0], p, p[-1]])
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for t in np.linspace(0, 1, per_segment, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                0.5
                * (
                    2 * p1
                    + (p2 - p0) * t
                    + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                    + (3 * p1 - p0 - 3 * p2 + p3) * t3
                )
            )
    out.append(p[-1])
    return np.asarray(out)


def place_strokes(
    unit_strokes: Sequence[Sequence[Sequence[float]]],
    canvas: float,
    scale: tuple[float, float],
    offset: tuple[float, float] = (0.0, 0.0),
    shear: float = 0.0,
) -> Strokes:
    """Map unit-box strokes onto a ``canvas``-pixel square, centred, then offset and sheared."""
    sx, sy = scale
    ox, oy = offset
    placed = []
    for stroke in unit_strokes:
        pts = []
        for x, y in stroke:
            u, v = x - 0.5, y - 0.5
            u = u + shear * v
            pts.append((canvas * (0.5 + ox + sx * u), canvas * (0.5 + oy + sy * v)))
        placed.append(pts)
    return placed


def default_pen_width(canvas: float) -> float:
    """The pen the app starts with: about MNIST's stroke width for a digit filling the pad."""
    return canvas / 16


def our_digit(digit: int, style: str = "plain", canvas: float = 280.0) -> tuple[Strokes, float]:
    """(strokes in canvas pixels, pen width) for one of our digits in one style."""
    shear, sx, sy, ox, oy, pen = STYLES[style]
    unit = [catmull_rom(s).tolist() for s in CONTROL_POINTS[digit]]
    return place_strokes(unit, canvas, (sx, sy), (ox, oy), shear), default_pen_width(canvas) * pen
