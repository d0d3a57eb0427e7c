"""Issue 14: strokes (and images of them) grouped into digits and read as one number."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_desk.core import grouping
from mnist_desk.core.handwriting import CONTROL_POINTS, catmull_rom

HEIGHT = 150.0
PEN = HEIGHT / 11


def digit_strokes(digit: int, left: float, top: float = 40.0, height: float = HEIGHT):
    """One of our digits, ``height`` tall, its left edge at ``left`` (pad units)."""
    unit = [catmull_rom(s) for s in CONTROL_POINTS[digit]]
    x0 = min(float(s[:, 0].min()) for s in unit)
    width = 0.8 * height  # the pad's plain style squeezes our unit box a little
    return [[(left + (x - x0) * width, top + y * height) for x, y in s] for s in unit]


def digit_width(digit: int, height: float = HEIGHT) -> float:
    unit = np.vstack([catmull_rom(s) for s in CONTROL_POINTS[digit]])
    return float(np.ptp(unit[:, 0])) * 0.8 * height


def write_number(digits, gap: float):
    """Digits side by side; ``gap`` between neighbours' ink, in digit heights (<0 overlaps)."""
    strokes, left = [], 20.0
    for digit in digits:
        strokes += digit_strokes(digit, left)
        left += digit_width(digit) + PEN + gap * HEIGHT
    return strokes


def to_png(strokes, path, pen=PEN):
    pts = np.array([p for s in strokes for p in s])
    image = Image.new("L", (int(pts[:, 0].max() + 40), int(pts[:, 1].max() + 40)), 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=round(pen), joint="curve")
        for x, y in stroke:
            draw.ellipse((x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2), fill=0)
    image.save(path)
    return path


@pytest.fixture(scope="module")
def predictor(shipped_checkpoint):
    from mnist_desk.core.predict import Predictor

    return Predictor.from_path(shipped_checkpoint)


def groups_of(strokes):
    boxes = [grouping.strokes_bbox([s], PEN) for s in strokes]
    return grouping.sure_groups(boxes, grouping.writing_height(boxes))


def test_a_two_stroke_4_is_one_group_and_reads_4(predictor):
    strokes = digit_strokes(4, 20)
    assert len(strokes) == 2
    assert groups_of(strokes) == [[0, 1]]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert reading.text == "4"
    assert reading.digits[0].parts == [0, 1]


def touching_4():
    hook = [tuple(p) for p in catmull_rom([(40.0, 40.0), (20.0, 130.0), (100.0, 130.0)])]
    bar = [tuple(p) for p in catmull_rom([(100 + PEN * 0.2, 60.0), (100 + PEN * 0.2, 190.0)])]
    return [hook, bar]


def test_a_4_whose_hook_only_touches_its_bar_is_still_one_digit(predictor):
    strokes = touching_4()
    assert groups_of(strokes) == [[0], [1]]  # geometry alone would split it
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0, 1]]
    assert reading.text == "4"


def test_a_long_pause_between_strokes_ends_a_digit(predictor):
    quick = grouping.read_number(touching_4(), PEN, predictor, times=[(0.0, 0.5), (0.7, 1.0)])
    slow = grouping.read_number(touching_4(), PEN, predictor, times=[(0.0, 0.5), (2.5, 3.0)])
    assert len(quick.digits) == 1
    assert len(slow.digits) == 2


def test_a_5_with_a_detached_top_bar_joins_its_body(predictor):
    body, bar = digit_strokes(5, 20)
    bar = [(x + 0.25 * HEIGHT, y - 0.06 * HEIGHT) for x, y in bar]  # off to the right, above
    strokes = [body, bar, *digit_strokes(2, 20 + 1.3 * HEIGHT)]
    assert groups_of(strokes) == [[0, 1], [2]]
    assert grouping.read_number(strokes, PEN, predictor).text == "52"


def test_11_is_two_ones(predictor):
    strokes = write_number([1, 1], gap=0.25)
    assert groups_of(strokes) == [[0], [1]]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert reading.text == "11"


def test_a_1_close_to_a_7_stays_a_1(predictor):
    strokes = write_number([1, 7], gap=0.08)
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0], [1]]
    assert reading.text == "17"


