"""Accuracy on drawn digits, through exactly the app's stroke → 28×28 → Predictor path.

Sections (none of their data is trained on):
* our own digits (mnist_desk.core.handwriting, 7 styles each);
* UNIPEN "syn" (../shared/strokes, 17 writers, the development set): per digit, per writer;
* the conventions set (core/handsets.py, written by hand as coordinates): per convention;
* the non-digit set (core/handsets.py, 220 drawings): share read as a digit with confidence
  ≥ the app's "Not sure" threshold, per kind;
* calibration: expected calibration error (15 bins) with and without the checkpoint's
  temperature, on the MNIST test set and on syn;
* with ``--lwo-model``: a model trained without two training writers reads those writers.

Each real digit is placed on a 280 px pad as a person would draw it: a random size
(40–90% of the pad), aspect and position, with the app's default pen width ±40%.

    python benchmarks/strokes.py [--model CKPT] [--strokes ../shared/strokes] [--grid out.png]
        [--lwo-model runs/handwriting-lwo/desknet.pt --lwo-writers gmd/kast,val/val02]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from mnist_desk.core.calibration import calibrate_probabilities, expected_calibration_error
from mnist_desk.core.handsets import read_sets
from mnist_desk.core.handwriting import STYLES, default_pen_width, our_digit, place_strokes
from mnist_desk.core.predict import NOT_SURE_BELOW, Predictor
from mnist_desk.core.preprocess import strokes_to_mnist
from mnist_desk.paths import default_checkpoint_path

CANVAS = 280.0
STROKES_ENV = "MNIST_DESK_STROKES"


def load_unipen(folder: Path, name: str = "unipen_syn_digits.json.gz") -> list[dict]:
    with gzip.open(folder / name, "rt") as handle:
        return json.load(handle)


def place_like_a_person(strokes, rng: np.random.Generator):
    size = rng.uniform(0.4, 0.9)
    aspect = rng.uniform(0.9, 1.1)
    offset = rng.uniform(-0.5, 0.5, size=2) * (1 - size)
    placed = place_strokes(strokes, CANVAS, (size * aspect, size), tuple(offset))
    pen = default_pen_width(CANVAS) * rng.uniform(0.6, 1.4)
    return placed, pen


def per_digit_table(rows: list[tuple[int, int]]) -> tuple[str, float]:
    hits: dict[int, list[int]] = defaultdict(list)
    for label, predicted in rows:
        hits[label].append(int(label == predicted))
    header = "| digit | " + " | ".join(str(d) for d in range(10)) + " | all |"
    line = "|---" * 12 + "|"
    accuracy = np.mean([label == predicted for label, predicted in rows])
    values = " | ".join(f"{np.mean(hits[d]) * 100:.1f}" if hits[d] else "–" for d in range(10))
    return f"{header}\n{line}\n| accuracy % | {values} | {accuracy * 100:.1f} |", float(accuracy)


def per_writer_table(writers, rows) -> str:
    by_writer = defaultdict(list)
    for w, (label, pred) in zip(writers, rows, strict=True):
        by_writer[w].append(label == pred)
    lines = ["| writer | digits | accuracy % |", "|---|---:|---:|"]
    for writer, hits in sorted(by_writer.items(), key=lambda item: np.mean(item[1])):
        lines.append(f"| {writer} | {len(hits)} | {np.mean(hits) * 100:.1f} |")
    return "\n".join(lines)


def read_samples(predictor, samples, rng) -> tuple[list, np.ndarray, list, np.ndarray]:
    images, labels, writers = [], [], []
    for sample in samples:
        strokes, pen = place_like_a_person(sample["strokes"], rng)
        image = strokes_to_mnist(strokes, pen)
        if image is None:
            continue
        images.append(image)
        labels.append(sample["label"])
        writers.append(sample["writer_id"])
    return images, np.array(labels), writers, predictor.all_probabilities(np.stack(images))


def our_digits_section(predictor) -> None:
    ours, per_style = [], defaultdict(list)
    for digit in range(10):
        for style in STYLES:
            strokes, pen = our_digit(digit, style, CANVAS)
            predicted = int(predictor.all_probabilities(strokes_to_mnist(strokes, pen)).argmax())
            ours.append((digit, predicted))
            per_style[style].append(digit == predicted)
    table, _ = per_digit_table(ours)
    print(f"Our digits ({len(ours)} drawings, {len(STYLES)} styles per digit):\n{table}")
    print("by style: " + ", ".join(f"{s} {np.mean(v) * 100:.0f}%" for s, v in per_style.items()))


def sets_section(predictor) -> None:
    conventions, confident = read_sets(predictor)
    total = sum(len(v) for v in conventions.values())
    print(f"\nConventions set ({total} drawings written by hand, core/handsets.py):")
    print("| convention | drawings | read correctly % |\n|---|---:|---:|")
    for name, hits in conventions.items():
        print(f"| {name} | {len(hits)} | {np.mean(hits) * 100:.1f} |")
    flags = [flag for kind in confident.values() for flag in kind]
    print(
        f"\nNon-digit set ({len(flags)} drawings): read as a digit with confidence ≥ "
        f"{NOT_SURE_BELOW:.0%}: **{np.mean(flags) * 100:.1f}%** (goal ≤ 5%)"
    )
    print("| kind | drawings | confidently read as a digit % |\n|---|---:|---:|")
    for kind, kind_flags in confident.items():
        print(f"| {kind} | {len(kind_flags)} | {np.mean(kind_flags) * 100:.1f} |")


def calibration_section(predictor, syn_probs, syn_labels, data: str | None) -> None:
    """ECE with T = 1 and with the fitted T (same model, same answers)."""
    temperature = predictor.temperature
    rows = []
    sets = [("syn (drawn)", syn_probs, syn_labels)]
    try:
        from mnist_desk.core.data import load_mnist

        test = load_mnist(data).test
        probs = predictor.all_probabilities(test.images.numpy().astype(np.float32) / 255.0)
        sets.insert(0, ("MNIST test", probs, test.labels.numpy()))
    except Exception as exc:  # the data folder is optional for this benchmark
        print(f"\n(MNIST not found: {exc})")
    for name, probs, labels in sets:
        raw = calibrate_probabilities(probs, predictor.calibration, undo=True)  # T = 1, no shift
        rows.append(
            (
                name,
                expected_calibration_error(raw, labels),
                expected_calibration_error(probs, labels),
            )
        )
    print(f"\nCalibration (temperature {temperature:.3f}, fitted on a validation split):")
    print("| set | ECE before (T = 1) % | ECE after % |\n|---|---:|---:|")
    for name, before, after in rows:
        print(f"| {name} | {before * 100:.2f} | {after * 100:.2f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_checkpoint_path()))
    parser.add_argument(
        "--strokes", default=os.environ.get(STROKES_ENV, "../shared/strokes"), type=Path
    )
    parser.add_argument("--data", default=os.environ.get("MNIST_DESK_DATA"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", help="write the misread real digits as a grid PNG")
    parser.add_argument("--lwo-model", help="a model trained without --lwo-writers")
    parser.add_argument("--lwo-writers", default="gmd/kast,val/val02")
    args = parser.parse_args(argv)
    predictor = Predictor.from_path(args.model)
    print(f"model: {args.model} ({predictor.checkpoint.describe()})\n")
    our_digits_section(predictor)
    sets_section(predictor)

    if not (args.strokes / "unipen_syn_digits.json.gz").exists():
        print(f"\n(UNIPEN strokes not found in {args.strokes}; set --strokes or ${STROKES_ENV})")
        return 0
    rng = np.random.default_rng(args.seed)
    images, labels, writers, probs = read_samples(predictor, load_unipen(args.strokes), rng)
    predicted = probs.argmax(1)
    rows = list(zip(labels.tolist(), predicted.tolist(), strict=True))
    table, _ = per_digit_table(rows)
    print(f"\nUNIPEN syn, development set ({len(rows)} digits, {len(set(writers))} writers):")
    print(table)
    print(f"\n{per_writer_table(writers, rows)}")
    calibration_section(predictor, probs, labels, args.data)

    if args.lwo_model:
        left_out = set(args.lwo_writers.split(","))
        samples = [
            s
            for s in load_unipen(args.strokes, "unipen_train_digits.json.gz")
            if s["writer_id"] in left_out
        ]
        lwo = Predictor.from_path(args.lwo_model)
        _, lwo_labels, lwo_writers, lwo_probs = read_samples(lwo, samples, rng)
        lwo_rows = list(zip(lwo_labels.tolist(), lwo_probs.argmax(1).tolist(), strict=True))
        table, _ = per_digit_table(lwo_rows)
        print(f"\nLeave-writers-out: {args.lwo_model} never saw {', '.join(sorted(left_out))}:")
        print(f"{table}\n\n{per_writer_table(lwo_writers, lwo_rows)}")

    if args.grid:
        import torch

        from mnist_desk.core.gallery import captioned_grid

        wrong = [i for i, (label, pred) in enumerate(rows) if label != pred][:320]
        grid = captioned_grid(
            torch.from_numpy(np.stack([images[i] for i in wrong])) if wrong else torch.zeros(0),
            [f"{rows[i][0]}>{'?' if rows[i][1] == 10 else rows[i][1]}" for i in wrong],
        )
        grid.save(args.grid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
