"""Smoke test of a built bundle, through its own executable only.

It classifies a drawn digit through the CLI, starts the window offscreen (start-up → first
prediction, read through onnxruntime as in a full install), trains a tiny run (cnn, 1 epoch,
2,000 digits), evaluates it, fine-tunes it on a few digits of ours, and checks that `export`
explains in one line what it lacks (onnxscript is left out).

python packaging/smoke_test.py build/dist/mnist-desk [MNIST root]
(MNIST root: default $MNIST_DESK_DATA, else ../shared/mnist beside the checkout)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_desk.core.handwriting import STYLES, our_digit
from mnist_desk.core.preprocess import render_strokes, strokes_to_mnist, to_uint8

ROOT = Path(__file__).resolve().parent.parent


def bundle_mib(bundle: Path) -> float:
    """Bytes on disk; links (PyInstaller makes a few to libraries) count once."""
    files = [p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 2**20


def mnist_root(given: str | None) -> Path | None:
    for candidate in (given, os.environ.get("MNIST_DESK_DATA"), ROOT.parent / "shared" / "mnist"):
        if candidate and (Path(candidate) / "MNIST" / "raw").is_dir():
            return Path(candidate)
    return None


class Bundle:
    def __init__(self, folder: Path, home: Path):
        self.exe = folder / "mnist-desk"
        self.env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MNIST_DESK_HOME=str(home))
        self.env.pop("PYTHONPATH", None)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args], capture_output=True, text=True, timeout=600, env=self.env
        )


def check_predict(app: Bundle, folder: Path) -> str | None:
    strokes, pen = our_digit(3, "plain")
    ink = np.pad(render_strokes(strokes, pen, 160), 40)
    image = folder / "three.png"
    Image.fromarray(((1 - ink) * 255).astype(np.uint8)).save(image)  # dark ink on white
    started = time.perf_counter()
    out = app.run("predict", str(image))
    print(f"predict ({time.perf_counter() - started:.1f}s end to end): {out.stdout.strip()}")
    if out.returncode != 0 or ": 3 (" not in out.stdout:
        return "the bundle did not read the 3\n" + out.stderr[-2000:]
    return None


def check_window(app: Bundle) -> str | None:
    gui = app.run("gui", "--self-test")
    print(gui.stdout.strip())
    if gui.returncode != 0:
        return "the bundle's window did not start or misread the 7\n" + gui.stderr[-2000:]
    # The self-test names the engine the inference worker loaded; PyTorch here means the
    # bundle lost onnxruntime or onnx (the exporter that makes its graph) and reads 3x slower.
    if " with onnxruntime;" not in gui.stdout:
        return "the bundle's window does not read through onnxruntime"
    return None


def check_training(app: Bundle, folder: Path, data: Path) -> str | None:
    """Train, evaluate and fine-tune inside the bundle, which reads MNIST without torchvision."""
    run = folder / "run"
    small = [
        "--data",
        str(data),
        "--train-subset",
        "2000",
        "--test-subset",
        "1000",
        "--epochs",
        "1",
    ]
    started = time.perf_counter()
    out = app.run("train", "--arch", "cnn", *small, "--out", str(run))
    print(f"train cnn, 1 epoch, 2,000 digits: {time.perf_counter() - started:.1f}s")
    if out.returncode != 0 or not (run / "best.pt").exists():
        return "training failed\n" + (out.stderr or out.stdout)[-2000:]
    out = app.run("eval", "--model", str(run / "best.pt"), "--data", str(data), "--json")
    if out.returncode != 0:
        return "evaluation failed\n" + out.stderr[-2000:]
    result = json.loads(out.stdout)
    print(f"eval: {result['accuracy'] * 100:.2f}% of {result['count']:,} test digits")
    if result["count"] != 10000 or result["accuracy"] < 0.5:  # chance is 10%
        return f"the tiny run scored {result['accuracy']:.1%} on {result['count']} digits"
    digits = list(range(10)) * len(STYLES)
    images = [to_uint8(strokes_to_mnist(*our_digit(d, s))) for s in STYLES for d in range(10)]
    np.savez(folder / "mine.npz", images=np.stack(images), labels=np.array(digits))
    out = app.run(
        "train", "--arch", "cnn", *small, "--init-from", str(run / "best.pt"),
        "--extra-train", str(folder / "mine.npz"), "--out", str(folder / "tuned"),
    )  # fmt: skip
    if out.returncode != 0 or not (folder / "tuned" / "best.pt").exists():
        return "fine-tuning failed\n" + (out.stderr or out.stdout)[-2000:]
    print(f"fine-tune on {len(digits)} digits of ours: {out.stdout.strip().splitlines()[-1]}")
    return None


def check_export_says_what_it_lacks(app: Bundle, folder: Path) -> str | None:
    out = app.run("export", "--onnx", str(folder / "m.onnx"))
    print(f"export (onnxscript left out of the bundle): {out.stderr.strip()}")
    if out.returncode != 2 or "mnist-desk[export]" not in out.stderr:
        return "export did not say in one line what to install"
    if "'onnxscript'" not in out.stderr:  # onnx and onnxruntime are in the bundle
        return "export names a package other than onnxscript as missing"
    return None


def main(bundle: str, data: str | None = None) -> int:
    folder = Path(bundle)
    root = mnist_root(data)
    if root is None:
        print("FAIL: no MNIST for the training check; pass its root or set MNIST_DESK_DATA")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = Bundle(folder, work / "home")
        checks = (
            lambda: check_predict(app, work),
            lambda: check_window(app),
            lambda: check_training(app, work, root),
            lambda: check_export_says_what_it_lacks(app, work),
        )
        for check in checks:
            problem = check()
            if problem:
                print(f"FAIL: {problem}")
                return 1
    print(f"OK: bundle {bundle_mib(folder):,.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]) if len(sys.argv) > 1 else main("build/dist/mnist-desk"))
