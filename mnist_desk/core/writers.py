"""Writer variety for stroke data: the ways new writers differ from the five we may train on.

We have real pen digits from only five writers, and the app meets hundreds. What varies most
between writers, besides size and slant (which the renderer already varies), is the shape
itself: a gently bent stem or bowl, pieces of a two-stroke digit placed a little apart, a
hook where the pen enters or leaves (a one with a foot, a nine whose tail curls), and a small
loop where others turn a sharp corner (a looped two). ``vary_writer`` applies a random mix
of these to a digit's strokes; each is a generic pen habit, never one particular digit's
shape, so it adds variety without inventing new digits.

Strokes are lists of (x, y) in a unit box, y pointing down (as in ``../shared/strokes``).
Every function takes a ``numpy.random.Generator`` and returns new strokes; inputs are untouched.
"""

from __future__ import annotations

import math

import numpy as np

Strokes = list[list[tuple[float, float]]]


def _arrays(strokes) -> list[np.ndarray]:
    return [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]


def _lists(arrays: list[np.ndarray]) -> Strokes:
    return [[(float(x), float(y)) for x, y in a] for a in arrays]


def _size(arrays: list[np.ndarray]) -> float:
    points = np.concatenate(arrays)
    return float(max(np.ptp(points[:, 0]), np.ptp(points[:, 1]), 1e-3))


def warp(strokes, rng: np.random.Generator, strength: float = 0.04) -> Strokes:
    """Bend the whole digit with a smooth random field and a small rotation.

    A sum of two low-frequency waves per axis moves nearby points together, so lines bend
    and bowls squash rather than jitter; ``strength`` is the typical shift in box units.
    """
    arrays = _arrays(strokes)
    if not arrays:
        return []
    points = np.concatenate(arrays)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    size = _size(arrays)
    angle = math.radians(rng.uniform(-10, 10))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    waves = []
    for _ in range(2):
        frequency = rng.uniform(0.5, 1.5, size=2) * rng.choice([-1, 1], size=2) * 2 * math.pi
        waves.append((frequency / size, rng.uniform(0, 2 * math.pi), rng.normal(0, 1, 2)))
    out = []
    for a in arrays:
        moved = (a - centre) @ rotation.T + centre
        for frequency, phase, amplitude in waves:
            wave = np.sin((a - centre) @ frequency + phase)[:, None]
            moved = moved + wave * amplitude * strength * size / math.sqrt(len(waves))
        out.append(moved)
    return _lists(out)


def shift_pieces(strokes, rng: np.random.Generator, spread: float = 0.04) -> Strokes:
    """Place every stroke after the first a little off (a 5's bar, a 4's stem, a 7's bar)."""
    arrays = _arrays(strokes)
    if len(arrays) < 2:
        return _lists(arrays)
    size = _size(arrays)
    return _lists([arrays[0]] + [a + rng.normal(0, spread * size, 2) for a in arrays[1:]])


def _direction(a: np.ndarray, at_end: bool) -> np.ndarray | None:
    """Unit direction the pen moves in at one end of a stroke (over its last ~10% of length)."""
    seq = a if at_end else a[::-1]
    steps = np.linalg.norm(np.diff(seq, axis=0), axis=1)
    total = steps.sum()
    if total <= 1e-6:
        return None
    back = np.cumsum(steps[::-1])
    k = int(np.searchsorted(back, 0.1 * total)) + 1
    d = seq[-1] - seq[max(len(seq) - 1 - k, 0)]
    norm = np.linalg.norm(d)
    return None if norm <= 1e-9 else d / norm


def _arc(start: np.ndarray, heading: np.ndarray, length: float, turn: float, n: int = 12):
    """Points of a constant-curvature arc: ``length`` long, turning ``turn`` radians in all."""
    points, position = [], start.copy()
    angle = math.atan2(heading[1], heading[0])
    step = length / n
    for _ in range(n):
        angle += turn / n
        position = position + step * np.array([math.cos(angle), math.sin(angle)])
        points.append(position)
    return np.array(points)


def hook(strokes, rng: np.random.Generator, at_end: bool = True) -> Strokes:
    """A curl where the pen leaves (or enters) the longest stroke, turning either way."""
    arrays = _arrays(strokes)
    if not arrays:
        return []
    index = max(range(len(arrays)), key=lambda i: len(arrays[i]))
    a = arrays[index]
    heading = _direction(a, at_end)
    if heading is None:
        return _lists(arrays)
    size = _size(arrays)
    length = size * rng.uniform(0.08, 0.25)
    turn = math.radians(rng.uniform(60, 200)) * rng.choice([-1, 1])
    if at_end:
        arrays[index] = np.vstack([a, _arc(a[-1], heading, length, turn)])
    else:  # drawn backwards from the start, then put in writing order
        arrays[index] = np.vstack([_arc(a[0], heading, length, turn)[::-1], a])
    return _lists(arrays)


def corner_loop(strokes, rng: np.random.Generator) -> Strokes:
    """A small loop at the sharpest corner of a stroke, where a cursive writer does not stop."""
    arrays = _arrays(strokes)
    best = None  # (turn, stroke index, point index)
    for i, a in enumerate(arrays):
        if len(a) < 5:
            continue
        for j in range(2, len(a) - 2):
            d_in, d_out = a[j] - a[j - 2], a[j + 2] - a[j]
            n_in, n_out = np.linalg.norm(d_in), np.linalg.norm(d_out)
            if n_in < 1e-6 or n_out < 1e-6:
                continue
            turn = math.acos(float(np.clip(d_in @ d_out / (n_in * n_out), -1, 1)))
            if best is None or turn > best[0]:
                best = (turn, i, j)
    if best is None or best[0] < math.radians(70):
        return _lists(arrays)
    _, i, j = best
    a = arrays[i]
    d_in, d_out = a[j] - a[j - 2], a[j + 2] - a[j]
    side = 1.0 if d_in[0] * d_out[1] - d_in[1] * d_out[0] > 0 else -1.0  # the way it turns
    heading = d_in / np.linalg.norm(d_in)
    circumference = 2 * math.pi * _size(arrays) * rng.uniform(0.04, 0.09)
    loop = _arc(a[j], heading, circumference, side * 2 * math.pi, n=16)
    arrays[i] = np.vstack([a[: j + 1], loop, a[j + 1 :]])
    return _lists(arrays)


def vary_writer(strokes, rng: np.random.Generator) -> Strokes:
    """A random mix of the habits above: always a bend, often a shifted piece, sometimes
    a hook or a corner loop."""
    varied = warp(strokes, rng, strength=rng.uniform(0.01, 0.06))
    if rng.random() < 0.7:
        varied = shift_pieces(varied, rng)
    if rng.random() < 0.3:
        varied = hook(varied, rng, at_end=True)
    if rng.random() < 0.15:
        varied = hook(varied, rng, at_end=False)
    if rng.random() < 0.15:
        varied = corner_loop(varied, rng)
    return varied
