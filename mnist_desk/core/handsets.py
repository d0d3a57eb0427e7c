"""Two evaluation sets written by hand as coordinates, never produced by the training code.

* ``convention_set()``: slashed zeros, flagged / based ones, crossed sevens (and open fours),
  seven hand-written shapes each, each placed three ways (size, slant) — 21+ per convention.
* ``non_digit_set()``: 220 drawings that are not digits: letters and symbols that the
  training glyphs (``core/nondigits.py``) do not contain, plus dashes, dots, scribbles and
  crossed-out marks made here with their own simple code and seed.

They measure the shipped model (``benchmarks/strokes.py``) and guard it in the tests. The
control points are smoothed like a moving mouse (``handwriting.catmull_rom``).
"""

from __future__ import annotations

import math

import numpy as np

from mnist_desk.core.handwriting import catmull_rom, default_pen_width, place_strokes

CANVAS = 280.0
P = list[tuple[float, float]]

_OVAL_NARROW: P = [(0.5, 0.0), (0.3, 0.12), (0.22, 0.5), (0.3, 0.88), (0.5, 1.0), (0.7, 0.88),
                   (0.78, 0.5), (0.7, 0.12), (0.5, 0.0)]  # fmt: skip
_OVAL_ROUND: P = [(0.5, 0.02), (0.15, 0.2), (0.05, 0.5), (0.18, 0.85), (0.5, 0.98), (0.82, 0.85),
                  (0.95, 0.5), (0.82, 0.18), (0.52, 0.02)]  # fmt: skip
_OVAL_FROM_BOTTOM: P = [(0.5, 1.0), (0.25, 0.85), (0.2, 0.45), (0.35, 0.08), (0.55, 0.0),
                        (0.75, 0.15), (0.78, 0.55), (0.68, 0.9), (0.48, 0.98)]  # fmt: skip

CONVENTION_SHAPES: dict[str, list[list[P]]] = {
    "slashed-zero": [
        [_OVAL_NARROW, [(0.12, 0.95), (0.88, 0.05)]],
        [_OVAL_NARROW, [(0.3, 0.8), (0.7, 0.2)]],
        [_OVAL_ROUND, [(0.05, 1.0), (0.95, 0.0)]],
        [_OVAL_ROUND, [(0.9, 0.02), (0.1, 0.98)]],
        [_OVAL_FROM_BOTTOM, [(0.2, 0.9), (0.8, 0.1)]],
        [_OVAL_NARROW, [(0.4, 1.05), (0.6, -0.05)]],
        [_OVAL_FROM_BOTTOM + [(0.4, 0.9), (0.62, 0.5), (0.85, -0.02)]],  # slash in one go
    ],
    "flagged-one": [
        [[(0.25, 0.3), (0.6, 0.0), (0.6, 1.0)]],
        [[(0.15, 0.45), (0.4, 0.2), (0.62, 0.0), (0.6, 0.5), (0.58, 1.0)]],
        [[(0.3, 0.22), (0.55, 0.0)], [(0.55, 0.0), (0.55, 1.0)]],
        [[(0.1, 0.4), (0.65, 0.0), (0.63, 1.0)]],
        [[(0.35, 0.25), (0.5, 0.1), (0.6, 0.0), (0.57, 0.55), (0.55, 1.0)]],
        [[(0.2, 0.32), (0.42, 0.15), (0.62, 0.0), (0.62, 1.0)]],
        [[(0.28, 0.35), (0.56, 0.0), (0.5, 1.0)]],
    ],
    "based-one": [
        [[(0.25, 0.3), (0.6, 0.0), (0.6, 1.0)], [(0.3, 1.0), (0.9, 1.0)]],
        [[(0.15, 0.4), (0.55, 0.0), (0.55, 0.98)], [(0.2, 0.98), (0.9, 0.98)]],
        [[(0.3, 0.22), (0.55, 0.0), (0.55, 1.0)], [(0.35, 1.0), (0.75, 1.0)]],
        [[(0.2, 0.35), (0.6, 0.0), (0.6, 0.97), (0.3, 0.97), (0.9, 0.98)]],
        [[(0.35, 0.2), (0.58, 0.0), (0.56, 0.95)], [(0.25, 0.96), (0.85, 0.94)]],
        [[(0.1, 0.45), (0.62, 0.0), (0.6, 1.0)], [(0.35, 1.0), (0.85, 1.0)]],
        [[(0.25, 0.3), (0.5, 0.08), (0.58, 0.0), (0.57, 1.0)], [(0.4, 1.0), (0.75, 1.0)]],
    ],
    "crossed-seven": [
        [[(0.1, 0.05), (0.9, 0.05), (0.45, 1.0)], [(0.4, 0.5), (0.9, 0.5)]],
        [[(0.1, 0.0), (0.9, 0.0), (0.5, 1.0)], [(0.5, 0.45), (0.95, 0.45)]],
        [[(0.1, 0.15), (0.12, 0.02), (0.9, 0.02), (0.4, 1.0)], [(0.35, 0.55), (0.85, 0.52)]],
        [[(0.15, 0.05), (0.85, 0.0), (0.7, 0.35), (0.5, 1.0)], [(0.45, 0.5), (0.95, 0.5)]],
        [[(0.05, 0.0), (0.95, 0.0), (0.6, 0.5), (0.45, 1.0)], [(0.38, 0.52), (0.82, 0.5)]],
        [[(0.1, 0.02), (0.9, 0.02), (0.45, 1.0)], [(0.5, 0.58), (0.82, 0.56)]],
        [[(0.2, 0.05), (0.9, 0.08), (0.35, 1.0)], [(0.3, 0.5), (0.9, 0.5)]],
    ],
    "open-four": [
        [[(0.25, 0.0), (0.12, 0.62), (0.9, 0.62)], [(0.65, 0.05), (0.65, 1.0)]],
        [[(0.3, 0.0), (0.15, 0.55), (0.85, 0.58)], [(0.7, 0.0), (0.68, 1.0)]],
        [[(0.2, 0.05), (0.1, 0.65), (0.95, 0.65)], [(0.6, 0.15), (0.6, 1.0)]],
        [[(0.35, 0.0), (0.15, 0.6), (0.8, 0.6)], [(0.7, 0.1), (0.72, 1.0)]],
        [[(0.2, 0.0), (0.18, 0.6), (0.9, 0.55)], [(0.62, 0.0), (0.6, 1.0)]],
        [[(0.28, 0.05), (0.05, 0.6), (0.95, 0.62)], [(0.68, 0.2), (0.66, 1.0)]],
        [[(0.25, 0.02), (0.12, 0.58), (0.9, 0.6)], [(0.55, 0.0), (0.62, 1.0)]],
    ],
}

