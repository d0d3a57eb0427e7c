"""Write resources/MODEL_CARD.md for the shipped checkpoint, measuring what it states.

    python training/model_card.py [--run runs/desknet] [--data ../shared/mnist]

The test accuracy is re-measured here on the shipped file itself (not copied from the log),
and the md5 is of the exact bytes in resources/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=str(ROOT / "runs" / "desknet"))
    parser.add_argument("--data", default=os.environ.get("MNIST_DESK_DATA", "../shared/mnist"))
    args = parser.parse_args(argv)

    import torch

    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.data import load_mnist
    from mnist_desk.core.device import select_device
    from mnist_desk.core.models import count_parameters
    from mnist_desk.core.train import evaluate
    from mnist_desk.paths import default_checkpoint_path

    shipped = default_checkpoint_path()
    md5 = hashlib.md5(shipped.read_bytes()).hexdigest()
    checkpoint = load_checkpoint(shipped)
    summary = json.loads((Path(args.run) / "summary.json").read_text())
    history = json.loads((Path(args.run) / "history.json").read_text())
    config = checkpoint.train_config
    model = checkpoint.build()
    device = select_device("cpu")
    result = evaluate(
        model,
        load_mnist(args.data, download=False).test,
        device,
        normalization=checkpoint.normalization,
    )
    per_class = result.per_class_accuracy()
    wrong = int((result.predictions != result.labels).sum())
    command = (
        f"mnist-desk train --arch {config['model']} --epochs {config['epochs']} "
        f"--batch-size {config['batch_size']} --optimizer {config['optimizer']} "
        f"--lr {config['lr']:g} --weight-decay {config['weight_decay']:g} "
        f"--schedule {config['schedule']}{' --augment' if config['augment'] else ''} "
        f"--select-by {config['select_by']} --seed {config['seed']} --data ../shared/mnist "
        f"--out runs/desknet"
    )
    card = f"""# Model card: `resources/desknet.pt`

The model the app ships and starts with: **desknet**, a 5-layer CNN with BatchNorm
({count_parameters(model):,} parameters, {shipped.stat().st_size / 1024:.0f} KiB).

| property | value |
|---|---|
| test accuracy (genuine MNIST test set, 10,000 digits, re-measured on this file) | **{result.accuracy * 100:.2f}%** ({wrong} errors) |
| test loss | {result.loss:.4f} |
| md5 of `resources/desknet.pt` | `{md5}` |
| recipe | `training/desknet.sh` |
| command | `{command}` |
| seed | {config["seed"]} |
| data | MNIST 60,000 training digits (`../shared/mnist`, torchvision layout), no validation split |
| epochs | {config["epochs"]} (fixed in advance; the last epoch is shipped — no choice made on the test set) |
| optimizer | {config["optimizer"]} lr {config["lr"]:g} (one-cycle), weight decay {config["weight_decay"]:g}, batch {config["batch_size"]} |
| augmentation | random rotation ±12°, scale 0.85–1.1, shear ±0.25, shift ±2 px, stroke thicker/thinner (30%) — how people draw with a mouse |
| normalisation | mean {checkpoint.normalization[0]}, std {checkpoint.normalization[1]} (stored in the checkpoint) |
| training time | {summary["seconds"] / 60:.1f} min on {summary["device"]} ({platform.machine()}, 2 cores, shared with other work) |
| versions | torch {checkpoint.versions.get("torch")}, mnist-desk {checkpoint.versions.get("mnist-desk")} |
| created | {checkpoint.created} |

Per-class test accuracy: {", ".join(f"{d}: {a * 100:.2f}%" for d, a in enumerate(per_class))}.

Test accuracy by epoch (for reference; not used to choose anything):
{", ".join(f"{h['epoch']}: {h['test_acc'] * 100:.2f}%" for h in history)}.

How well it reads *drawn* digits (real people's pen strokes, our own stroke digits) is
measured by `benchmarks/strokes.py`; see the README. Single-image CPU latency: see
`benchmarks/RESULTS.md`.

Reproducing: `bash training/desknet.sh` (then copy `runs/desknet/best.pt` here and rerun
`python training/model_card.py`). The run is seeded (data order, augmentation, init); on the
same CPU and torch version it repeats the same epochs, while other hardware or thread counts
may differ in the last digits. The md5 changes with every save anyway, since the file records
its creation time, so compare the test accuracy, not the md5, when reproducing.

Limitations: trained on MNIST only (American Census Bureau employees' and high-school
students' digits, centred by mass); unusual styles (a "1" with a base serif, crossed "7",
slashed "0") are read less reliably. The "not sure" state (top probability under 60%) is
shown in the app for such drawings.

Written by `python training/model_card.py` (torch {torch.__version__}).
"""
    (ROOT / "resources" / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(card)
    return 0


if __name__ == "__main__":
    sys.exit(main())
