"""Light and dark palettes: follow the system by default, or the person's choice (View menu)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

THEMES = ("system", "light", "dark")


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)  # Qt 6.5+
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(37, 37, 41), QColor(27, 27, 30), QColor(230, 230, 230)
    for role, colour in (
        (QPalette.ColorRole.Window, window),
        (QPalette.ColorRole.WindowText, text),
        (QPalette.ColorRole.Base, base),
        (QPalette.ColorRole.AlternateBase, window),
        (QPalette.ColorRole.ToolTipBase, base),
        (QPalette.ColorRole.ToolTipText, text),
        (QPalette.ColorRole.Text, text),
        (QPalette.ColorRole.Button, window),
        (QPalette.ColorRole.ButtonText, text),
        (QPalette.ColorRole.Highlight, QColor(59, 130, 246)),
        (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
        (QPalette.ColorRole.Link, QColor(96, 165, 250)),
        (QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140)),
    ):
        palette.setColor(role, colour)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return palette


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


# A check box's or radio button's outline on a dark palette: light enough to stand out
# from both the window and the box (about 5:1 against the window), dimmer when disabled.
INDICATOR_OUTLINE = QColor(150, 150, 156)
INDICATOR_OUTLINE_DISABLED = QColor(92, 92, 98)


class VisibleIndicators(QProxyStyle):
    """Fusion outlines check boxes and radio buttons in the window colour made darker: on a
    dark palette that line vanishes and an unchecked box is a near-black square on
    near-black. This draws a light outline over Fusion's, on dark palettes only, and frames
    a checked tool button, whose darker fill does not show there either."""

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802
        super().drawPrimitive(element, option, painter, widget)
        if element == QStyle.PrimitiveElement.PE_PanelButtonTool:
            self._mark_checked_tool_button(option, painter)
            return
        shapes = (QStyle.PrimitiveElement.PE_IndicatorCheckBox,
                  QStyle.PrimitiveElement.PE_IndicatorRadioButton)  # fmt: skip
        focus = QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_KeyboardFocusChange
        if element not in shapes or not is_dark(option.palette):
            return
        if option.state & focus == focus:
            return  # Fusion's keyboard-focus outline (the highlight colour) stays
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(INDICATOR_OUTLINE if enabled else INDICATOR_OUTLINE_DISABLED, 1))
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        if element == QStyle.PrimitiveElement.PE_IndicatorCheckBox:
            painter.drawRect(rect)
        else:
            painter.drawEllipse(rect.adjusted(1, 1, 0, 0))
        painter.restore()

    @staticmethod
    def _mark_checked_tool_button(option, painter) -> None:
        """Fusion shows a checked tool button (number mode's chosen digit) by darkening its
        fill, which a near-black button cannot show: a frame in the highlight colour does."""
        if not option.state & QStyle.StateFlag.State_On or not is_dark(option.palette):
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(option.palette.color(QPalette.ColorRole.Highlight), 2))
        painter.drawRoundedRect(QRectF(option.rect).adjusted(1, 1, -1, -1), 2, 2)
        painter.restore()


def apply_theme(name: str) -> str:
    """Set the application palette; returns the theme actually used ("light" or "dark")."""
    app = QApplication.instance()
    dark = name == "dark" or (name == "system" and system_prefers_dark())
    if dark and not isinstance(app.style(), VisibleIndicators):
        app.setStyle(VisibleIndicators(app.style().name()))
    app.setPalette(dark_palette() if dark else app.style().standardPalette())
    return "dark" if dark else "light"
