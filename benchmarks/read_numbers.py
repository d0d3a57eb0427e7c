"""Reading whole numbers: grouping + the digit model, on real people's pen strokes.

Builds numbers of 2–8 digits from the UNIPEN "syn" development strokes (../shared/strokes;
never trained on): each digit a random writer's sample of that label, random height (±15%),
baseline (±10% of the height) and pen width, with random gaps between neighbours — a fifth
of them touching or slightly overlapping. Each number is read three times: as pad strokes
(``read_number``), as pad strokes with stroke timings (see ``stroke_times``: assumed, the
files have none), and as a dark-on-white PNG (``load_number_image``). Reports digit accuracy,
whole-number accuracy by length, and segmentation errors (merged / split groups).
``--latency`` also measures stroke end → number shown on the real window (offscreen).

    python benchmarks/read_numbers.py [--per-length 150] [--latency 200] [--file NAME]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_desk.core.grouping import load_number_image, read_number, two_digits_side_by_side
from mnist_desk.core.predict import Predictor, reading_state
from mnist_desk.core.preprocess import strokes_to_mnist
from mnist_desk.paths import default_checkpoint_path

STROKES_ENV = "MNIST_DESK_STROKES"
DEV_FILE = "unipen_syn_digits.json.gz"
PEN_PER_HEIGHT = 0.09  # the pad's default pen (17.5) over a digit filling 70% of it (196)


def strokes_folder() -> Path:
    here = Path(__file__).resolve().parents[1]
    return Path(os.environ.get(STROKES_ENV, here.parent / "shared" / "strokes"))


def load_by_label(name: str) -> dict[int, list[list]]:
    with gzip.open(strokes_folder() / name, "rt") as handle:
        samples = json.load(handle)
    by_label: dict[int, list[list]] = defaultdict(list)
    for sample in samples:
        # a sample that is two digits labelled as one (the training file's "00" labelled 0)
        # would count as a split wherever the reader is right; syn has none
        if not two_digits_side_by_side(sample["strokes"]):
            by_label[int(sample["label"])].append(sample["strokes"])
    return by_label


def draw_gap(rng: np.random.Generator, pen: float, height: float) -> tuple[float, str]:
    """Gap between two neighbours' ink boxes, and its kind."""
    if rng.random() < 0.2:
        kind = "overlap" if rng.random() < 0.5 else "touching"
        ink_gap = -rng.uniform(0.02, 0.08) * height if kind == "overlap" else 0.0
    else:
        kind, ink_gap = "apart", rng.uniform(0.05, 0.35) * height
    return ink_gap + pen, kind  # between the pen's centre lines


def build_number(by_label, length: int, rng: np.random.Generator):
    """(digits, strokes in pad units, pen width, per-digit stroke index lists, gap kinds)."""
    base = rng.uniform(80, 140)
    pen = base * PEN_PER_HEIGHT * rng.uniform(0.7, 1.3)
    digits = [int(d) for d in rng.integers(0, 10, size=length)]
    strokes, owners, kinds = [], [], []
    x = 20.0
    for position, digit in enumerate(digits):
        unit = by_label[digit][int(rng.integers(len(by_label[digit])))]
        pts = np.array([p for s in unit for p in s], dtype=np.float64)
        height = base * rng.uniform(0.85, 1.15)
        scale = height / max(float(np.ptp(pts[:, 1])), 0.3)
        left, top = pts[:, 0].min(), pts[:, 1].min()
        y = 40.0 + rng.uniform(-0.1, 0.1) * base
        if position > 0:
            gap, kind = draw_gap(rng, pen, base)
            x += gap
            kinds.append(kind)
        start = len(strokes)
        for stroke in unit:
            strokes.append([(x + (px - left) * scale, y + (py - top) * scale) for px, py in stroke])
        owners.append(list(range(start, len(strokes))))
        x += float(np.ptp(pts[:, 0])) * scale
    return digits, strokes, pen, owners, kinds


