"""Start the GUI: fail with one sentence when there is no display, show the window fast."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import NoReturn


def display_problem() -> str | None:
    """Why Qt could not open a window here, or ``None``."""
    if sys.platform.startswith("linux"):
        platform = os.environ.get("QT_QPA_PLATFORM", "")
        if platform.startswith(("offscreen", "minimal", "vnc", "eglfs", "linuxfb")):
            return None
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            return (
                "No display found (DISPLAY and WAYLAND_DISPLAY are unset): run mnist-desk on a "
                "desktop, under xvfb-run, or use the command line (mnist-desk --help)."
            )
    return None


STARTED = time.perf_counter()


def run_app(model_path: str | None = None, self_test: bool = False) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"The GUI needs PySide6, which failed to import ({exc}).", file=sys.stderr)
        return 1
    embedded = QApplication.instance() is not None  # a caller's app (a test): return to it
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("mnist-desk")
    app.setOrganizationName("mnist-desk")
    app.setStyle("Fusion")
    # X11 merges the pen's motion events that queue up while the GUI thread is busy (a
    # first click repaints an inactive window): a curve then came out as one straight line.
    from PySide6.QtCore import Qt

    app.setAttribute(Qt.ApplicationAttribute.AA_CompressHighFrequencyEvents, False)
    from mnist_desk.ui.main_window import MainWindow

    window = MainWindow(model_path=model_path)
    app.aboutToQuit.connect(window.shutdown)  # however the app ends, threads stop first
    window.show()
    shown = time.perf_counter() - STARTED
    if self_test:
        _arm_self_test(app, window, shown)
    code = app.exec()
    window.shutdown()  # already done by aboutToQuit; safe twice, and sure before the exit
    if embedded:
        return code
    _end_process(code)


def _end_process(code: int) -> NoReturn:
    """End at once once the window is gone and every thread has stopped (``aboutToQuit`` ran
    ``window.shutdown``, which joins them and syncs the settings).

    The interpreter's own teardown frees some 2,000 modules (torch, and torch._dynamo after
    a run) one object at a time: a second or more after the window had gone, with the
    process still in the task list. Nothing is left to clean up by then, and no destructor
    runs, so no ``QThread`` can be destroyed while running either.
    """
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)


def _arm_self_test(app, window, shown_s: float) -> None:
    """Draw our "7" once the model is ready; print the answer and the timings, then quit."""
    from PySide6.QtCore import QObject, Slot

    from mnist_desk.core.handwriting import our_digit

    class SelfTest(QObject):
        """Lives in the GUI thread, so the workers' signals reach it queued."""

        engine = "?"

        @Slot(dict)
        def on_ready(self, info) -> None:
            self.engine = info.get("engine", "?")  # a bundle's smoke test checks it
            window.pad.canvas.set_strokes(our_digit(7, "plain")[0])

        @Slot(int, object, object, object)
        def on_result(self, _request_id, probs, _image, _saliency) -> None:
            digit = int(probs.argmax())
            print(
                f"self-test: read {digit} ({probs[digit]:.1%}) with {self.engine}; window shown "
                f"after {shown_s:.2f}s, first prediction after {time.perf_counter() - STARTED:.2f}s",
                flush=True,
            )
            app.exit(0 if digit == 7 else 1)

        @Slot(str)
        def on_failed(self, message: str) -> None:
            print(f"self-test: {message}", flush=True)
            app.exit(1)

    window.self_test = SelfTest()
    window.inference_worker.model_loaded.connect(window.self_test.on_ready)
    window.pad.answer_shown.connect(window.self_test.on_result)
    window.inference_worker.model_failed.connect(window.self_test.on_failed)
