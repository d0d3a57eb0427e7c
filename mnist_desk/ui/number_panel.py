"""Number mode's strip: one button per digit read, with its confidence (issue 14)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QToolButton, QWidget

NUMBER_WIDTH = 840.0  # number mode's logical canvas: three digit pads side by side
UNSURE_STYLE = "QToolButton { color: #e08a1e; font-weight: bold; }"


def digit_caption(digit) -> str:
    """What a digit's button says: the digit (or ? for not a digit) over its confidence."""
    if digit.not_a_digit:
        return f"?\nnot a digit {digit.not_digit_p:.0%}"
    mark = " ?" if digit.low_confidence else ""
    return f"{digit.digit}{mark}\n{digit.confidence:.0%}"


class NumberStrip(QWidget):
    """Buttons for the digits of the last reading; clicking one selects it."""

    digit_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self._group = QButtonGroup(self)
        self._group.setExclusive(True)
        self._group.idClicked.connect(self.digit_selected)
        self.buttons: list[QToolButton] = []
        self._empty = QLabel("Each digit you write gets a button here.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty)

    def set_reading(self, reading) -> None:
        """Reuse the buttons already there: the strip changes on every stroke."""
        digits = [] if reading is None else reading.digits
        while len(self.buttons) > len(digits):
            button = self.buttons.pop()
            self._group.removeButton(button)
            button.deleteLater()
        while len(self.buttons) < len(digits):
            button = QToolButton()
            button.setObjectName(f"number_digit_{len(self.buttons)}")
            button.setCheckable(True)
            self._group.addButton(button, len(self.buttons))
            self._layout.addWidget(button)
            self.buttons.append(button)
        self._empty.setVisible(not digits)
        for button, digit in zip(self.buttons, digits, strict=True):
            button.setText(digit_caption(digit))
            button.setToolTip(
                "Click to see this digit's probabilities and the 28×28 image the model saw."
                + (" The model is not sure of it." if digit.low_confidence else "")
            )
            button.setStyleSheet(UNSURE_STYLE if digit.low_confidence else "")

    def select(self, index: int) -> None:
        if 0 <= index < len(self.buttons):
            self.buttons[index].setChecked(True)
