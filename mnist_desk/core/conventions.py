"""Writing conventions MNIST barely contains, added to stroke data and to MNIST images.

MNIST's writers were American; much of the world slashes its zeros, flags (and bases) its
ones and crosses its sevens. These augmenters add exactly those marks to a digit written
as strokes (unit box, y pointing down, as in ``../shared/strokes``) or drawn into a 28×28
MNIST image, with varied angle, length, overshoot and wobble, so a model can learn them
without anyone having to write thousands of them.

Every function takes a ``numpy.random.Generator`` and returns new data; inputs are untouched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from mnist_desk.core.preprocess import fit_to_mnist

Point = tuple[float, float]
Strokes = list[list[Point]]

# Which digit each convention belongs to; used by the training recipe and the tests.
CONVENTIONS: dict[str, int] = {
    "slashed-zero": 0,
    "flagged-one": 1,
    "based-one": 1,
    "crossed-seven": 7,
    "open-four": 4,
    "closed-four": 4,
}


def _box(strokes: Sequence[Sequence[Sequence[float]]]) -> tuple[float, float, float, float]:
    points = np.array([p for s in strokes for p in s], dtype=np.float64)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def _copy(strokes) -> Strokes:
    return [[(float(x), float(y)) for x, y in stroke] for stroke in strokes if len(stroke)]


def _line(a: Point, b: Point, rng: np.random.Generator, wobble: float = 0.01) -> list[Point]:
    """A hand-drawn straight line: dense points with a slight bow and jitter."""
    n = 12
    t = np.linspace(0.0, 1.0, n)
    (ax, ay), (bx, by) = a, b
    length = math.hypot(bx - ax, by - ay) or 1.0
    nx, ny = -(by - ay) / length, (bx - ax) / length  # unit normal
    bow = rng.normal(0.0, 0.03) * length * np.sin(np.pi * t)
    jitter = rng.normal(0.0, wobble, size=(n, 2))
    xs = ax + (bx - ax) * t + nx * bow + jitter[:, 0]
    ys = ay + (by - ay) * t + ny * bow + jitter[:, 1]
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def slash_zero(strokes, rng: np.random.Generator) -> Strokes:
    """Ø: a slash through the oval, usually lower-left to upper-right, often overshooting."""
    out = _copy(strokes)
    x0, y0, x1, y1 = _box(out)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    height = y1 - y0
    angle = math.radians(rng.uniform(50, 80)) * (1 if rng.random() < 0.85 else -1)
    half = height * rng.uniform(0.5, 0.75)  # 0.5 = touches the oval, more overshoots it
    dx, dy = math.cos(angle) * half, math.sin(angle) * half
    shift = rng.normal(0, 0.04, size=2)
    a = (cx - dx + shift[0], cy + dy + shift[1])
    b = (cx + dx + shift[0], cy - dy + shift[1])
    slash = _line(a, b, rng)
    out.append(slash if rng.random() < 0.7 else slash[::-1])
    return out


def flag_one(strokes, rng: np.random.Generator, base: bool | None = None) -> Strokes:
    """A one with a long up-stroke (flag) at the top and, sometimes, a base serif."""
    out = _copy(strokes)
    x0, y0, x1, y1 = _box(out)
    height = y1 - y0
    # the top of the one: the highest point of the longest stroke
    main = max(out, key=len)
    top = min(main, key=lambda p: p[1])
    length = height * rng.uniform(0.25, 0.5)
    angle = math.radians(rng.uniform(20, 55))  # below the horizontal, pointing left
    start = (top[0] - math.cos(angle) * length, top[1] + math.sin(angle) * length)
    flag = _line(start, top, rng, wobble=0.006)
    if rng.random() < 0.6 and main is not None:
        # written in one go: flag up to the top, then down the stem
        index = out.index(main)
        stem = main if main[0][1] <= main[-1][1] else main[::-1]
        out[index] = flag + stem[1:]
    else:
        out.insert(0, flag)
    if base if base is not None else rng.random() < 0.4:
        bottom = max(main, key=lambda p: p[1])
        half = height * rng.uniform(0.15, 0.3)
        lift = rng.normal(0, 0.01)
        out.append(
            _line((bottom[0] - half, bottom[1] + lift), (bottom[0] + half, bottom[1] - lift), rng)
        )
    return out


def cross_seven(strokes, rng: np.random.Generator) -> Strokes:
    """A seven with a short bar across the middle of its stem."""
    out = _copy(strokes)
    x0, y0, x1, y1 = _box(out)
    height, width = y1 - y0, x1 - x0
    level = y0 + height * rng.uniform(0.45, 0.62)
    # where the stem is at that height: the drawn point nearest that level, right of centre-ish
    points = [p for s in out for p in s]
    stem_x = min(points, key=lambda p: abs(p[1] - level) - 0.2 * (p[0] > x0 + width * 0.2))[0]
    half = max(width, height * 0.5) * rng.uniform(0.18, 0.32)
    tilt = rng.normal(0, 0.03)
    out.append(
        _line((stem_x - half, level + tilt), (stem_x + half * rng.uniform(0.7, 1.2), level), rng)
    )
    return out


def four(rng: np.random.Generator, open_top: bool) -> Strokes:
    """A four drawn from scratch: open top (two strokes, arms apart) or closed (a triangle)."""
    jitter = lambda: rng.normal(0, 0.03)  # noqa: E731 - a tiny local helper
    bar_y = rng.uniform(0.55, 0.7)
    stem_x = rng.uniform(0.55, 0.7)
    if open_top:
        arm = _line((0.22 + jitter(), 0.0), (0.12 + jitter(), bar_y), rng)
        arm += _line((0.12, bar_y), (0.9 + jitter(), bar_y + jitter()), rng)[1:]
        stem = _line((stem_x + jitter(), 0.05), (stem_x + jitter(), 1.0), rng)
        return [arm, stem]
    apex = (stem_x + jitter(), 0.0)
    body = _line(apex, (0.08 + jitter(), bar_y), rng)
    body += _line((0.08, bar_y), (0.92 + jitter(), bar_y + jitter()), rng)[1:]
    if rng.random() < 0.5:  # stem in the same stroke, from the apex down
        return [body, _line(apex, (apex[0] + jitter(), 1.0), rng)]
    return [body, _line((apex[0], 0.3), (apex[0] + jitter(), 1.0), rng)]


def apply_convention(name: str, strokes, rng: np.random.Generator) -> Strokes:
    """Apply one named convention (see ``CONVENTIONS``) to a digit's strokes."""
    if name == "slashed-zero":
        return slash_zero(strokes, rng)
    if name == "flagged-one":
        return flag_one(strokes, rng, base=False)
    if name == "based-one":
        return flag_one(strokes, rng, base=True)
    if name == "crossed-seven":
        return cross_seven(strokes, rng)
    if name in ("open-four", "closed-four"):
        return four(rng, open_top=name == "open-four")
    raise KeyError(f"unknown convention {name!r}; known: {', '.join(CONVENTIONS)}")


