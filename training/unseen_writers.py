"""The adoption check for a new recipe: how a leave-writers-out model reads the writers it
never saw, over several placements, through the app's own strokes → 28×28 path.

Neither syn nor the MNIST test set is read, so choosing by this cannot tune to them. Each
seed places every left-out digit anew (``benchmarks/strokes.py``'s placement: size, aspect,
position, pen), so a difference of one or two digits is not mistaken for a gain.

    python training/unseen_writers.py runs/v4/lwo-calibrated/desknet.pt runs/v5/lwo/desknet.pt
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from strokes import load_unipen, read_samples  # noqa: E402

from mnist_desk.core.predict import Predictor  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="leave-writers-out checkpoints to compare")
    parser.add_argument("--strokes", default="../shared/strokes", type=Path)
    parser.add_argument("--writers", default="gmd/kast,val/val02")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args(argv)
    left_out = set(args.writers.split(","))
    samples = [
        s
        for s in load_unipen(args.strokes, "unipen_train_digits.json.gz")
        if s["writer_id"] in left_out
    ]
    results = {}
    for path in args.models:
        predictor = Predictor.from_path(path)
        right = []
        for seed in range(args.seeds):
            _, labels, _, probs = read_samples(predictor, samples, np.random.default_rng(seed))
            right.append(probs.argmax(1) == labels)
        hits = np.concatenate(right)
        results[path] = {
            "accuracy": round(float(hits.mean()), 4),
            "per_seed": [round(float(r.mean()), 4) for r in right],
            "digits": len(samples),
        }
        print(f"{path}: {hits.mean() * 100:.2f}% over {args.seeds} placements of "
              f"{len(samples)} digits (per seed: {results[path]['per_seed']})", flush=True)  # fmt: skip
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
