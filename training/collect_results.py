"""Write training/RESULTS.md from the runs' own summary.json files (no hand-typed numbers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECIPES = {
    "tutorial-mlp": "training/mlp.sh",
    "tutorial-mlp-sigmoid": "training/sigmoid_vs_relu.sh",
    "tutorial-mlp-relu": "training/sigmoid_vs_relu.sh",
    "tutorial-lenet5": "training/lenet5.sh",
    "tutorial-cnn": "training/cnn_adam.sh",
    "tutorial-cnn5": "training/cnn5.sh",
    "desknet": "training/desknet.sh",
}


def main(runs: Path = ROOT / "runs") -> int:
    rows = []
    for name, recipe in RECIPES.items():
        summary_path = runs / name / "summary.json"
        if not summary_path.exists():
            rows.append(f"| {name} | `{recipe}` | not run yet | | | | |")
            continue
        summary = json.loads(summary_path.read_text())
        config, best = summary["config"], summary["best"]
        history = json.loads((runs / name / "history.json").read_text())
        peak = max(h["test_acc"] for h in history)
        rows.append(
            f"| {config['model']} | `{recipe}` | {best['test_acc'] * 100:.2f}% "
            f"(epoch {best['epoch']}, by {best['selected_by']}) | {peak * 100:.2f}% | "
            f"{len(history)} × {config['optimizer']} lr {config['lr']:g} | "
            f"{summary['seconds'] / 60:.1f} min | {summary['device']} |"
        )
    text = (
        "# Training results\n\n"
        "Measured here with the recipes in this folder on the genuine MNIST test set (10,000).\n"
        "Written by `python training/collect_results.py` from each run's `summary.json`.\n"
        '"Kept" is the checkpoint the recipe keeps (last epoch, or best validation epoch);\n'
        '"peak" is the best test accuracy seen in any epoch, for reference only (choosing by\n'
        "it would be peeking at the test set).\n\n"
        "| model | recipe | kept test accuracy | peak test acc | epochs × optimizer | time | device |\n"
        "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    (ROOT / "training" / "RESULTS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(*(Path(a) for a in sys.argv[1:])))