@pytest.mark.parametrize("gap", [0.0, -0.04])
def test_touching_00_is_two_zeros(predictor, gap):
    strokes = write_number([0, 0], gap=gap)
    reading = grouping.read_number(strokes, PEN, predictor)
    assert reading.text == "00"
    left, right = reading.digits
    assert left.box[2] > right.box[0] - 1  # the ink really touches
    assert left.image28.shape == (28, 28) and left.confidence > 0.5


def test_a_long_number_reads_left_to_right_in_one_batch(predictor, monkeypatch):
    calls = []
    original = predictor.all_probabilities
    monkeypatch.setattr(
        predictor, "all_probabilities", lambda x: calls.append(len(x)) or original(x)
    )
    strokes = write_number([4, 2, 0, 7, 3, 8], gap=0.25)
    reading = grouping.read_number(strokes, PEN, predictor)
    assert reading.text == "420738"
    assert len(calls) == 1 and calls[0] >= 6
    lefts = [d.box[0] for d in reading.digits]
    assert lefts == sorted(lefts)


def test_more_than_twelve_digits_are_cut_and_said(predictor):
    strokes = write_number([1, 7] * 7, gap=0.3)
    reading = grouping.read_number(strokes, PEN, predictor)
    assert len(reading.digits) == grouping.MAX_DIGITS
    assert reading.too_many == 2


def test_not_a_digit_and_low_confidence_are_marked_not_dropped():
    probs = np.array([0.02] * 10 + [0.8])
    reading = grouping._digit_reading(probs, np.zeros((28, 28)), (0, 0, 1, 1), [0], 3)
    assert reading.not_a_digit and reading.low_confidence and reading.text == "?"
    unsure = np.array([0.4, 0.35] + [0.25 / 8] * 8)
    reading = grouping._digit_reading(unsure, np.zeros((28, 28)), (0, 0, 1, 1), [0], 3)
    assert reading.low_confidence and not reading.not_a_digit and reading.text == "0"
    number = grouping.NumberReading([reading])
    assert not number.sure


def test_segmentation_picks_the_likelier_split():
    single = [np.log(0.99), np.log(0.99), np.log(0.3), np.log(0.4)]
    runs = {(0, 1): np.log(0.9), (2, 3): np.log(0.95)}
    assert grouping.choose_segmentation(single, runs) == [(0, 0), (1, 1), (2, 3)]


def test_labelling_matches_a_flood_fill():
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask = rng.random((30, 40)) < 0.35
        labels, count = grouping.label_components(mask)
        assert (labels > 0).sum() == mask.sum()
        expected = _flood_count(mask)
        assert count == expected
        for label in range(1, count + 1):  # every label is one 8-connected piece
            assert _flood_count(labels == label) == 1


def _flood_count(mask):
    seen = np.zeros_like(mask, dtype=bool)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        count += 1
        stack = [start]
        seen[start] = True
        while stack:
            r, c = stack.pop()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    inside = 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1]
                    if inside and mask[rr, cc] and not seen[rr, cc]:
                        seen[rr, cc] = True
                        stack.append((rr, cc))
    return count


@pytest.mark.parametrize(
    ("digits", "gap", "text"),
    [
        ([4], 0.3, "4"),
        ([1, 1], 0.25, "11"),
        ([1, 7], 0.08, "17"),
        ([0, 0], 0.0, "00"),  # touching side by side: cut at the outline notch
    ],
)
def test_images_of_the_same_strokes_read_the_same(predictor, tmp_path, digits, gap, text):
    strokes = write_number(digits, gap)
    reading = grouping.load_number_image(to_png(strokes, tmp_path / "n.png"), predictor)
    assert reading.text == text
    for digit in reading.digits:
        x0, y0, x1, y1 = digit.box
        assert 0 <= x0 < x1 and 0 <= y0 < y1


