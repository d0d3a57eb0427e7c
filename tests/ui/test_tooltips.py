"""Every control a new user may wonder about says what it does when hovered."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QScrollArea,
    QToolTip,
)


def _hover_tip(qtbot, widget) -> str:
    """Rest the mouse on the widget (twice, a pixel apart, if the first rest shows nothing)."""
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=2000)
    for nudge in (0, 1):
        qtbot.mouseMove(widget, widget.rect().center() + QPoint(nudge, nudge))
        try:
            qtbot.waitUntil(QToolTip.isVisible, timeout=1500)
            return QToolTip.text()
        except qtbot.TimeoutError:
            continue
    return ""


def _scroll_to(qtbot, widget):
    """As a person scrolls the Train form to reach a field below the fold."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    if parent is not None:
        parent.ensureWidgetVisible(widget)
        qtbot.wait(20)


def _controls(tab):
    for kind in (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit):
        for widget in tab.findChildren(kind):
            inner = isinstance(widget.parent(), QAbstractSpinBox | QComboBox)
            if widget.isVisible() and not inner and widget.width() > 0:
                yield widget


def test_every_train_and_mistakes_control_shows_a_tooltip(qtbot, make_window):
    window = make_window()
    window.tabs.setCurrentWidget(window.train_tab)
    qtbot.mouseClick(window.train_tab.more_button, Qt.MouseButton.LeftButton)  # all options
    qtbot.wait(50)
    silent = []
    for tab in (window.train_tab, window.mistakes_tab):
        window.tabs.setCurrentWidget(tab)
        qtbot.wait(50)
        for widget in _controls(tab):
            _scroll_to(qtbot, widget)
            if not _hover_tip(qtbot, widget):
                name = widget.text() if hasattr(widget, "text") else ""
                silent.append(f"{type(widget).__name__} {name or widget.objectName()!r}")
    assert silent == []
