"""Smoke test of a built bundle: classify a drawn digit through its CLI, start its GUI offscreen.

python packaging/smoke_test.py build/dist/mnist-desk
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.preprocess import render_strokes


def main(bundle: str) -> int:
    exe = Path(bundle) / "mnist-desk"
    size_mb = sum(p.stat().st_size for p in Path(bundle).rglob("*") if p.is_file()) / 2**20
    with tempfile.TemporaryDirectory() as folder:
        strokes, pen = our_digit(3, "plain")
        ink = np.pad(render_strokes(strokes, pen, 160), 40)
        image = Path(folder) / "three.png"
        Image.fromarray(((1 - ink) * 255).astype(np.uint8)).save(image)  # dark ink on white
        started = time.perf_counter()
        out = subprocess.run(
            [str(exe), "predict", str(image)], capture_output=True, text=True, timeout=300
        )
        predict_s = time.perf_counter() - started
        print(out.stdout.strip() or out.stderr.strip())
        if out.returncode != 0 or ": 3 (" not in out.stdout:
            print("FAIL: the bundle did not read the 3")
            return 1
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MNIST_DESK_HOME=folder)
        gui = subprocess.run(
            [str(exe), "gui", "--self-test"], capture_output=True, text=True, timeout=300, env=env
        )
        print(gui.stdout.strip())
        if gui.returncode != 0:
            print("FAIL: the bundle's window did not start or misread the 7\n" + gui.stderr[-2000:])
            return 1
    print(f"OK: bundle {size_mb:,.0f} MiB; `predict` took {predict_s:.1f}s end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/dist/mnist-desk"))