PEN_SPEED = (2.0, 5.0)  # digit heights per second while the pen is down (assumed)
LIFT_IN_DIGIT = (0.08, 0.35)  # s, pen up between two strokes of one digit (assumed)
LIFT_BETWEEN = (0.15, 0.6)  # s, pen up moving on to the next digit (assumed)
THINKING = (0.1, (1.2, 3.0))  # chance of a longer stop between digits, and its length (assumed)


def stroke_times(strokes, owners, height: float, rng: np.random.Generator):
    """(start, end) seconds per stroke, as a person might write: an assumption, not data.

    The stroke files keep each trace's points but no clock, so timings are made up from
    plausible ranges (above): a pen-down time from the trace's length at a steady speed,
    short lifts inside a digit, longer ones between digits and now and then a stop to
    think. They test that the pause rule does no harm at these rates; they cannot show
    what real writers' pauses do. Drawn from their own generator, so the numbers read are
    the same as without timings.
    """
    speed = rng.uniform(*PEN_SPEED) * height
    first_of = {own[0] for own in owners}
    times, clock = [], 0.0
    for i, stroke in enumerate(strokes):
        if i > 0:
            if i not in first_of:
                clock += rng.uniform(*LIFT_IN_DIGIT)
            elif rng.random() < THINKING[0]:
                clock += rng.uniform(*THINKING[1])
            else:
                clock += rng.uniform(*LIFT_BETWEEN)
        pts = np.asarray(stroke, dtype=np.float64)
        length = float(np.hypot(*np.diff(pts, axis=0).T).sum()) if len(pts) > 1 else 0.0
        duration = max(0.03, length / speed)
        times.append((clock, clock + duration))
        clock += duration
    return times


def to_png(strokes, pen: float, path: Path) -> list[tuple[float, float]]:
    """Dark ink on white, 1 pad unit = 1 px, as a scan would be; returns nothing useful."""
    pts = np.array([p for s in strokes for p in s])
    margin = pen + 10
    width = int(pts[:, 0].max() + margin)
    height = int(pts[:, 1].max() + margin)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    r = pen / 2
    for stroke in strokes:
        if len(stroke) > 1:
            draw.line(stroke, fill=20, width=max(1, round(pen)), joint="curve")
        for px, py in stroke:
            draw.ellipse((px - r, py - r, px + r, py + r), fill=20)
    image.save(path)


def segmentation(groups: list[list[int]], owners: list[list[int]]) -> tuple[int, int]:
    """(merged groups, split digits) from which strokes each group used."""
    owner_of = {s: d for d, strokes in enumerate(owners) for s in strokes}
    merged = sum(len({owner_of[s] for s in g}) > 1 for g in groups)
    pieces: dict[int, int] = defaultdict(int)
    for g in groups:
        for d in {owner_of[s] for s in g}:
            pieces[d] += 1
    split = sum(count > 1 for count in pieces.values())
    return merged, split


def box_segmentation(boxes, strokes, owners) -> tuple[int, int]:
    """Images: a group is merged if it holds two digits' centres; a digit split if two groups sit on it."""
    centres = []
    spans = []
    for own in owners:
        pts = np.array([p for s in own for p in strokes[s]])
        centres.append((pts[:, 0].min() + pts[:, 0].max()) / 2)
        spans.append((pts[:, 0].min(), pts[:, 0].max()))
    merged = sum(sum(b[0] <= c <= b[2] for c in centres) > 1 for b in boxes)
    group_centres = [(b[0] + b[2]) / 2 for b in boxes]
    split = sum(sum(lo <= c <= hi for c in group_centres) > 1 for lo, hi in spans)
    return merged, split


