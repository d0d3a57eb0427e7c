"""The convention augmenter: valid stroke lists with the convention really present."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_desk.core.conventions import (
    CONVENTIONS,
    add_mark_to_image,
    apply_convention,
    cross_seven,
    flag_one,
    slash_zero,
)
from mnist_desk.core.handwriting import CONTROL_POINTS, catmull_rom
from mnist_desk.core.nondigits import KINDS, non_digit
from mnist_desk.core.preprocess import strokes_to_mnist

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def unit_digit(digit: int, squeeze: float = 1.0) -> list[list[tuple[float, float]]]:
    """One of our stroke digits in the unit box, optionally narrowed."""
    return [
        [(0.5 + (x - 0.5) * squeeze, y) for x, y in catmull_rom(stroke).tolist()]
        for stroke in CONTROL_POINTS[digit]
    ]


def valid(strokes) -> bool:
    return (
        isinstance(strokes, list)
        and all(len(s) >= 2 for s in strokes)
        and all(math.isfinite(x) and math.isfinite(y) for s in strokes for x, y in s)
    )


def box(strokes):
    pts = np.array([p for s in strokes for p in s])
    return pts.min(axis=0), pts.max(axis=0)


@settings(max_examples=60, deadline=None)
@given(seeds, st.floats(0.5, 1.0))
def test_slash_crosses_the_zero(seed, squeeze):
    zero = unit_digit(0, squeeze)
    out = slash_zero(zero, np.random.default_rng(seed))
    assert valid(out) and len(out) == len(zero) + 1
    slash = np.array(out[-1])
    (x0, y0), (x1, y1) = box(zero)
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    # the slash passes near the oval's centre and spans most of its height
    assert np.min(np.linalg.norm(slash - centre, axis=1)) < 0.2 * (y1 - y0)
    assert np.ptp(slash[:, 1]) > 0.6 * (y1 - y0)
    assert out[: len(zero)] == [[tuple(p) for p in s] for s in zero]  # the zero is untouched


@settings(max_examples=60, deadline=None)
@given(seeds, st.booleans())
def test_flag_points_down_left_from_the_top(seed, base):
    one = unit_digit(1)
    out = flag_one(one, np.random.default_rng(seed), base=base)
    assert valid(out)
    (_, top_y), _ = box(one)
    new_points = [p for s in out for p in s if p not in {q for t in one for q in t}]
    top_x = min((p for s in one for p in s), key=lambda p: p[1])[0]
    flag = [p for p in new_points if p[1] < top_y + 0.5]
    assert flag and min(x for x, _ in flag) < top_x - 0.1  # reaches left of the top
    (_, _), (_, bottom_before) = box(one)
    bases = [
        s
        for s in out
        if np.ptp(np.array(s)[:, 0]) > 0.2
        and np.ptp(np.array(s)[:, 0]) > 2.5 * np.ptp(np.array(s)[:, 1])
        and np.array(s)[:, 1].mean() > bottom_before - 0.1
    ]
    assert bool(bases) == base
    if base:
        assert abs(np.mean(np.array(bases[0])[:, 1]) - bottom_before) < 0.06


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_crossbar_is_horizontal_mid_height(seed):
    seven = unit_digit(7)
    out = cross_seven(seven, np.random.default_rng(seed))
    assert valid(out) and len(out) == len(seven) + 1
    bar = np.array(out[-1])
    (_, y0), (_, y1) = box(seven)
    assert y0 + 0.35 * (y1 - y0) < bar[:, 1].mean() < y0 + 0.7 * (y1 - y0)
    assert np.ptp(bar[:, 0]) > 2 * np.ptp(bar[:, 1])


@settings(max_examples=30, deadline=None)
@given(seeds, st.sampled_from(sorted(CONVENTIONS)))
def test_every_convention_renders_through_the_app_path(seed, name):
    digit = CONVENTIONS[name]
    out = apply_convention(name, unit_digit(digit), np.random.default_rng(seed))
    assert valid(out)
    image = strokes_to_mnist([[(x * 200, y * 200) for x, y in s] for s in out], 14.0)
    assert image is not None and image.shape == (28, 28) and np.isfinite(image).all()


def test_raster_mark_adds_ink_and_keeps_mnist_framing():
    rng = np.random.default_rng(0)
    for digit in (0, 1, 7):
        strokes = [[(x * 200, y * 200) for x, y in s] for s in unit_digit(digit)]
        image = strokes_to_mnist(strokes, 14.0)
        marked = add_mark_to_image(image, digit, rng)
        assert marked.shape == (28, 28) and marked.min() >= 0 and marked.max() <= 1
        assert marked.sum() > image.sum() * 1.05  # the mark is there
    assert add_mark_to_image(image, 3, rng) is None


@settings(max_examples=40, deadline=None)
@given(seeds, st.sampled_from(KINDS))
def test_non_digits_are_valid_drawings(seed, kind):
    name, strokes = non_digit(np.random.default_rng(seed), kind)
    assert name == kind
    assert all(len(s) >= 1 for s in strokes)
    assert all(math.isfinite(x) and math.isfinite(y) for s in strokes for x, y in s)
    if kind == "dash":  # never steep enough to be a one
        for s in strokes:
            (x0, y0), (x1, y1) = s[0], s[-1]
            assert abs(y1 - y0) <= abs(x1 - x0) * math.tan(math.radians(40))