def test_an_image_with_a_detached_5_bar(predictor, tmp_path):
    body, bar = digit_strokes(5, 20)
    bar = [(x + 0.2 * HEIGHT, y - 0.08 * HEIGHT) for x, y in bar]
    strokes = [body, bar, *digit_strokes(3, 20 + 1.3 * HEIGHT)]
    reading = grouping.load_number_image(to_png(strokes, tmp_path / "n.png"), predictor)
    assert reading.text == "53"


def test_a_bad_or_blank_image_is_one_sentence(predictor, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 20), 255).save(blank)
    with pytest.raises(grouping.ImageError, match="blank.png: the image is blank"):
        grouping.load_number_image(blank, predictor)
    with pytest.raises(grouping.ImageError, match="does not exist"):
        grouping.load_number_image(tmp_path / "nope.png", predictor)


def test_cli_predict_number_prints_the_number_then_each_digit(tmp_path, capsys, shipped_checkpoint):
    import json

    from mnist_desk.cli import main

    path = to_png(write_number([4, 2, 0, 7], gap=0.3), tmp_path / "n.png")
    assert main(["predict", "--number", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{path}: 4207"
    assert len(lines) == 5 and all(line.strip()[0] in "4207" and "%" in line for line in lines[1:])
    assert main(["predict", "--number", "--json", str(path), str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["number"] for row in rows] == ["4207", "4207"]
    boxes = [d["box"] for d in rows[0]["digits"]]
    assert all(x0 < x1 and y0 < y1 for x0, y0, x1, y1 in boxes)
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)


def test_cli_predict_number_bad_file_is_one_line(tmp_path, capsys, shipped_checkpoint):
    from mnist_desk.cli import main

    blank = tmp_path / "blank.png"
    Image.new("L", (40, 40), 255).save(blank)
    assert main(["predict", "--number", str(blank)]) == 2
    err = capsys.readouterr().err
    assert "blank.png: the image is blank" in err and "Traceback" not in err


def test_a_new_stroke_reads_only_the_groups_it_changes(predictor, monkeypatch):
    sizes = []
    original = predictor.all_probabilities
    monkeypatch.setattr(
        predictor, "all_probabilities", lambda x: sizes.append(len(x)) or original(x)
    )
    cache = grouping.ReadCache()
    strokes = write_number([4, 2, 0, 7, 3, 8, 5, 9], gap=0.25)
    first = grouping.read_number(strokes[:-1], PEN, predictor, cache=cache)
    second = grouping.read_number(strokes, PEN, predictor, cache=cache)
    uncached = grouping.read_number(strokes, PEN, predictor)
    assert first.text == "4207385" and second.text == uncached.text == "42073859"
    assert sizes[1] == 1  # only the 9 is new
    # batched and single reads may differ in the last float bits
    assert [d.confidence for d in second.digits] == pytest.approx(
        [d.confidence for d in uncached.digits], abs=1e-5
    )


# ----- parts that are never a digit alone (issue 14 follow-up) -----------------------------
def line(*points):
    return [tuple(p) for p in catmull_rom(list(points))]


def two_stroke_1(left: float):
    """A 1 as many people write it: a short flag up to the top, then the stem down."""
    top, stem_x = 40.0, left + 0.3 * HEIGHT
    flag = line(
        (left, top + 0.3 * HEIGHT), (stem_x - 0.12 * HEIGHT, top + 0.12 * HEIGHT), (stem_x, top)
    )
    stem = line(
        (stem_x, top),
        (stem_x - 0.02 * HEIGHT, top + 0.5 * HEIGHT),
        (stem_x - 0.04 * HEIGHT, top + HEIGHT),
    )
    return [flag, stem]


def short_hook_4(left: float):
    """A 4 whose hook (drawn first) stops a little short of its bar."""
    top = 40.0
    bar_x = left + 0.55 * HEIGHT
    hook = line(
        (left + 0.15 * HEIGHT, top + 0.02 * HEIGHT),
        (left, top + 0.42 * HEIGHT),
        (bar_x - 0.22 * HEIGHT, top + 0.4 * HEIGHT),
    )
    bar = line(
        (bar_x, top),
        (bar_x - 0.01 * HEIGHT, top + 0.5 * HEIGHT),
        (bar_x - 0.02 * HEIGHT, top + HEIGHT),
    )
    return [hook, bar]


def long_crossed_7(left: float):
    """A 7 crossed by a long slanted bar that reaches far past its own right edge."""
    top = 40.0
    body = line(
        (left, top),
        (left + 0.75 * HEIGHT, top + 0.02 * HEIGHT),
        (left + 0.3 * HEIGHT, top + HEIGHT),
    )
    cross = line(
        (left + 0.25 * HEIGHT, top + 0.65 * HEIGHT),
        (left + 1.0 * HEIGHT, top + 0.4 * HEIGHT),
        (left + 1.7 * HEIGHT, top + 0.15 * HEIGHT),
    )
    return [body, cross]


def test_a_two_stroke_1_is_one_digit(predictor):
    strokes = [*two_stroke_1(20), *digit_strokes(7, 20 + 0.7 * HEIGHT)]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0, 1], [2]]
    assert reading.text == "17"


