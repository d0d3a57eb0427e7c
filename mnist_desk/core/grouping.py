"""A number written left to right → one group of ink per digit → one reading per digit.

Strokes (the pad) and ink blobs (an image) are both *parts* with a box and, for strokes, a
drawing order. Grouping happens in two steps, every distance relative to the writing's height:

1. Geometry: parts that share most of their horizontal extent belong together (a 5's top
   bar over its body, a 4's bar crossing its hook, a 7's crossbar). The narrower part's
   width is floored at a quarter of the height, so a thin 1 that only grazes its
   neighbour is not swallowed by it. A part under half the writing's height (or a long
   low bar) is never a digit alone: it joins the nearest digit within reach (a 5's bar
   drawn off to the side, a 4's hook that stops short of its bar).
2. Recognition: neighbours whose ink touches, drawn one right after the other (no other
   stroke and, with timings, no long pause in between), may still be one digit (a 4 whose
   hook only touches its bar, a 0 in two halves) or two (touching "00"). Both readings go
   through the model in the same batch and the likelier segmentation wins, with priors: a
   touch is two digits unless a stroke ends on the other one, and nothing much wider than
   tall is one digit. A 1 that stands clear of a 7 is never a candidate, whatever the
   model thinks. In an image, touching digits are one blob: a blob wider than a digit is
   cut first, at the columns where the model reads the pieces best (``cut_wide_blobs``).

Every group then goes through exactly the single-digit path (``strokes_to_mnist`` or
``fit_to_mnist``) and ``Predictor``: one forward pass for all groups and candidates (an
image has one more before it, for the pieces of its wide blobs).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from mnist_desk.core.errors import UserError
from mnist_desk.core.predict import Predictor, reading_state, top_k_of
from mnist_desk.core.preprocess import (
    ImageError,
    Stroke,
    fit_to_mnist,
    image_ink,
    read_image_file,
    strokes_bbox,
    strokes_to_mnist,
)

MAX_DIGITS = 12
MAX_PARTS = 120  # strokes or ink blobs: ten per digit of the longest number is plenty
SHARED_WIDTH = 0.5  # step 1: overlap / narrower width at or above this joins two parts
NARROW_FLOOR = 0.25  # × height: the narrowest width an overlap is measured against
CENTRE_MARGIN = 0.2  # a narrow part whose centre is this far inside a wide one joins it
TOUCH_GAP = 0.03  # × height: only neighbours whose ink touches may be one digit (step 2)
MAX_DIGIT_WIDTH = 1.6  # × height: no group grows wider than this
VERTICAL_REACH = 0.35  # × height: parts further apart vertically never join
MINOR = 0.5  # × height: a part lower than this is a piece of a digit, never a digit alone
LOW_BAR = 0.75  # × height: …or lower than this and twice as wide as it is tall
MINOR_REACH = 0.3  # × height: how far from its digit such a piece may float
KEEP_APART_PRIOR = math.log(0.9)  # step 2: strokes that touch are two digits unless…
TOUCH_PRIOR = math.log(2.0)  # …unless one stroke ends on the other (a 4's hook on its bar)
WIDE_PENALTY = 4.0  # …and a digit wider than tall is unlikely (log prior per height)
MAX_RUN = 3  # step 2 joins at most three neighbouring groups into one digit
LONG_PAUSE_S = 1.0  # with timings: a pause this long between strokes ends a digit
PAIR_OVERLAP = 0.1  # two_digits_side_by_side: parts overlapping less than this × the narrower…
PAIR_HEIGHT = 0.6  # …each at least this × the sample's height…
PAIR_WIDTH = 0.35  # …and this × its height wide (a 4's lone stem is narrower)

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (ink extents)


class TooManyParts(UserError):
    """More strokes than a written number has: a scribble, which would take seconds to group."""

    def __init__(self, count: int) -> None:
        super().__init__(too_many_parts(count, "strokes", "undo or clear some"))


def too_many_parts(count: int, what: str, remedy: str) -> str:
    return (
        f"{count} separate {what} are too many for a written number (at most {MAX_PARTS}); "
        f"{remedy}."
    )


@dataclass
class DigitReading:
    digit: int
    confidence: float  # calibrated P(digit)
    top_k: list[tuple[int, float]]
    box: Box
    image28: np.ndarray
    parts: list[int]  # indices of the strokes (or, in an image, pieces of ink) it used
    not_digit_p: float = 0.0
    low_confidence: bool = False
    not_a_digit: bool = False

    @property
    def text(self) -> str:
        return "?" if self.not_a_digit else str(self.digit)


@dataclass
class NumberReading:
    digits: list[DigitReading] = field(default_factory=list)
    too_many: int = 0  # groups beyond MAX_DIGITS that were not read

    @property
    def text(self) -> str:
        return "".join(d.text for d in self.digits)

    @property
    def sure(self) -> bool:
        return bool(self.digits) and not any(d.low_confidence for d in self.digits)


# ----- geometry ----------------------------------------------------------------------------
def writing_height(boxes: Sequence[Box]) -> float:
    """The height of one digit, from the parts' heights and the whole line's extent.

    Parts alone underestimate it when digits are drawn in stacked strokes (an 8 as two
    loops); the line's extent overestimates it by the baseline's wobble. Take the median
    tall part, raised towards 80% of the line's extent, but never past 1.5× the parts.
    """
    heights = np.array([b[3] - b[1] for b in boxes], dtype=np.float64)
    if heights.size == 0:
        return 1.0
    tall = float(np.median(heights[heights >= 0.5 * heights.max()]))
    extent = max(b[3] for b in boxes) - min(b[1] for b in boxes)
    return max(tall, min(0.8 * extent, 1.5 * tall), 1e-6)


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _gap(a: Box, b: Box) -> float:
    """Horizontal gap between two boxes; negative when they overlap."""
    return max(a[0], b[0]) - min(a[2], b[2])


def _vertical_gap(a: Box, b: Box) -> float:
    return max(a[1], b[1]) - min(a[3], b[3])


def _share(a: Box, b: Box, height: float) -> bool:
    """Step 1: do two parts share enough horizontal extent to be one digit?"""
    if _vertical_gap(a, b) > VERTICAL_REACH * height:
        return False
    merged = _union(a, b)
    if merged[2] - merged[0] > MAX_DIGIT_WIDTH * height:
        return False
    wa, wb = a[2] - a[0], b[2] - b[0]
    narrow, wide = (a, b) if wa <= wb else (b, a)
    overlap = -_gap(a, b)
    if overlap / max(min(wa, wb), NARROW_FLOOR * height) >= SHARED_WIDTH:
        return True
    centre = (narrow[0] + narrow[2]) / 2
    margin = CENTRE_MARGIN * (wide[2] - wide[0])
    return wide[0] + margin <= centre <= wide[2] - margin


def sure_groups(boxes: Sequence[Box], height: float) -> list[list[int]]:
    """Step 1: parts joined by shared extent, sorted left to right (lists of part indices)."""
    groups = [[i] for i in range(len(boxes))]
    group_boxes = list(boxes)
    changed = True
    while changed:
        changed = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                if _share(group_boxes[i], group_boxes[j], height):
                    groups[i] += groups.pop(j)
                    group_boxes[i] = _union(group_boxes[i], group_boxes.pop(j))
                    changed = True
                    break
            if changed:
                break
    _attach_minor_parts(groups, group_boxes, height)
    order = sorted(range(len(groups)), key=lambda g: (group_boxes[g][0] + group_boxes[g][2]) / 2)
    return [sorted(groups[g]) for g in order]


def two_digits_side_by_side(strokes: Sequence[Stroke]) -> bool:
    """Do the strokes split, left to right, into two parts that are each a digit's height and
    width? Then one "digit" sample is really two (an "00" labelled 0): data to leave out.

    A 4 whose stem stands apart from its open corner is no such pair: the stem is too narrow.
    """
    boxes = [strokes_bbox([s], 0.0) for s in strokes if len(s)]
    if len(boxes) < 2:
        return False
    top, bottom = min(b[1] for b in boxes), max(b[3] for b in boxes)
    height = bottom - top
    order = sorted(boxes, key=lambda b: b[0])
    for cut in range(1, len(order)):
        left, right = _box_of(order, range(cut)), _box_of(order, range(cut, len(order)))
        widths = (left[2] - left[0], right[2] - right[0])
        heights = (left[3] - left[1], right[3] - right[1])
        apart = left[2] - right[0] <= PAIR_OVERLAP * min(widths)
        full = min(heights) >= PAIR_HEIGHT * height and min(widths) >= PAIR_WIDTH * height
        if apart and full:
            return True
    return False


def _is_minor(box: Box, height: float) -> bool:
    """A part no digit consists of alone: under half the writing's height (a 5's bar, a 4's
    short hook, a 1's flag, a dot), or clearly lower than the writing and twice as wide as
    it is tall (a 7's long slanted crossbar)."""
    low = box[3] - box[1]
    return low < MINOR * height or (low < LOW_BAR * height and box[2] - box[0] >= 2.0 * low)


def _attach_minor_parts(groups: list[list[int]], group_boxes: list[Box], height: float) -> None:
    """A minor group joins the nearest full-size group beside it (overlapping counts as nearest).

    People write a number at one height, so a part much smaller than that is a piece of a
    digit, and the piece belongs to the digit it is drawn against: a 5's bar floats off its
    body's top, a 4's hook stops short of the bar, a 7's crossbar runs past its stem. Only
    parts within ``MINOR_REACH`` of a digit's own ink are taken (distances to the digits as
    they were before any piece joined them, so pieces never chain): a lone mark further
    away stays alone, and is read and marked like any other group.
    """
    minor = [_is_minor(box, height) for box in group_boxes]
    home: dict[int, int] = {}
    for i, box in enumerate(group_boxes):
        if not minor[i]:
            continue
        best, best_gap = -1, MINOR_REACH * height
        for j, other in enumerate(group_boxes):
            if minor[j] or _vertical_gap(box, other) > VERTICAL_REACH * height:
                continue
            if _gap(box, other) <= best_gap:
                best, best_gap = j, _gap(box, other)
        if best >= 0:
            home[i] = best
    for i, j in home.items():
        groups[j] += groups[i]
        group_boxes[j] = _union(group_boxes[j], group_boxes[i])
    for i in sorted(home, reverse=True):
        del groups[i], group_boxes[i]


def _box_of(boxes: Sequence[Box], parts: Sequence[int]) -> Box:
    box = boxes[parts[0]]
    for p in parts[1:]:
        box = _union(box, boxes[p])
    return box


def _drawn_together(
    left: Sequence[int], right: Sequence[int], pauses: Sequence[float] | None
) -> bool:
    """Strokes of one digit are drawn in one go: their order is contiguous, with no long pause."""
    every = sorted([*left, *right])
    if every[-1] - every[0] + 1 != len(every):
        return False
    if pauses is None:
        return True
    return all(pauses[i] < LONG_PAUSE_S for i in every[1:])


def joinable(
    boxes: Sequence[Box],
    groups: Sequence[Sequence[int]],
    height: float,
    ordered: bool,
    pauses: Sequence[float] | None = None,
) -> list[bool]:
    """Step 2: ``out[i]`` says whether groups i and i+1 touch and might be one digit."""
    out = []
    for i in range(len(groups) - 1):
        a, b = _box_of(boxes, groups[i]), _box_of(boxes, groups[i + 1])
        merged = _union(a, b)
        out.append(
            _gap(a, b) <= TOUCH_GAP * height
            and _vertical_gap(a, b) <= VERTICAL_REACH * height
            and merged[2] - merged[0] <= MAX_DIGIT_WIDTH * height
            and (not ordered or _drawn_together(groups[i], groups[i + 1], pauses))
        )
    return out


def _width_penalty(box: Box, height: float) -> float:
    """Log prior against one digit much wider than the writing is tall (two squeezed into one)."""
    return -WIDE_PENALTY * max(0.0, (box[2] - box[0]) / height - 1.0)


def _digit_score(probs: np.ndarray) -> float:
    """log P(the best digit): low for a doubtful digit and for 'not a digit' alike."""
    return math.log(max(float(probs[:10].max()), 1e-6))


def choose_segmentation(
    single: Sequence[float], runs: dict[tuple[int, int], float]
) -> list[tuple[int, int]]:
    """Best split of groups 0..n-1 into digits: each a single group or a scored run.

    ``runs[(first, last)]`` is the log score of groups first..last read as one digit (its
    prior included). Dynamic programming; returns (first, last) per digit, left to right.
    """
    n = len(single)
    best = [0.0] + [-math.inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        best[end], back[end] = best[end - 1] + single[end - 1], end - 1
        for (first, last), score in runs.items():
            if last == end - 1 and best[first] + score > best[end]:
                best[end], back[end] = best[first] + score, first
    out = []
    end = n
    while end > 0:
        out.append((back[end], end - 1))
        end = back[end]
    return out[::-1]


# ----- reading -----------------------------------------------------------------------------
def _read_groups(
    boxes: Sequence[Box],
    render: Callable[[list[int]], np.ndarray | None],
    predictor: Predictor,
    k: int,
    ordered: bool,
    pauses: Sequence[float] | None = None,
    join_prior: Callable[[list[int], list[int]], float] | None = None,
    cache: ReadCache | None = None,
    key: Callable[[list[int]], object] | None = None,
) -> NumberReading:
    """Steps 1 and 2, then one batch through the model for every group and candidate run."""
    if not boxes:
        return NumberReading()
    height = writing_height(boxes)
    groups = sure_groups(boxes, height)
    touching = joinable(boxes, groups, height, ordered, pauses)
    units = [list(g) for g in groups]
    run_units: dict[tuple[int, int], int] = {}
    for first in range(len(groups)):
        last = first
        while last < len(touching) and touching[last] and last - first < MAX_RUN - 1:
            last += 1
            run_units[(first, last)] = len(units)
            units.append([p for g in groups[first : last + 1] for p in g])
    images, probs = _images_and_probabilities(units, render, predictor, cache, key)
    single = [_digit_score(p) for p in probs[: len(groups)]]
    prior = join_prior or (lambda _a, _b: KEEP_APART_PRIOR)
    runs = {
        (first, last): _digit_score(probs[u])
        + sum(prior(groups[i], groups[i + 1]) for i in range(first, last))
        + _width_penalty(_box_of(boxes, units[u]), height)
        for (first, last), u in run_units.items()
    }
    reading = NumberReading()
    for first, last in choose_segmentation(single, runs):
        unit = first if first == last else run_units[(first, last)]
        if images[unit] is None:
            continue
        parts = sorted(units[unit])
        reading.digits.append(
            _digit_reading(probs[unit], images[unit], _box_of(boxes, parts), parts, k)
        )
    if len(reading.digits) > MAX_DIGITS:
        reading.too_many = len(reading.digits) - MAX_DIGITS
        reading.digits = reading.digits[:MAX_DIGITS]
    return reading


class ReadCache:
    """28×28 images and probabilities of groups already read, so a new stroke costs only the
    groups it touches (the pad reads the whole number again on every stroke)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: dict = {}
        self._model = None

    def get(self, predictor: Predictor, key):
        if self._model is not predictor:
            self._entries.clear()
            self._model = predictor
        return self._entries.get(key)

    def put(self, key, value) -> None:
        if len(self._entries) >= self.size:
            self._entries.pop(next(iter(self._entries)))  # oldest first
        self._entries[key] = value


def _images_and_probabilities(units, render, predictor, cache, key):
    """Render and classify every unit, all new ones in one batch; reuse cached ones."""
    keys = [key(sorted(u)) if cache is not None and key else None for u in units]
    found = [cache.get(predictor, k) if k is not None else None for k in keys]
    images = [
        f[0] if f is not None else render(sorted(u)) for f, u in zip(found, units, strict=True)
    ]
    fresh = [i for i, f in enumerate(found) if f is None]
    blank = np.zeros((28, 28), np.float32)
    probs: list = [f[1] if f is not None else None for f in found]
    if fresh:
        batch = np.stack([blank if images[i] is None else images[i] for i in fresh])
        for i, p in zip(fresh, predictor.all_probabilities(batch), strict=True):
            probs[i] = p
            if keys[i] is not None:
                cache.put(keys[i], (images[i], p))
    return images, np.stack(probs)


def _digit_reading(
    probs: np.ndarray, image28: np.ndarray, box: Box, parts: list[int], k: int
) -> DigitReading:
    digits = np.asarray(probs[:10], dtype=np.float64)
    not_digit = float(probs[10]) if len(probs) > 10 else 0.0
    top = int(digits.argmax())
    confidence = float(digits[top])
    state = reading_state(digits, not_digit)  # the single digit's rule, so both modes agree
    is_not_digit = state == "not-a-digit"
    return DigitReading(
        digit=top,
        confidence=confidence,
        top_k=top_k_of(digits, k),
        box=box,
        image28=image28,
        parts=parts,
        not_digit_p=not_digit,
        low_confidence=state != "digit",
        not_a_digit=is_not_digit,
    )


def stroke_pauses(times: Sequence[tuple[float, float]] | None) -> list[float] | None:
    """(start, end) seconds per stroke → pen-up time before each stroke (0 for the first)."""
    if times is None:
        return None
    return [0.0] + [max(0.0, times[i][0] - times[i - 1][1]) for i in range(1, len(times))]


def read_number(
    strokes: Sequence[Stroke],
    pen_width: float,
    predictor: Predictor,
    k: int = 3,
    times: Sequence[tuple[float, float]] | None = None,
    cache: ReadCache | None = None,
) -> NumberReading:
    """Strokes of a number in drawing order (canvas pixels) → one reading per digit.

    ``times`` (optional, one (start, end) in seconds per stroke) lets a long pause end a digit.
    """
    kept = [i for i, s in enumerate(strokes) if len(s) > 0]
    if len(kept) > MAX_PARTS:
        raise TooManyParts(len(kept))
    parts = [[(float(p[0]), float(p[1])) for p in strokes[i]] for i in kept]
    boxes = [strokes_bbox([s], pen_width) for s in parts]
    pauses = stroke_pauses([times[i] for i in kept]) if times is not None else None

    def render(indices: list[int]) -> np.ndarray | None:
        return strokes_to_mnist([parts[i] for i in indices], pen_width)

    arrays = [np.asarray(p, dtype=np.float64) for p in parts]

    def unit_key(indices: list[int]) -> tuple:
        return (pen_width, tuple((len(parts[i]), parts[i][0], parts[i][-1]) for i in indices))

    def prior(left: list[int], right: list[int]) -> float:
        return TOUCH_PRIOR if _ends_on(arrays, left, right, pen_width) else KEEP_APART_PRIOR

    reading = _read_groups(boxes, render, predictor, k, True, pauses, prior, cache, unit_key)
    for digit in reading.digits:
        digit.parts = [kept[i] for i in digit.parts]
    return reading


def _ends_on(arrays: list[np.ndarray], left: list[int], right: list[int], pen: float) -> bool:
    """Does a stroke of one group start or end on the other group's line (not just its ink)?"""
    for mine, theirs in ((left, right), (right, left)):
        ends = np.vstack([arrays[i][[0, -1]] for i in mine])
        line = np.vstack([arrays[i] for i in theirs])
        nearest = np.sqrt(((ends[:, None, :] - line[None, :, :]) ** 2).sum(axis=2)).min()
        if nearest <= 0.6 * pen:
            return True
    return False


# ----- images ------------------------------------------------------------------------------
INK_THRESHOLD = 0.35  # of the peak ink: what counts as ink when finding blobs
SPECK = 0.02  # blobs smaller than this × the largest blob's area are noise


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labelling of a boolean image (1..count; 0 = background).

    Works on runs of ink per row, so the Python loop is over runs, not pixels.
    """
    height, width = mask.shape
    parent: list[int] = [0]

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    runs_per_row: list[list[tuple[int, int, int]]] = []
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    previous: list[tuple[int, int, int]] = []
    for row in range(height):
        starts = np.flatnonzero(edges[row] == 1)
        ends = np.flatnonzero(edges[row] == -1)  # exclusive
        current = []
        j = 0
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            label = 0
            while j < len(previous) and previous[j][1] < s:  # ends before s-1 reach
                j += 1
            m = j
            while m < len(previous) and previous[m][0] <= e:  # diagonal touch included
                other = find(previous[m][2])
                if label == 0:
                    label = other
                elif other != label:
                    parent[max(other, label)] = min(other, label)
                    label = min(other, label)
                m += 1
            if label == 0:
                label = len(parent)
                parent.append(label)
            current.append((s, e, label))
        runs_per_row.append(current)
        previous = current
    roots = {}
    labels = np.zeros((height, width), dtype=np.int32)
    for row, runs in enumerate(runs_per_row):
        for s, e, label in runs:
            root = find(label)
            labels[row, s:e] = roots.setdefault(root, len(roots) + 1)
    return labels, len(roots)


SLICE_ABOVE = 0.9  # × height: a blob wider than this may hold touching digits (a 1 and a 0)
THIN_CUT = 1.5  # × the pen's width: where touching digits may be cut apart
CUT_SPACING = 0.1  # × height: candidate cuts closer than this are one candidate
MIN_PIECE = 0.2  # × height: no piece narrower than this is cut off a blob
NOTCH_REACH = 0.4  # × height: how far to each side an outline notch is measured
NOTCH_DEPTH = 0.05  # × height: a notch this deep above and below marks where digits meet…
NOTCH_PRIOR = -math.log(1.5)  # …a surer sign than a thin column, so a cut there costs less
CUT_PRIOR = -math.log(3.0)  # a cut must make the pieces three times as likely as the whole…
CROSS_PRIOR = -math.log(2.0)  # …and twice more for each extra stroke it cuts through
LOOP_WIDTH = 0.2  # × height: a hole this wide is a digit's loop (0, 6, 8, 9), never cut through


def candidate_cuts(blob: np.ndarray, height: float, thin: float) -> list[tuple[int, float]]:
    """Columns of one blob where touching digits may meet, each with its log prior.

    Candidates are the local minima of the vertical projection (least ink nearby), at most
    one per ``CUT_SPACING``. Digits that touch meet where a column crosses a single stroke
    (thin, or one run of ink); digits that overlap a little are cut through two or more
    strokes, which is less likely and costs more (``CROSS_PRIOR``). Round digits touching
    side by side meet at an outline notch (``notches``), a surer sign (``NOTCH_PRIOR``).
    """
    column_ink = blob.sum(axis=0).astype(np.float64)
    padded = np.zeros((blob.shape[0] + 2, blob.shape[1]), dtype=np.int8)
    padded[1:-1] = blob
    runs = (np.diff(padded, axis=0) == 1).sum(axis=0)
    crossed = np.where(column_ink <= thin, 1, np.maximum(runs, 1))
    width = len(column_ink)
    edge = max(1, round(MIN_PIECE * height))
    window = max(1, round(CUT_SPACING * height / 2))
    minima: list[int] = []
    for c in range(edge, width - edge):
        lo, hi = max(0, c - window), min(width, c + window + 1)
        minimum = column_ink[c] <= column_ink[lo:hi].min()
        if minimum and (not minima or c - minima[-1] > 2 * window):
            minima.append(c)
    cuts = {c: CUT_PRIOR + CROSS_PRIOR * (crossed[c] - 1) for c in minima}
    for c in notches(blob, height, edge):
        near = [m for m in cuts if abs(c - m) <= window]
        for m in near:  # the notch is where that minimum really is
            del cuts[m]
        cuts[c] = NOTCH_PRIOR
    loops = loop_spans(blob, height)
    return sorted(
        (c, float(prior)) for c, prior in cuts.items() if not any(a < c < b for a, b in loops)
    )


def loop_spans(blob: np.ndarray, height: float) -> list[tuple[int, int]]:
    """Column spans of the blob's loops: holes at least ``LOOP_WIDTH`` × the height wide.

    Two round digits that overlap enclose a lens between their loops; it is no loop of
    either digit (the cut between them runs through it), so a hole with a loop wholly on
    each side of it is left out.
    """
    labels, count = label_components(~blob)
    if count == 0:
        return []
    outside = set(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]).tolist())
    holes = []
    for k in range(1, count + 1):
        if k in outside:
            continue
        columns = np.flatnonzero((labels == k).any(axis=0))
        if columns[-1] - columns[0] + 1 >= LOOP_WIDTH * height:
            holes.append((int(columns[0]), int(columns[-1])))
    return [
        (a, b)
        for a, b in holes
        if not (any(d < a for _, d in holes) and any(c > b for c, _ in holes))
    ]


def notches(blob: np.ndarray, height: float, edge: int) -> list[int]:
    """Columns where the blob's outline dips in from the top and the bottom at once.

    Two round digits that touch side by side (00, 60) meet where their sides merge: the
    column there holds a lot of ink, so it is no minimum of the projection, but the outline
    has a notch above and below it. The deepest such column of each notch is a candidate.
    """
    rows = np.arange(blob.shape[0])[:, None]
    inked = blob.any(axis=0)
    top = np.where(inked, np.where(blob, rows, blob.shape[0]).min(axis=0), blob.shape[0])
    bottom = np.where(inked, np.where(blob, rows, -1).max(axis=0), -1)
    width = blob.shape[1]
    reach = max(2, round(NOTCH_REACH * height))
    depth = np.zeros(width)
    for c in range(edge, width - edge):
        left, right = slice(max(0, c - reach), c), slice(c + 1, min(width, c + reach + 1))
        from_top = top[c] - max(top[left].min(), top[right].min())
        from_bottom = min(bottom[left].max(), bottom[right].max()) - bottom[c]
        depth[c] = min(from_top, from_bottom) if inked[c] else 0.0
    found = []
    for c in range(edge, width - edge):
        deepest = depth[c] == depth[max(0, c - reach) : c + reach + 1].max()
        apart = not found or c - found[-1] > reach
        if depth[c] >= NOTCH_DEPTH * height and deepest and apart:
            found.append(c)
    return found


def stroke_thickness(mask: np.ndarray) -> float:
    """The pen's width in pixels: the median length of vertical runs of ink."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1]), dtype=np.int8)
    padded[1:-1] = mask
    edges = np.diff(padded, axis=0)
    starts = np.flatnonzero(edges.T.ravel() == 1)
    ends = np.flatnonzero(edges.T.ravel() == -1)
    return float(np.median(ends - starts)) if starts.size else 1.0


@dataclass
class _Blobs:
    """An image's ink and its labelled blobs, to cut out and render any piece of one blob."""

    ink: np.ndarray
    labels: np.ndarray
    grown: np.ndarray  # labels spread over the faint anti-aliased edge of the ink
    spans: dict[int, tuple[int, int, int, int]]  # blob → top, bottom, left, right

    def box(self, blob: int, a: int, b: int) -> Box:
        rows = np.flatnonzero((self.labels[:, a:b] == blob).any(axis=1))
        return float(a), float(rows[0]), float(b), float(rows[-1] + 1)

    def mask(self, blob: int, a: int, b: int) -> np.ndarray:
        """Columns a..b of a blob; a piece that is the whole blob keeps its grown edge too."""
        _top, _bottom, left, right = self.spans[blob]
        if a <= left and b >= right:
            return self.grown == blob
        wanted = np.zeros(self.ink.shape, dtype=bool)
        wanted[:, a:b] = self.grown[:, a:b] == blob
        return wanted

    def render(self, pieces) -> np.ndarray | None:
        wanted = np.zeros(self.ink.shape, dtype=bool)
        for blob, a, b in pieces:
            wanted |= self.mask(blob, a, b)
        return fit_to_mnist(np.where(wanted, self.ink, 0.0))


def cut_wide_blobs(
    found: _Blobs, blobs: list[int], height: float, thin: float, predictor: Predictor
) -> list[tuple[int, int, int]]:
    """Every blob as (blob, first column, end column) pieces; over-wide blobs cut by the model.

    A blob wider than ``SLICE_ABOVE`` × the height may be touching digits. Every way of
    cutting it at candidate columns into pieces at least half the writing tall is scored
    by the model (log P of each piece's best digit, the wide-digit prior, ``CUT_PRIOR`` per
    cut) and the best wins, by dynamic programming over the cut columns; all pieces of all
    wide blobs go through the model in one batch.
    """
    plans: list[tuple] = []  # blob, positions, cut costs, segments
    images: list[np.ndarray] = []
    parts: list[tuple[int, int, int]] = []
    for blob in blobs:
        top, bottom, left, right = found.spans[blob]
        if right - left <= SLICE_ABOVE * height:
            parts.append((blob, left, right))
            continue
        cuts = candidate_cuts(found.labels[top:bottom, left:right] == blob, height, thin)
        positions = [left, *(left + c for c, _ in cuts), right]
        costs = [0.0, *(prior for _, prior in cuts), 0.0]
        segments = []
        for i in range(len(positions) - 1):
            for j in range(i + 1, len(positions)):
                a, b = positions[i], positions[j]
                whole = i == 0 and j == len(positions) - 1
                if not whole and b - a > MAX_DIGIT_WIDTH * height:
                    continue
                _x0, y0, _x1, y1 = found.box(blob, a, b)
                if whole or y1 - y0 >= MINOR * height:  # a digit is never under half as tall
                    segments.append((i, j))
                    image = found.render([(blob, a, b)])
                    images.append(np.zeros((28, 28), np.float32) if image is None else image)
        plans.append((blob, positions, costs, segments))
    if not plans:
        return parts
    probs = predictor.all_probabilities(np.stack(images))
    k = 0
    for blob, positions, costs, segments in plans:
        scores = {}
        for i, j in segments:
            box = found.box(blob, positions[i], positions[j])
            scores[(i, j)] = _digit_score(probs[k]) + _width_penalty(box, height)
            k += 1
        parts += [(blob, positions[i], positions[j]) for i, j in _best_cuts(scores, costs)]
    return parts


def _best_cuts(scores: dict[tuple[int, int], float], costs: list[float]) -> list[tuple[int, int]]:
    """The best chain of segments from the first position to the last; cutting at position
    i costs ``costs[i]`` (a log prior)."""
    count = len(costs)
    best = [0.0] + [-math.inf] * (count - 1)
    back = [0] * count
    for j in range(1, count):
        for i in range(j):
            if (i, j) in scores:
                score = best[i] + scores[(i, j)] + costs[i]
                if score > best[j]:
                    best[j], back[j] = score, i
    chain, j = [], count - 1
    while j > 0:
        chain.append((back[j], j))
        j = back[j]
    return chain[::-1]


def read_number_image(image: Image.Image, predictor: Predictor, k: int = 3) -> NumberReading:
    """A photo or scan of a written number → one reading per digit (boxes in image pixels).

    Ink blobs are the parts; a blob much wider than a digit is cut where the model reads
    the pieces best (touching digits), then the same grouping as for strokes follows. The
    pieces of one blob are not joined again: the cutting already weighed the whole blob.
    """
    ink = image_ink(image)
    labels, count = label_components(ink > INK_THRESHOLD)
    if count == 0:
        raise ImageError("the image is blank: no ink stands out from its background")
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    blobs = [int(i) + 1 for i in np.flatnonzero(areas >= SPECK * areas.max())]
    if len(blobs) > MAX_PARTS:
        raise ImageError(too_many_parts(len(blobs), "marks", "crop the image to the number"))
    grown = _grow_labels(labels, ink > 0, steps=2)  # faint anti-aliased edges join their blob
    spans = {}
    for blob in blobs:
        mask = labels == blob
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        spans[blob] = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
    found = _Blobs(ink, labels, grown, spans)
    height = writing_height([(s[2], s[0], s[3], s[1]) for s in spans.values()])
    thin = THIN_CUT * stroke_thickness(labels > 0)
    parts = cut_wide_blobs(found, blobs, height, thin, predictor)
    boxes = [found.box(blob, a, b) for blob, a, b in parts]

    def render(indices: list[int]) -> np.ndarray | None:
        return found.render([parts[i] for i in indices])

    def prior(left: list[int], right: list[int]) -> float:
        same_blob = {parts[i][0] for i in left} & {parts[i][0] for i in right}
        return -math.inf if same_blob else KEEP_APART_PRIOR

    return _read_groups(boxes, render, predictor, k, ordered=False, join_prior=prior)


def _grow_labels(labels: np.ndarray, allowed: np.ndarray, steps: int) -> np.ndarray:
    grown = labels.copy()
    for _ in range(steps):
        for axis, shift in ((0, 1), (0, -1), (1, 1), (1, -1)):
            moved = np.roll(grown, shift, axis=axis)
            take = (grown == 0) & (moved > 0) & allowed
            grown[take] = moved[take]
    return grown


def load_number_image(path: str | os.PathLike, predictor: Predictor, k: int = 3) -> NumberReading:
    """Open an image file of a number; bad files raise ``ImageError`` with one sentence."""
    return read_image_file(path, lambda image: read_number_image(image, predictor, k))
