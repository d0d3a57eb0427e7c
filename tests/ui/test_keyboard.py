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


def _tab_from(qtbot, window, widget):
    widget.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(widget, Qt.Key.Key_Tab)
    return window.focusWidget()


def test_tab_skips_the_charts_which_show_no_focus(qtbot, make_window):
    """The probability bars, the confusion matrix and the curves took the focus, drew none
    and did nothing with keys: Tab seemed to go nowhere. The next control gets it."""
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    pad = window.pad
    assert _tab_from(qtbot, window, pad.k_spin) is pad.preview_check
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    mistakes = window.mistakes_tab
    assert window.tabs.currentWidget() is mistakes
    assert _tab_from(qtbot, window, mistakes.evaluate_button) is mistakes.true_filter
