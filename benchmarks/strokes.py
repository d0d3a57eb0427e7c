"""Accuracy on drawn digits, through exactly the app's stroke → 28×28 → Predictor path.

Two sets: our own digits (mnist_desk.core.handwriting, 7 styles each) and real people's
pen trajectories (UNIPEN "syn", ../shared/strokes, 17 writers; never used for training).
Each real digit is placed on a 280 px pad as a person would draw it: a random size
(40–90% of the pad), aspect and position, with the app's default pen width ±40%.

    python benchmarks/strokes.py [--model CKPT] [--strokes ../shared/strokes] [--grid out.png]
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

from mnist_desk.core.handwriting import STYLES, default_pen_width, our_digit, place_strokes
from mnist_desk.core.predict import Predictor
from mnist_desk.core.preprocess import strokes_to_mnist
from mnist_desk.paths import default_checkpoint_path

CANVAS = 280.0
STROKES_ENV = "MNIST_DESK_STROKES"


def load_unipen(folder: Path) -> list[dict]:
    with gzip.open(folder / "unipen_syn_digits.json.gz", "rt") as handle:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(default_checkpoint_path()))
    parser.add_argument(
        "--strokes", default=os.environ.get(STROKES_ENV, "../shared/strokes"), type=Path
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", help="write the misread real digits as a grid PNG")
    args = parser.parse_args(argv)
    predictor = Predictor.from_path(args.model)
    print(f"model: {args.model} ({predictor.checkpoint.describe()})\n")

    ours = []
    per_style = defaultdict(list)
    for digit in range(10):
        for style in STYLES:
            strokes, pen = our_digit(digit, style, CANVAS)
            predicted = predictor.top_k(strokes_to_mnist(strokes, pen), 1)[0][0]
            ours.append((digit, predicted))
            per_style[style].append(digit == predicted)
    table, accuracy = per_digit_table(ours)
    print(f"Our digits ({len(ours)} drawings, {len(STYLES)} styles per digit):\n{table}")
    print("by style: " + ", ".join(f"{s} {np.mean(v) * 100:.0f}%" for s, v in per_style.items()))

    if not (args.strokes / "unipen_syn_digits.json.gz").exists():
        print(f"\n(UNIPEN strokes not found in {args.strokes}; set --strokes or ${STROKES_ENV})")
        return 0
    rng = np.random.default_rng(args.seed)
    samples = load_unipen(args.strokes)
    images, labels, writers = [], [], []
    for sample in samples:
        strokes, pen = place_like_a_person(sample["strokes"], rng)
        image = strokes_to_mnist(strokes, pen)
        if image is None:
            continue
        images.append(image)
        labels.append(sample["label"])
        writers.append(sample["writer_id"])
    probs = predictor.probabilities(np.stack(images))
    predicted = probs.argmax(1)
    rows = list(zip(labels, predicted.tolist(), strict=True))
    table, accuracy = per_digit_table(rows)
    print(f"\nUNIPEN real pen strokes ({len(rows)} digits, {len(set(writers))} writers):\n{table}")
    by_writer = defaultdict(list)
    for w, (label, pred) in zip(writers, rows, strict=True):
        by_writer[w].append(label == pred)
    worst = sorted((np.mean(v), w) for w, v in by_writer.items())[:3]
    print("weakest writers: " + ", ".join(f"{w} {a * 100:.1f}%" for a, w in worst))
    if args.grid:
        import torch

        from mnist_desk.core.gallery import captioned_grid

        wrong = [i for i, (label, pred) in enumerate(rows) if label != pred][:320]
        grid = captioned_grid(
            torch.from_numpy(np.stack([images[i] for i in wrong])) if wrong else torch.zeros(0),
            [f"{rows[i][0]}>{rows[i][1]}" for i in wrong],
        )
        grid.save(args.grid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
