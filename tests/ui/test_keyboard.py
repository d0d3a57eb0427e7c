"""Keyboard-only use: where the focus is must show, on every widget Tab reaches."""

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette


def _edge_colour(canvas):
    square = canvas._square()
    image = canvas.grab().toImage()
    return image.pixelColor(int(square.left()) + 2, int(square.center().y()))


def test_tab_onto_the_pad_shows_a_focus_frame_that_drawing_removes(qtbot, make_window):
    """The pad paints its own black square, so no style draws focus on it: a person on the
    keyboard pressed Tab and saw the focus vanish."""
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    canvas = window.pad.canvas
    bar = window.tabs.tabBar()
    bar.setFocus(Qt.FocusReason.TabFocusReason)
    black = _edge_colour(canvas)
    qtbot.keyClick(bar, Qt.Key.Key_Tab)
    assert canvas.hasFocus()
    highlight = canvas.palette().color(QPalette.ColorRole.Highlight)
    assert _edge_colour(canvas) == highlight != black
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=canvas.rect().center())
    assert _edge_colour(canvas) == black  # drawing with the mouse: no frame in the way