def oracle_text(predictor, strokes, pen, owners) -> str:
    """The number read with perfect grouping: what the digit model alone allows.

    Each digit is shown as number mode shows it, "?" when the model calls it not a digit.
    """
    images = np.stack([strokes_to_mnist([strokes[i] for i in own], pen) for own in owners])
    text = ""
    for probs in predictor.all_probabilities(images):
        not_digit = float(probs[10]) if len(probs) > 10 else 0.0
        state = reading_state(np.asarray(probs[:10]), not_digit)
        text += "?" if state == "not-a-digit" else str(int(np.argmax(probs[:10])))
    return text


def run_accuracy(
    predictor, by_label, per_length: int, seed: int, lengths: Sequence[int] = range(2, 9)
) -> dict:
    rng = np.random.default_rng(seed)
    clock_rng = np.random.default_rng([seed, 1])  # timings apart: the same numbers either way
    modes = ("strokes", "timed", "image")
    stats = {mode: defaultdict(lambda: defaultdict(int)) for mode in modes}  # length → counter
    failures = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        for length in lengths:
            for n in range(per_length):
                digits, strokes, pen, owners, kinds = build_number(by_label, length, rng)
                truth = "".join(map(str, digits))
                png = Path(tmp) / f"{length}_{n}.png"
                to_png(strokes, pen, png)
                height = max(p[1] for s in strokes for p in s) - min(
                    p[1] for s in strokes for p in s
                )
                times = stroke_times(strokes, owners, height, clock_rng)
                readings = {
                    "strokes": read_number(strokes, pen, predictor),
                    "timed": read_number(strokes, pen, predictor, times=times),
                    "image": load_number_image(png, predictor),
                }
                alone = oracle_text(predictor, strokes, pen, owners)
                for mode in modes:
                    stats[mode][length]["oracle_right"] += alone == truth
                for mode, reading in readings.items():
                    if mode != "image":
                        merged, split = segmentation([d.parts for d in reading.digits], owners)
                    else:
                        merged, split = box_segmentation(
                            [d.box for d in reading.digits], strokes, owners
                        )
                    row = stats[mode][length]
                    row["numbers"] += 1
                    row["right"] += reading.text == truth
                    row["digits"] += length
                    row["merged"] += merged
                    row["split"] += split
                    if len(reading.digits) == length and not merged and not split:
                        row["segmented"] += 1
                        row["digits_right"] += sum(
                            d.digit == t for d, t in zip(reading.digits, digits, strict=True)
                        )
                    if reading.text != truth and len(failures[mode]) < 400:
                        cause = "merged" if merged else "split" if split else "misread"
                        failures[mode].append((truth, reading.text, cause, kinds))
    return {"stats": stats, "failures": failures}


def report_accuracy(result: dict) -> list[str]:
    lines = []
    for mode, by_length in result["stats"].items():
        title = {
            "strokes": "pad strokes",
            "timed": "pad strokes with assumed timings",
            "image": "PNG images",
        }[mode]
        lines.append(f"\n**{title}**\n")
        lines.append(
            "| digits | numbers | whole number right | with perfect grouping | digit accuracy | "
            "merged groups | split digits |\n|---:|---:|---:|---:|---:|---:|---:|"
        )
        total = defaultdict(int)
        for length, row in sorted(by_length.items()):
            for key, value in row.items():
                total[key] += value
            lines.append(_row(str(length), row))
        lines.append(_row("all", total))
        causes = defaultdict(int)
        for _truth, _read, cause, _kinds in result["failures"][mode]:
            causes[cause] += 1
        lines.append(f"\nWrong numbers by cause: {dict(causes)}")
        examples = ", ".join(f"{t}→{r} ({c})" for t, r, c, _ in result["failures"][mode][:12])
        lines.append(f"Examples: {examples}")
    return lines


def _row(name: str, row: dict) -> str:
    digit_acc = row["digits_right"] / max(1, row["digits"])
    return (
        f"| {name} | {row['numbers']} | {row['right'] / row['numbers']:.1%} | "
        f"{row['oracle_right'] / row['numbers']:.1%} | {digit_acc:.1%} | "
        f"{row['merged']} | {row['split']} |"
    )


