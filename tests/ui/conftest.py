import pytest
from PySide6.QtCore import QPoint

from mnist_desk.core.handwriting import our_digit


@pytest.fixture
def make_window(qtbot):
    """Open the main window (optionally on a checkpoint) and wait until its model is loaded."""
    from mnist_desk.ui.main_window import MainWindow

    def make(model_path=None, wait=True):
        window = MainWindow(model_path=model_path)
        qtbot.addWidget(window)
        window.show()
        if wait:
            qtbot.waitUntil(lambda: window.pad.model_ready, timeout=60000)
        return window

    return make


def widget_point(canvas, x, y) -> QPoint:
    return canvas.widget_point(x, y)


def draw_with_mouse(qtbot, canvas, strokes):
    """Real press/move/release events, as a person's mouse would send them."""
    from PySide6.QtCore import Qt

    for stroke in strokes:
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, *stroke[0]))
        for x, y in stroke[1:]:
            qtbot.mouseMove(canvas, pos=widget_point(canvas, x, y))
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=widget_point(canvas, *stroke[-1]))


def draw_digit(qtbot, canvas, digit, style="plain"):
    strokes, _ = our_digit(digit, style)
    draw_with_mouse(qtbot, canvas, strokes)
