"""Drawings that are not digits, made by code, to teach the shipped model an 11th class.

A ten-class model must call every drawing some digit: a dash becomes a confident "2". The
shipped model learns an extra "not a digit" class from these: dashes, dots, scribbles,
crossed-out marks, letters and shapes, in the unit box (y down) like ``../shared/strokes``.

Near-vertical lines are never made (a "1" is one), and no letter that is also a digit shape
(O, l, I, S, Z, B, g, q, b) is used. Round glyphs with something more (a ring with rays, a
dot, a second ring, a tail) teach that not every round drawing is a zero; a plain ring and a
ring with one diagonal (a slashed zero) never appear.
"""

from __future__ import annotations

import math

import numpy as np

from mnist_desk.core.conventions import Strokes, _line
from mnist_desk.core.handwriting import catmull_rom


def _ring(cx: float, cy: float, rx: float, ry: float) -> list[tuple[float, float]]:
    """Control points of a closed ellipse (a round part of a glyph)."""
    angles = np.linspace(-math.pi / 2, 1.5 * math.pi, 9)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# Letters and symbols for training, drawn as control points (unit box, y down). The
# benchmark's non-digit set (benchmarks/stroke_sets.py) uses other letters and symbols.
TRAIN_GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0.1, 1.0), (0.5, 0.0), (0.9, 1.0)], [(0.28, 0.6), (0.72, 0.6)]],
    "E": [[(0.85, 0.0), (0.2, 0.0), (0.2, 1.0), (0.85, 1.0)], [(0.2, 0.5), (0.7, 0.5)]],
    "F": [[(0.85, 0.0), (0.2, 0.0), (0.2, 1.0)], [(0.2, 0.48), (0.7, 0.48)]],
    "H": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.85, 1.0)], [(0.15, 0.5), (0.85, 0.5)]],
    "K": [[(0.2, 0.0), (0.2, 1.0)], [(0.85, 0.0), (0.22, 0.55), (0.85, 1.0)]],
    "M": [[(0.05, 1.0), (0.15, 0.0), (0.5, 0.7), (0.85, 0.0), (0.95, 1.0)]],
    "N": [[(0.15, 1.0), (0.15, 0.0), (0.85, 1.0), (0.85, 0.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.35), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.1, 0.0), (0.9, 1.0)], [(0.9, 0.0), (0.1, 1.0)]],
    "Y": [[(0.1, 0.0), (0.5, 0.5), (0.9, 0.0)], [(0.5, 0.5), (0.5, 1.0)]],
    "+": [[(0.5, 0.05), (0.5, 0.95)], [(0.05, 0.5), (0.95, 0.5)]],
    "#": [
        [(0.35, 0.0), (0.3, 1.0)],
        [(0.7, 0.0), (0.65, 1.0)],
        [(0.05, 0.33), (0.95, 0.33)],
        [(0.05, 0.67), (0.95, 0.67)],
    ],
    "*": [[(0.5, 0.0), (0.5, 1.0)], [(0.08, 0.25), (0.92, 0.75)], [(0.92, 0.25), (0.08, 0.75)]],
    "triangle": [[(0.5, 0.0), (0.0, 0.9), (1.0, 0.9), (0.5, 0.0)]],
    "square": [[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]],
    "arrow": [[(0.0, 0.5), (1.0, 0.5)], [(0.7, 0.2), (1.0, 0.5), (0.7, 0.8)]],
    "check": [[(0.0, 0.55), (0.35, 1.0), (1.0, 0.0)]],
    "h": [[(0.2, 0.0), (0.2, 1.0)], [(0.2, 0.6), (0.5, 0.4), (0.8, 0.6), (0.8, 1.0)]],
    "m": [
        [(0.0, 1.0), (0.0, 0.3), (0.25, 0.2), (0.5, 0.4), (0.5, 1.0)],
        [(0.5, 0.4), (0.75, 0.2), (1.0, 0.4), (1.0, 1.0)],
    ],
    "r": [[(0.3, 1.0), (0.3, 0.2)], [(0.3, 0.45), (0.55, 0.2), (0.85, 0.25)]],
    "G": [[(0.85, 0.2), (0.5, 0.0), (0.15, 0.3), (0.15, 0.7), (0.5, 1.0), (0.85, 0.8),
           (0.85, 0.55), (0.55, 0.55)]],
    "Q": [_ring(0.5, 0.45, 0.42, 0.45), [(0.55, 0.7), (0.95, 1.0)]],
    "sun": [_ring(0.5, 0.5, 0.25, 0.25)]
    + [[(0.5 + 0.33 * math.cos(a), 0.5 + 0.33 * math.sin(a)),
        (0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a))]
       for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)],
    "eye": [[(0.0, 0.5), (0.5, 0.2), (1.0, 0.5), (0.5, 0.8), (0.0, 0.5)], _ring(0.5, 0.5, 0.08, 0.08)],
    "target": [_ring(0.5, 0.5, 0.5, 0.5), _ring(0.5, 0.5, 0.22, 0.22)],
    "dotted-ring": [_ring(0.5, 0.5, 0.5, 0.5), _ring(0.5, 0.5, 0.04, 0.04)],
    "omega": [[(0.05, 1.0), (0.35, 1.0), (0.15, 0.6), (0.2, 0.15), (0.5, 0.0), (0.8, 0.15),
               (0.85, 0.6), (0.65, 1.0), (0.95, 1.0)]],
    "J": [[(0.2, 0.0), (0.9, 0.0)], [(0.6, 0.0), (0.6, 0.8), (0.4, 1.0), (0.15, 0.85)]],
    "t": [[(0.45, 0.0), (0.45, 0.85), (0.6, 1.0), (0.8, 0.9)], [(0.15, 0.3), (0.8, 0.3)]],
    "f": [[(0.8, 0.1), (0.6, 0.0), (0.4, 0.15), (0.4, 1.0)], [(0.15, 0.45), (0.7, 0.45)]],
    "y": [[(0.1, 0.0), (0.5, 0.6)], [(0.9, 0.0), (0.3, 1.0)]],
    "infinity": [[(0.5, 0.5), (0.25, 0.3), (0.0, 0.5), (0.25, 0.7), (0.5, 0.5), (0.75, 0.3),
                  (1.0, 0.5), (0.75, 0.7), (0.5, 0.5)]],
    "cloud": [[(0.1, 0.7), (0.05, 0.45), (0.25, 0.35), (0.35, 0.15), (0.6, 0.15), (0.75, 0.3),
               (0.95, 0.4), (0.95, 0.7), (0.1, 0.7)]],
    "pi": [[(0.05, 0.2), (0.95, 0.2)], [(0.3, 0.2), (0.25, 1.0)], [(0.7, 0.2), (0.75, 1.0)]],
    "sigma": [[(0.85, 0.0), (0.15, 0.0), (0.55, 0.5), (0.15, 1.0), (0.85, 1.0)]],
    "lambda": [[(0.15, 0.0), (0.85, 1.0)], [(0.5, 0.5), (0.15, 1.0)]],
    "n": [[(0.15, 1.0), (0.15, 0.3), (0.5, 0.1), (0.85, 0.3), (0.85, 1.0)]],
}  # fmt: skip