def test_a_4_whose_hook_stops_short_of_its_bar_is_one_digit(predictor):
    strokes = [*digit_strokes(8, 20), *short_hook_4(20 + 1.0 * HEIGHT)]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0], [1, 2]]
    assert reading.text == "84"


def test_a_5_bar_floating_between_digits_joins_the_nearer_one(predictor):
    body, bar = digit_strokes(5, 20)
    # Off the body's top to the right, clear of it by 0.06 of the height; the 7 a little further.
    shift = max(x for x, _ in body) - min(x for x, _ in bar) + PEN + 0.06 * HEIGHT
    bar = [(x + shift, y) for x, y in bar]
    right = max(x for x, _ in bar) + PEN + 0.1 * HEIGHT
    strokes = [body, bar, *digit_strokes(7, right)]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0, 1], [2]]
    assert reading.text == "57"


def test_a_7_with_a_long_crossbar_is_one_digit(predictor):
    strokes = [*long_crossed_7(20), *digit_strokes(1, 20 + 2.0 * HEIGHT)]
    reading = grouping.read_number(strokes, PEN, predictor)
    assert [d.parts for d in reading.digits] == [[0, 1], [2]]
    assert reading.text == "71"


@pytest.mark.parametrize("kind", ["4", "7"])
def test_images_with_parts_that_are_never_a_digit_alone(predictor, tmp_path, kind):
    if kind == "4":
        strokes, text = [*digit_strokes(8, 20), *short_hook_4(20 + 1.0 * HEIGHT)], "84"
    else:
        strokes, text = [*long_crossed_7(20), *digit_strokes(1, 20 + 2.0 * HEIGHT)], "71"
    reading = grouping.load_number_image(to_png(strokes, tmp_path / "n.png"), predictor)
    assert reading.text == text


def test_an_image_of_a_1_touching_a_0_is_cut_in_two(predictor, tmp_path):
    """One blob barely wider than tall: the model's reading of the pieces decides the cut."""
    strokes = write_number([1, 0], gap=0.0)
    reading = grouping.load_number_image(to_png(strokes, tmp_path / "n.png"), predictor)
    assert reading.text == "10"
    assert reading.digits[0].box[2] <= reading.digits[1].box[0] + 1  # cut, not two copies


