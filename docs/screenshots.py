"""Screenshots of each tab from the real window on an X server (run under xvfb-run).

    xvfb-run -s "-screen 0 1280x800x24" .venv/bin/python docs/screenshots.py

Drives the app with Qt mouse events as a person would (draws on the pad, trains a small
model, evaluates, keeps a few digits) and captures the X screen with ImageMagick's import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"


def main() -> int:
    os.environ.setdefault("MNIST_DESK_HOME", tempfile.mkdtemp(prefix="mnist-desk-shots-"))
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.ui.main_window import MainWindow

    app = QApplication([])
    app.setStyle("Fusion")
    window = MainWindow()
    window.move(0, 0)
    window.resize(1200, 760)
    window.show()

    def pump(seconds: float) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait_for(condition, timeout: float = 300) -> None:
        end = time.time() + timeout
        while not condition() and time.time() < end:
            pump(0.05)

    def shot(name: str) -> None:
        pump(0.5)
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["import", "-window", "root", "-crop", "1200x760+0+0", str(OUT / f"{name}.png")],
            check=True,
        )
        print("wrote", OUT / f"{name}.png")

    def draw(digit: int, style: str = "plain") -> None:
        canvas = window.pad.canvas
        square, scale = canvas._square(), canvas._scale()
        for stroke in our_digit(digit, style)[0]:
            points = [
                QPoint(round(square.left() + x * scale), round(square.top() + y * scale))
                for x, y in stroke
            ]
            QTest.mousePress(
                canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0]
            )
            for p in points[1:]:
                QTest.mouseMove(canvas, p)
            QTest.mouseRelease(
                canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1]
            )

    wait_for(lambda: window.pad.model_ready, 60)
    for digit, style in ((3, "slanted"), (8, "plain"), (5, "thick")):
        draw(digit, style)
        pump(0.5)
        window.add_my_digit(digit)  # as its key would (keys need a focused window: no WM here)
    draw(7, "slanted")
    window.pad.k_spin.setValue(5)
    window.pad.saliency_check.setChecked(True)
    pump(1.0)
    shot("draw")

    data = os.environ.get(
        "MNIST_DESK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "mnist")
    )
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    tab.populate()
    tab.fields["model"].setCurrentText("lenet5")
    tab.fields["epochs"].setValue(4)
    tab.fields["batch_size"].setValue(64)
    tab.fields["lr"].setValue(0.01)
    tab.fields["optimizer"].setCurrentText("sgd")
    tab.fields["schedule"].setCurrentText("step")
    tab.fields["train_subset"].setValue(3000)  # a picture, not a result: minutes on a shared CPU
    tab.fields["data"].setText(data)  # the one data folder: the Mistakes tab reads it too
    tab.start()
    wait_for(lambda: not tab.running, 600)
    shot("train")

    window.tabs.setCurrentWidget(window.mistakes_tab)
    window.mistakes_tab.evaluate(window.active_checkpoint_path())
    wait_for(lambda: window.mistakes_tab.result is not None, 300)
    window.mistakes_tab.filter_cell(4, 9)
    window.mistakes_tab.gallery.setCurrentIndex(window.mistakes_tab.model.index(0))
    shot("mistakes")

    window.tabs.setCurrentWidget(window.my_digits_tab)
    wait_for(lambda: window.my_digits_tab.accuracy() is not None, 30)
    shot("my_digits")

    known = {window.pad, window.train_tab, window.mistakes_tab, window.my_digits_tab}
    for index in range(window.tabs.count()):  # tabs added later (e.g. Network) get one too
        if window.tabs.widget(index) in known:
            continue
        window.tabs.setCurrentWidget(window.pad)  # something to show: a fresh 4 on the pad
        window.pad.canvas.clear()
        draw(4, "plain")
        pump(1.0)
        window.tabs.setCurrentIndex(index)
        pump(2.0)
        shot(window.tabs.tabText(index).lower().replace(" ", "_").replace("&", ""))
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