KINDS = ("dash", "dot", "scribble", "crossed-out", "glyph", "zigzag")


def _jittered(points, rng: np.random.Generator, amount: float = 0.04):
    return [(x + rng.normal(0, amount), y + rng.normal(0, amount)) for x, y in points]


def dash(rng: np.random.Generator) -> Strokes:
    """A straight or slightly bowed line, never steep enough to be a one."""
    angle = math.radians(rng.uniform(-35, 35))
    half = 0.5
    dx, dy = math.cos(angle) * half, math.sin(angle) * half
    strokes = [_line((0.5 - dx, 0.5 + dy), (0.5 + dx, 0.5 - dy), rng, wobble=0.005)]
    if rng.random() < 0.25:  # a double dash, like "="
        gap = rng.uniform(0.15, 0.4)
        strokes.append(_line((0.5 - dx, 0.5 + dy + gap), (0.5 + dx, 0.5 - dy + gap), rng))
    return strokes


def dot(rng: np.random.Generator) -> Strokes:
    """A tap or a tiny blob; the app enlarges it to 20 px like any drawing."""
    if rng.random() < 0.4:
        return [[(0.5, 0.5), (0.5 + rng.normal(0, 0.002), 0.5 + rng.normal(0, 0.002))]]
    t = np.linspace(0, 2 * np.pi * rng.uniform(1, 3), 30)
    r = rng.uniform(0.01, 0.03)
    return [list(zip((0.5 + r * np.cos(t)).tolist(), (0.5 + r * np.sin(t)).tolist(), strict=True))]


def scribble(rng: np.random.Generator) -> Strokes:
    """A tangled random walk: a cross-out or a child's scribble."""
    steps = rng.integers(6, 16)
    points = rng.uniform(0.0, 1.0, size=(steps, 2))
    return [catmull_rom([tuple(p) for p in points], per_segment=6).tolist()]


def crossed_out(rng: np.random.Generator) -> Strokes:
    """Hatching: several parallel strokes, sometimes crossed by others (a struck-out mark)."""
    strokes = []
    lines = rng.integers(3, 7)
    angle = math.radians(rng.uniform(20, 70)) * rng.choice([-1, 1])
    for i in range(lines):
        offset = (i / max(lines - 1, 1) - 0.5) * 0.9
        cx, cy = 0.5 + offset * math.sin(angle), 0.5 + offset * math.cos(angle)
        dx, dy = math.cos(angle) * 0.45, -math.sin(angle) * 0.45
        strokes.append(_line((cx - dx, cy - dy), (cx + dx, cy + dy), rng))
    if rng.random() < 0.5:
        strokes.append(_line((0.0, 0.0), (1.0, 1.0), rng))
        strokes.append(_line((1.0, 0.0), (0.0, 1.0), rng))
    return strokes


def zigzag(rng: np.random.Generator) -> Strokes:
    """A zigzag or wave across, as when ink is crossed out in one stroke."""
    teeth = rng.integers(3, 8)
    xs = np.linspace(0, 1, 2 * teeth + 1)
    height = rng.uniform(0.15, 0.8)
    ys = 0.5 + np.where(np.arange(len(xs)) % 2 == 0, -height / 2, height / 2)
    points = list(zip(xs.tolist(), ys.tolist(), strict=True))
    return [catmull_rom(_jittered(points, rng, 0.02), per_segment=4).tolist()]


def glyph(rng: np.random.Generator) -> Strokes:
    name = list(TRAIN_GLYPHS)[rng.integers(len(TRAIN_GLYPHS))]
    return [catmull_rom(_jittered(s, rng, 0.03)).tolist() for s in TRAIN_GLYPHS[name]]


_MAKERS = {
    "dash": dash,
    "dot": dot,
    "scribble": scribble,
    "crossed-out": crossed_out,
    "glyph": glyph,
    "zigzag": zigzag,
}


def non_digit(rng: np.random.Generator, kind: str | None = None) -> tuple[str, Strokes]:
    """One non-digit drawing: (kind, strokes in the unit box)."""
    kind = kind or KINDS[rng.integers(len(KINDS))]
    return kind, _MAKERS[kind](rng)
