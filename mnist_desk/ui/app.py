"""Start the GUI: fail with one sentence when there is no display, show the window fast."""

from __future__ import annotations

import os
import sys


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


def run_app(model_path: str | None = None) -> int:
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"The GUI needs PySide6, which failed to import ({exc}).", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("mnist-desk")
    app.setOrganizationName("mnist-desk")
    app.setStyle("Fusion")
    from mnist_desk.ui.main_window import MainWindow

    window = MainWindow(model_path=model_path)
    window.show()
    return app.exec()
