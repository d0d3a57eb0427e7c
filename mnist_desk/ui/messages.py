"""The in-window error line every tab uses, so errors never live only in a terminal."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

ERROR_COLOUR = "#dc2626"  # readable on the light and the dark palette


def read_as(predicted: int, short: bool = False) -> str:
    """A prediction as said: 11-class models can answer "not a digit" (class 10), "?" short."""
    if predicted < 10:
        return str(predicted)
    return "?" if short else "not a digit"


def error_label() -> QLabel:
    """A red, word-wrapped label, hidden until there is something to say."""
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {ERROR_COLOUR};")
    label.hide()
    return label


def a_digit(digit: int) -> str:
    """The digit with its article, as it is said: "a 7", "an 8"."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


def breakable(text: str) -> str:
    """Let a long path wrap: a zero-width space after each separator gives Qt a break point."""
    return text.replace("/", "/\u200b").replace("\\", "\\\u200b")


def set_error(label: QLabel, text: str) -> None:
    """Show ``text`` in an error label (hide it when empty), wrapping even inside paths."""
    label.setText(breakable(text))
    label.setVisible(bool(text))
