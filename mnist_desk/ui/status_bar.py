"""A status bar whose long messages end in "…" instead of vanishing under the model label."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStatusBar, QStyle, QStyleOption, QWidget


class StatusBar(QStatusBar):
    """QStatusBar clips a message at the first permanent widget, mid-word and with no hint
    that more was said; this one elides it and keeps the whole text in the tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._permanent: list[QWidget] = []
        self.messageChanged.connect(self.setToolTip)  # "" when the message goes: no tooltip

    def message_rect(self) -> QRect:
        """Where the message may go: from the left edge to the first visible permanent widget
        (Qt's own rule; left-to-right layouts only, like the rest of the window)."""
        right = self.width() - 12
        permanent = [w for w in self._permanent if w.isVisible()]
        if permanent:
            right = min(right, min(w.x() for w in permanent) - 2)
        return QRect(6, 0, max(0, right - 6), self.height())

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def shown_message(self) -> str:
        """The message as painted: whole when it fits, else cut with "…"."""
        width = self.message_rect().width()
        return self.fontMetrics().elidedText(
            self.currentMessage(), Qt.TextElideMode.ElideRight, width
        )

    def paintEvent(self, event) -> None:  # noqa: N802
        if not self.currentMessage():
            super().paintEvent(event)
            return
        # The same steps as QStatusBar::paintEvent, with the message elided.
        painter = QPainter(self)
        option = QStyleOption()
        option.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelStatusBar, option, painter, self)
        for widget in self._permanent:
            if widget.isVisible():
                frame = QStyleOption()
                frame.rect = widget.geometry().adjusted(-2, -1, 2, 1)
                frame.palette = self.palette()
                self.style().drawPrimitive(
                    QStyle.PrimitiveElement.PE_FrameStatusBarItem, frame, painter, widget
                )
        painter.setPen(self.palette().windowText().color())
        painter.drawText(
            self.message_rect(),
            Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter,
            self.shown_message(),
        )
        painter.end()