# Letters and symbols that the training glyphs do not contain.
HELD_OUT_GLYPHS: dict[str, list[P]] = {
    "T": [[(0.05, 0.0), (0.95, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "L": [[(0.2, 0.0), (0.2, 1.0), (0.85, 1.0)]],
    "V": [[(0.05, 0.0), (0.5, 1.0), (0.95, 0.0)]],
    "C": [[(0.85, 0.15), (0.5, 0.0), (0.15, 0.3), (0.15, 0.7), (0.5, 1.0), (0.85, 0.85)]],
    "D": [[(0.2, 0.0), (0.2, 1.0)], [(0.2, 0.0), (0.7, 0.1), (0.9, 0.5), (0.7, 0.9), (0.2, 1.0)]],
    "P": [[(0.2, 1.0), (0.2, 0.0), (0.7, 0.05), (0.8, 0.28), (0.65, 0.5), (0.2, 0.5)]],
    "R": [[(0.2, 1.0), (0.2, 0.0), (0.7, 0.05), (0.8, 0.28), (0.6, 0.5), (0.2, 0.5)],
          [(0.45, 0.5), (0.85, 1.0)]],  # fmt: skip
    "k": [[(0.2, 0.0), (0.2, 1.0)], [(0.75, 0.35), (0.25, 0.7), (0.8, 1.0)]],
    "e": [[(0.15, 0.6), (0.85, 0.55), (0.7, 0.25), (0.4, 0.25), (0.15, 0.6), (0.4, 0.95),
           (0.85, 0.85)]],  # fmt: skip
    "x": [[(0.15, 0.3), (0.85, 1.0)], [(0.85, 0.3), (0.15, 1.0)]],
    "=": [[(0.05, 0.35), (0.95, 0.35)], [(0.05, 0.65), (0.95, 0.65)]],
    "%": [[(0.85, 0.0), (0.15, 1.0)], [(0.2, 0.05), (0.05, 0.2), (0.2, 0.35), (0.35, 0.2),
           (0.2, 0.05)], [(0.8, 0.65), (0.65, 0.8), (0.8, 0.95), (0.95, 0.8), (0.8, 0.65)]],
    "heart": [[(0.5, 1.0), (0.05, 0.45), (0.15, 0.1), (0.5, 0.3), (0.85, 0.1), (0.95, 0.45),
               (0.5, 1.0)]],  # fmt: skip
    "spiral": [[(0.5, 0.5), (0.6, 0.45), (0.6, 0.6), (0.4, 0.65), (0.3, 0.45), (0.45, 0.25),
                (0.75, 0.3), (0.85, 0.6), (0.6, 0.9), (0.2, 0.85), (0.05, 0.5)]],  # fmt: skip
    "smiley": [[(0.5, 0.0), (0.1, 0.2), (0.0, 0.6), (0.3, 0.95), (0.7, 0.95), (1.0, 0.6),
                (0.9, 0.2), (0.5, 0.0)], [(0.3, 0.35), (0.32, 0.4)], [(0.7, 0.35), (0.72, 0.4)],
               [(0.25, 0.65), (0.5, 0.8), (0.75, 0.65)]],  # fmt: skip
    "wave": [[(0.0, 0.5), (0.15, 0.3), (0.35, 0.7), (0.55, 0.3), (0.75, 0.7), (0.95, 0.35)]],
    "star": [[(0.2, 1.0), (0.5, 0.0), (0.8, 1.0), (0.0, 0.35), (1.0, 0.35), (0.2, 1.0)]],
    "circled-plus": [[(0.5, 0.0), (0.1, 0.2), (0.0, 0.6), (0.3, 0.95), (0.7, 0.95), (1.0, 0.6),
                      (0.9, 0.2), (0.5, 0.0)], [(0.5, 0.1), (0.5, 0.9)], [(0.1, 0.5), (0.9, 0.5)]],
    "lightning": [[(0.6, 0.0), (0.25, 0.55), (0.7, 0.45), (0.35, 1.0)]],
    "u": [[(0.15, 0.2), (0.2, 0.8), (0.5, 1.0), (0.8, 0.8), (0.85, 0.2)]],
}  # fmt: skip

_PLACEMENTS = ((0.7, 0.0, 1.0), (0.45, 0.2, 0.8), (0.85, -0.15, 1.3))  # size, shear, pen


def _place(control: list[P], size: float, shear: float, pen: float, offset=(0.0, 0.0)):
    unit = [catmull_rom(stroke).tolist() for stroke in control]
    strokes = place_strokes(unit, CANVAS, (size, size), offset, shear)
    return strokes, default_pen_width(CANVAS) * pen


def convention_set() -> list[tuple[str, int, list, float]]:
    """(convention, digit, strokes in pad pixels, pen width) — 21 per convention."""
    digit_of = {
        "slashed-zero": 0,
        "flagged-one": 1,
        "based-one": 1,
        "crossed-seven": 7,
        "open-four": 4,
    }
    out = []
    for name, shapes in CONVENTION_SHAPES.items():
        for shape in shapes:
            for size, shear, pen in _PLACEMENTS:
                strokes, width = _place(shape, size, shear, pen)
                out.append((name, digit_of[name], strokes, width))
    return out


def _dashes(rng) -> list[P]:
    angle = math.radians(rng.uniform(-30, 30))
    length = rng.uniform(0.3, 1.0)
    dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
    return [[(0.5 - dx, 0.5 + dy), (0.5 + dx, 0.5 - dy)]]


def _dot(rng) -> list[P]:
    x, y = rng.uniform(0.3, 0.7, size=2)
    return [[(x, y), (x + 0.01, y + 0.005), (x, y + 0.01)]]


def _scribble(rng) -> list[P]:
    return [[tuple(p) for p in rng.uniform(0, 1, size=(int(rng.integers(8, 14)), 2))]]


def _struck(rng) -> list[P]:
    """A word-sized blob of ink struck through with two or three lines."""
    blob = [tuple(p) for p in rng.uniform(0.05, 0.95, size=(int(rng.integers(6, 10)), 2))]
    marks = [[(0.0, rng.uniform(0.2, 0.8)), (1.0, rng.uniform(0.2, 0.8))] for _ in range(2)]
    if rng.random() < 0.5:
        marks.append([(0.0, 0.0), (1.0, 1.0)])
    return [blob, *marks]


def non_digit_set(seed: int = 20261125) -> list[tuple[str, list, float]]:
    """(kind, strokes in pad pixels, pen width) — 220 drawings that are not digits."""
    rng = np.random.default_rng(seed)
    out = []
    for name, glyph in HELD_OUT_GLYPHS.items():
        for size, shear, pen in _PLACEMENTS + ((0.6, 0.1, 0.7), (0.35, -0.1, 1.1)):
            strokes, width = _place(glyph, size, shear, pen)
            out.append((f"letter/symbol {name}", strokes, width))
    for kind, make, count in (
        ("dash", _dashes, 35),
        ("dot", _dot, 15),
        ("scribble", _scribble, 35),
        ("crossed-out", _struck, 35),
    ):
        for _ in range(count):
            size, shear, pen = _PLACEMENTS[int(rng.integers(len(_PLACEMENTS)))]
            strokes, width = _place(make(rng), size, shear, pen * rng.uniform(0.7, 1.3))
            out.append((kind, strokes, width))
    return out


def read_sets(predictor) -> tuple[dict[str, list[bool]], dict[str, list[bool]]]:
    """Read both sets with a ``Predictor``: per convention, was each drawing read right; per
    non-digit kind, was each drawing called a digit with confidence (≥ ``NOT_SURE_BELOW``)."""
    from collections import defaultdict

    from mnist_desk.core.predict import NOT_SURE_BELOW
    from mnist_desk.core.preprocess import strokes_to_mnist

    items = convention_set()
    probs = predictor.all_probabilities(np.stack([strokes_to_mnist(s, w) for *_, s, w in items]))
    conventions = defaultdict(list)
    for (name, digit, _, _), p in zip(items, probs, strict=True):
        conventions[name].append(int(p.argmax()) == digit)
    others = non_digit_set()
    probs = predictor.all_probabilities(np.stack([strokes_to_mnist(s, w) for _, s, w in others]))
    confident = defaultdict(list)
    for (kind, _, _), p in zip(others, probs, strict=True):
        confident[kind.split(" ")[0]].append(bool(p[:10].max() >= NOT_SURE_BELOW))
    return dict(conventions), dict(confident)
