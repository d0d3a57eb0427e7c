"""My digits: the person's own labelled drawings, with relabel, delete and the model's score."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.core.my_digits import MyDigitStore
from mnist_desk.paths import my_digits_dir
from mnist_desk.ui.images import digit_pixmap
from mnist_desk.ui.messages import error_label

TAG = "my-digits"


def digits_of_yours(count: int) -> str:
    return f"{count} digit{'s' if count != 1 else ''} of yours"


class MyDigitsTab(QWidget):
    classify_requested = Signal(str, object)  # tag, images → the inference worker
    show_on_pad = Signal(list, float)  # strokes, pen width

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = MyDigitStore(my_digits_dir())
        self.digits = []
        self.predictions: np.ndarray | None = None
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.error_label = error_label()
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setIconSize(QSize(56, 56))
        self.list.setGridSize(QSize(96, 100))
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.list.itemDoubleClicked.connect(self._open_item)
        self.list.setToolTip("Double-click a digit to put it back on the pad.")
        self.relabel_button = QPushButton("Relabel…")
        self.relabel_button.setToolTip("Give the selected digit another label (0–9).")
        self.relabel_button.clicked.connect(self.relabel_selected)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected digits from disk.")
        self.delete_button.clicked.connect(self.delete_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.relabel_button)
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        hint = QLabel(
            "Add digits on the Draw tab: draw one, then press its key (0–9) or use "
            "“Add to my digits”. The Train tab can fine-tune the model on them."
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addWidget(self.summary)
        layout.addWidget(self.error_label)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.reload()

    def reload(self) -> None:
        self.digits = self.store.all()
        self.predictions = None
        self._fill()
        if self.digits:
            images, _ = self.store.arrays(self.digits)
            self.classify_requested.emit(TAG, images)

    @Slot(str, object)
    def on_batch_result(self, tag: str, probs) -> None:
        if tag != TAG or len(probs) != len(self.digits):
            return
        self.predictions = np.asarray(probs).argmax(1)
        self._fill()

    def accuracy(self) -> float | None:
        if self.predictions is None or not self.digits:
            return None
        labels = np.array([d.label for d in self.digits])
        return float((self.predictions == labels).mean())

    def _fill(self) -> None:
        self.list.clear()
        for i, digit in enumerate(self.digits):
            text = f"label {digit.label}"
            if self.predictions is not None:
                read = int(self.predictions[i])
                text += f"\nread {read}" + ("" if read == digit.label else " ✗")
            item = QListWidgetItem(QIcon(digit_pixmap(digit.image, 56)), text)
            item.setData(Qt.ItemDataRole.UserRole, digit.id)
            self.list.addItem(item)
        accuracy = self.accuracy()
        count = len(self.digits)
        if not count:
            self.summary.setText("No digits of yours yet.")
        elif accuracy is None:
            self.summary.setText(f"{digits_of_yours(count)}.")
        else:
            self.summary.setText(
                f"{digits_of_yours(count)}; the active model reads "
                f"{round(accuracy * count)}/{count} ({accuracy:.0%}) correctly."
            )

    def _selected_ids(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]

    def _run(self, action) -> bool:
        try:
            action()
        except (OSError, ValueError) as exc:
            self.error_label.setText(f"Could not change your digits: {exc}")
            self.error_label.show()
            return False
        self.error_label.hide()
        return True

    def relabel_selected(self, label: int | None = None) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        if label is None:
            label, ok = QInputDialog.getInt(self, "Relabel", "Label (0–9):", 0, 0, 9)
            if not ok:
                return
        if self._run(lambda: [self.store.relabel(i, label) for i in ids]):
            self.reload()

    def delete_selected(self) -> None:
        ids = self._selected_ids()
        if ids and self._run(lambda: [self.store.delete(i) for i in ids]):
            self.reload()

    def _open_item(self, item: QListWidgetItem) -> None:
        digit_id = item.data(Qt.ItemDataRole.UserRole)
        digit = next((d for d in self.digits if d.id == digit_id), None)
        if digit is not None:
            self.show_on_pad.emit(digit.strokes, digit.pen_width)
