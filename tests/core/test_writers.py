"""Writer variety: valid stroke lists, the habit really added, the digit still a digit."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_desk.core.preprocess import strokes_to_mnist
from mnist_desk.core.writers import corner_loop, hook, shift_pieces, vary_writer, warp
from tests.core.test_conventions import unit_digit, valid

seeds = st.integers(min_value=0, max_value=2**32 - 1)
digits = st.integers(min_value=0, max_value=9)


def _points(strokes) -> np.ndarray:
    return np.array([p for s in strokes for p in s])


def _box_size(strokes) -> float:
    points = _points(strokes)
    return float(np.ptp(points, axis=0).max())


@settings(max_examples=60, deadline=None)
@given(digit=digits, seed=seeds)
def test_vary_writer_gives_a_drawable_digit_of_about_the_same_size(digit, seed):
    strokes = unit_digit(digit)
    before = copy.deepcopy(strokes)
    varied = vary_writer(strokes, np.random.default_rng(seed))
    assert strokes == before  # the input is untouched
    assert valid(varied) and len(varied) == len(strokes)
    assert 0.6 < _box_size(varied) / _box_size(strokes) < 1.6
    placed = [[(80 + 120 * x, 80 + 120 * y) for x, y in s] for s in varied]
    assert strokes_to_mnist(placed, 12.0) is not None


@settings(max_examples=30, deadline=None)
@given(digit=digits, seed=seeds)
def test_warp_moves_points_smoothly(digit, seed):
    strokes = unit_digit(digit)
    warped = warp(strokes, np.random.default_rng(seed), strength=0.05)
    a, b = _points(strokes), _points(warped)
    assert a.shape == b.shape and not np.allclose(a, b)
    # neighbours along a stroke move together: a bend, not jitter
    for before, after in zip(strokes, warped, strict=True):
        shift = np.array(after) - np.array(before)
        assert np.abs(np.diff(shift, axis=0)).max() < 0.1


def test_shift_pieces_moves_only_the_later_strokes():
    four = unit_digit(4)
    shifted = shift_pieces(four, np.random.default_rng(0), spread=0.1)
    assert shifted[0] == [(float(x), float(y)) for x, y in four[0]]
    assert not np.allclose(np.array(shifted[1]), np.array(four[1]))
    one = unit_digit(1)
    assert shift_pieces(one, np.random.default_rng(0)) == one


@settings(max_examples=30, deadline=None)
@given(digit=digits, seed=seeds, at_end=st.booleans())
def test_hook_extends_the_longest_stroke_at_the_chosen_end(digit, seed, at_end):
    strokes = unit_digit(digit)
    hooked = hook(strokes, np.random.default_rng(seed), at_end=at_end)
    longest = max(range(len(strokes)), key=lambda i: len(strokes[i]))
    grown = hooked[longest]
    assert len(grown) > len(strokes[longest])
    kept = grown[: len(strokes[longest])] if at_end else grown[-len(strokes[longest]) :]
    assert np.allclose(np.array(kept), np.array(strokes[longest]))


def test_corner_loop_goes_round_at_the_sharp_corner_only():
    seven = [[(0.1, 0.1), (0.3, 0.1), (0.5, 0.1), (0.7, 0.1), (0.9, 0.1), (0.7, 0.5), (0.5, 0.9)]]
    looped = corner_loop(seven, np.random.default_rng(1))
    added = np.array(looped[0][5:-2])  # the loop sits after the corner point (0.9, 0.1)
    assert len(looped[0]) > len(seven[0])
    assert np.linalg.norm(added - np.array([0.9, 0.1]), axis=1).max() < 0.25
    straight = [[(0.5, y) for y in np.linspace(0, 1, 10)]]
    assert corner_loop(straight, np.random.default_rng(1)) == straight