def _rings(count: int) -> np.ndarray:
    image = Image.new("1", (40 * count + 10, 60), 0)
    draw = ImageDraw.Draw(image)
    for i in range(count):
        draw.ellipse((5 + 38 * i, 5, 45 + 38 * i, 55), outline=1, width=5)
    mask = np.asarray(image, dtype=bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_an_outline_notch_marks_where_round_digits_touch():
    two = _rings(2)  # "00" with the sides merged: no thin column there
    found = grouping.notches(two, height=two.shape[0], edge=10)
    assert len(found) == 1 and abs(found[0] - two.shape[1] / 2) <= 3
    one = _rings(1)
    assert grouping.notches(one, height=one.shape[0], edge=10) == []


def test_cut_candidates_cross_few_strokes_at_the_touching_point():
    mask = np.zeros((40, 60), dtype=bool)
    mask[5:35, 5:8] = mask[5:35, 25:28] = True  # a thin 0: two sides…
    mask[5:8, 5:28] = mask[32:35, 5:28] = True  # …top and bottom
    mask[5:35, 28:31] = True  # a 1 touching its right side
    cuts = dict(grouping.candidate_cuts(mask, height=30.0, thin=4.5))
    one_stroke = grouping.CUT_PRIOR
    assert any(abs(c - 28) <= 2 and p >= one_stroke for c, p in cuts.items())  # touching column
    inside = [p for c, p in cuts.items() if 9 <= c <= 23]
    assert all(p <= one_stroke + grouping.CROSS_PRIOR for p in inside)  # inside the 0: two strokes


def test_hundreds_of_strokes_or_specks_are_refused_in_a_sentence(predictor, tmp_path):
    dashes = [[(5.0 * i, 10.0), (5.0 * i + 3, 14.0)] for i in range(grouping.MAX_PARTS + 1)]
    with pytest.raises(grouping.TooManyParts, match="121 separate strokes are too many"):
        grouping.read_number(dashes, PEN, predictor)
    noise = (np.random.default_rng(0).random((200, 1200)) * 255).astype(np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    with pytest.raises(grouping.ImageError, match="separate marks are too many"):
        grouping.load_number_image(tmp_path / "noise.png", predictor)


def test_a_sample_holding_two_digits_side_by_side_is_told_apart():
    zero_a, zero_b = digit_strokes(0, 20)[0], digit_strokes(0, 20 + 1.2 * HEIGHT)[0]
    assert grouping.two_digits_side_by_side([zero_a, zero_b])  # an "00" labelled 0
    assert not grouping.two_digits_side_by_side([zero_a])
    corner = [(0.0, 0.0), (0.0, 60.0), (50.0, 60.0)]  # a 4 whose stem stands apart
    stem = [(60.0, 10.0), (60.0, 100.0)]
    assert not grouping.two_digits_side_by_side([corner, stem])
    body, bar = digit_strokes(5, 20)
    assert not grouping.two_digits_side_by_side([body, [(x + 40, y) for x, y in bar]])


def _wide_rings(*lefts, width=110, height=60, pen=8):
    """Zeros drawn as rings (wider than tall) side by side, as one ink mask."""
    image = Image.new("L", (max(lefts) + width + 20, height + 20), 0)
    draw = ImageDraw.Draw(image)
    for left in lefts:
        draw.ellipse((left, 10, left + width, 10 + height), outline=255, width=pen)
    mask = np.array(image) > 0
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def test_no_cut_opens_a_digits_loop(monkeypatch):
    """A wide 0 in an image was cut in two and read "67": the middle of a ring holds the least
    ink, so it was a candidate cut. A loop belongs to one digit; the join of two touching
    zeros, between their loops, is still offered."""
    wide_zero = _wide_rings(10)
    height = wide_zero.shape[0]
    loops = grouping.loop_spans(wide_zero, height)
    assert len(loops) == 1
    (a, b) = loops[0]

    def inside(cuts):
        return [c for c, _ in cuts if a < c < b]

    assert inside(grouping.candidate_cuts(wide_zero, height, 12)) == []
    with monkeypatch.context() as patch:
        patch.setattr(grouping, "loop_spans", lambda *_: [])
        assert inside(grouping.candidate_cuts(wide_zero, height, 12)) != []  # what it was

    two = _wide_rings(10, 112)  # the second ring's left side lies on the first one's right side
    first, second = sorted(grouping.loop_spans(two, height))
    cuts = [c for c, _ in grouping.candidate_cuts(two, height, 12)]
    assert any(first[1] <= c <= second[0] for c in cuts)


def test_overlapping_zeros_can_still_be_cut_through_the_lens_between_them():
    """Overlapping rings enclose a lens between their loops: it is neither digit's loop."""
    two = _wide_rings(10, 90)  # 30 px of overlap
    height = two.shape[0]
    loops = grouping.loop_spans(two, height)
    assert len(loops) == 2  # the rings' own holes, not the lens
    (a, b), (c, d) = sorted(loops)
    cuts = [x for x, _ in grouping.candidate_cuts(two, height, 12)]
    assert any(b < x < c for x in cuts)