# --- raster variants for MNIST's own digits -------------------------------------------------

_UPSCALE = 4


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int] | None:
    rows = np.flatnonzero(image.max(axis=1) > 0.2)
    cols = np.flatnonzero(image.max(axis=0) > 0.2)
    if not len(rows) or not len(cols):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]), int(rows[-1])


def add_mark_to_image(
    image28: np.ndarray, digit: int, rng: np.random.Generator
) -> np.ndarray | None:
    """Draw the digit's convention (slash, flag, crossbar) into a 28×28 float image.

    The mark is drawn at 4× size with a pen about as wide as the digit's own strokes, then the
    whole digit is re-framed the MNIST way (20×20 box, centre of mass), since a slash or a flag
    changes the ink's bounding box. ``None`` for digits without a convention or blank images.
    """
    if digit not in (0, 1, 7):
        return None
    box = _ink_box(image28)
    if box is None:
        return None
    # the digit's own stroke width: ink area over skeleton length, roughly
    x0, y0, x1, y1 = box
    unit = [[((x + 0.5) / 28, (y + 0.5) / 28) for x, y in ((x0, y0), (x1, y1))]]
    stroke_px = float(np.clip((image28 > 0.5).sum() / max(y1 - y0 + 1, 1) / 1.6, 1.5, 4.0))
    if digit == 0:
        strokes = slash_zero(unit, rng)
    elif digit == 7:
        columns = image28 > 0.5
        level = int(y0 + (y1 - y0) * rng.uniform(0.45, 0.62))
        xs = np.flatnonzero(columns[level]) if columns[level].any() else np.array([(x0 + x1) / 2])
        stem = [[((float(xs.mean()) + 0.5) / 28, (level + 0.5) / 28)]]
        half = max(x1 - x0, (y1 - y0) * 0.5) / 28 * rng.uniform(0.18, 0.32)
        sx, sy = stem[0][0]
        strokes = [[], _line((sx - half, sy), (sx + half, sy + rng.normal(0, 0.01)), rng)]
    else:
        top = ((float(np.flatnonzero(image28[y0] > 0.2).mean()) + 0.5) / 28, (y0 + 0.5) / 28)
        bottom = ((float(np.flatnonzero(image28[y1] > 0.2).mean()) + 0.5) / 28, (y1 + 0.5) / 28)
        height = (y1 - y0) / 28
        length = height * rng.uniform(0.25, 0.5)
        angle = math.radians(rng.uniform(20, 55))
        start = (top[0] - math.cos(angle) * length, top[1] + math.sin(angle) * length)
        strokes = [[], _line(start, top, rng, wobble=0.004)]
        if rng.random() < 0.4:
            half = height * rng.uniform(0.15, 0.3)
            strokes.append(_line((bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1]), rng))
    marks = strokes[1:]
    size = 28 * _UPSCALE
    canvas = Image.fromarray((np.clip(image28, 0, 1) * 255).astype(np.uint8)).resize(
        (size, size), Image.Resampling.BILINEAR
    )
    draw = ImageDraw.Draw(canvas)
    width = max(2, int(round(stroke_px * _UPSCALE)))
    for stroke in marks:
        pts = [(x * size, y * size) for x, y in stroke]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=width, joint="curve")
            for px, py in (pts[0], pts[-1]):
                r = width / 2
                draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return fit_to_mnist(np.asarray(canvas, dtype=np.float32) / 255.0)