def core_latency(predictor, by_label, repeats: int, seed: int) -> str:
    """The worker's part alone: reading an 8-digit number after its last stroke (cache warm
    with the other strokes, as on the pad), wall and CPU time of this thread."""
    from mnist_desk.core.grouping import ReadCache

    rng = np.random.default_rng(seed)
    wall, cpu = [], []
    for _ in range(repeats):
        _digits, strokes, pen, _owners, _kinds = build_number(by_label, 8, rng)
        cache = ReadCache()
        read_number(strokes[:-1], pen, predictor, cache=cache)
        t0, c0 = time.perf_counter(), time.thread_time()
        read_number(strokes, pen, predictor, cache=cache)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    w, c = np.asarray(wall) * 1000, np.asarray(cpu) * 1000
    return (
        f"read_number after the last stroke, 8 digits, {repeats} numbers: wall p50 "
        f"{np.percentile(w, 50):.1f} / p99 {np.percentile(w, 99):.1f} ms; CPU p50 "
        f"{np.percentile(c, 50):.1f} / p99 {np.percentile(c, 99):.1f} ms"
    )


def gui_latency(by_label, repeats: int, seed: int) -> str:
    """Stroke end → number shown, on the real window, 8-digit numbers."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from latency import ready_window
    from PySide6.QtCore import QEventLoop

    app, window = ready_window()
    window.pad.number_check.setChecked(True)
    rng = np.random.default_rng(seed)
    shown = {}
    window.pad.number_shown.connect(lambda rid: shown.__setitem__(rid, time.perf_counter()))
    times = []
    for _ in range(repeats):
        _digits, strokes, pen, _owners, _kinds = build_number(by_label, 8, rng)
        scale = 250.0 / max(p[1] for s in strokes for p in s)  # fit the pad's height
        strokes = [[(x * scale, y * scale) for x, y in s] for s in strokes]
        window.pad.canvas.set_pen_width(pen * scale)
        window.pad.canvas.set_strokes(strokes[:-1])
        start_id = window.pad._request_id
        while start_id not in shown:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        start = time.perf_counter()
        window.pad.canvas.set_strokes(strokes)  # what the last stroke's end does
        request_id = window.pad._request_id
        while request_id not in shown:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        times.append(shown[request_id] - start)
    window.close()
    ms = np.asarray(times) * 1000
    return (
        f"stroke end → number shown, 8 digits, {repeats} numbers: p50 {np.percentile(ms, 50):.1f} "
        f"ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms"
    )


def _lengths(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(part) for part in text.split("-", 1))
        return list(range(low, high + 1))
    return [int(part) for part in text.split(",") if part]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-length", type=int, default=150, help="numbers per length 2–8")
    parser.add_argument("--latency", type=int, default=0, help="8-digit numbers to time (GUI)")
    parser.add_argument("--file", default=DEV_FILE, help="strokes file in the strokes folder")
    parser.add_argument("--model", help="checkpoint (default: the shipped model)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--lengths", default="2-8", help="number lengths to build: 2-8, or a list such as 4,8"
    )
    args = parser.parse_args(argv)
    lengths = _lengths(args.lengths)
    import torch

    torch.set_num_threads(1)  # as the app's inference worker
    by_label = load_by_label(args.file)
    predictor = Predictor.from_path(args.model or default_checkpoint_path())
    print(f"Numbers from {args.file}, model {predictor.name}, seed {args.seed}")
    if args.per_length:
        t0 = time.perf_counter()
        result = run_accuracy(predictor, by_label, args.per_length, args.seed, lengths)
        print("\n".join(report_accuracy(result)))
        print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.latency:
        print("\n" + core_latency(predictor, by_label, args.latency, args.seed))
        print(gui_latency(by_label, args.latency, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
