"""My digits: the person's own labelled drawings, with relabel, delete and the model's score."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
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
from mnist_desk.ui.messages import error_label, set_error

TAG = "my-digits"


def digits_of_yours(count: int) -> str:
    return f"{count} digit{'s' if count != 1 else ''} of yours"


class MyDigitsTab(QWidget):
    classify_requested = Signal(str, object)  # tag, images → the inference worker
    show_on_pad = Signal(list, float)  # strokes, pen width
    problems_found = Signal(list)  # digit files that were skipped as damaged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = MyDigitStore(my_digits_dir())
        self.digits = []
        self.problems: list[str] = []
        self.deleted: list[list] = []  # each delete's digits, newest last, for undo
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
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):  # the keyboard's double-click
            enter = QShortcut(QKeySequence(key), self.list)
            enter.setContext(Qt.ShortcutContext.WidgetShortcut)
            enter.activated.connect(self._open_current)
        self.list.setToolTip("Double-click a digit (or press Enter) to put it back on the pad.")
        self.relabel_button = QPushButton("Relabel…")
        self.relabel_button.setToolTip("Give the selected digit another label (0–9).")
        # A no-argument slot: clicked(bool) must never reach a label parameter.
        self.relabel_button.clicked.connect(self._ask_relabel)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip(
            "Delete the selected digits (Delete key); Undo brings them back."
        )
        self.delete_button.clicked.connect(self._delete_clicked)
        self.undo_button = QPushButton("Undo delete")
        self.undo_button.setToolTip("Bring back the digits deleted last (Ctrl+Z).")
        self.undo_button.setEnabled(False)
        self.undo_button.clicked.connect(self._undo_clicked)
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            (QKeySequence.StandardKey.Undo, self._undo_clicked),
            (QKeySequence.StandardKey.Delete, self._delete_clicked),
        ):
            shortcut = QShortcut(QKeySequence(keys), self, context=context)
            shortcut.activated.connect(slot)
        # Relabel and Delete act on the selection: greyed out while nothing is selected, so
        # a click is never silently ignored.
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.list.installEventFilter(self)
        self._update_buttons()
        buttons = QHBoxLayout()
        buttons.addWidget(self.relabel_button)
        buttons.addWidget(self.delete_button)
        buttons.addWidget(self.undo_button)
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
        self.digits, problems = self.store.load()
        if problems != self.problems:
            self.problems = problems
            if problems:
                self.problems_found.emit([f"my digits: {p}" for p in problems])
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

    @Slot()
    def _update_buttons(self) -> None:
        selected = bool(self.list.selectedItems())
        self.relabel_button.setEnabled(selected)
        self.delete_button.setEnabled(selected)

    def _selected_ids(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]

    def _run(self, action) -> bool:
        try:
            action()
        except (OSError, ValueError, TypeError) as exc:
            set_error(self.error_label, f"Could not change your digits: {exc}")
            return False
        set_error(self.error_label, "")
        return True

    @Slot()
    def _ask_relabel(self) -> None:
        """Ask for the new label, starting from the first selected digit's own."""
        ids = self._selected_ids()
        if not ids:
            set_error(self.error_label, "Select a digit first, then Relabel….")
            return
        current = next((d.label for d in self.digits if d.id == ids[0]), 0)
        what = "this digit" if len(ids) == 1 else f"these {len(ids)} digits"
        label, ok = QInputDialog.getInt(
            self, "Relabel", f"New label for {what} (0–9):", current, 0, 9
        )
        if ok:
            self.relabel_selected(label)

    def relabel_selected(self, label: int) -> None:
        ids = self._selected_ids()
        if ids and self._run(lambda: [self.store.relabel(i, int(label)) for i in ids]):
            self.reload()

    @Slot()
    def _delete_clicked(self) -> None:
        self.delete_selected()

    def delete_selected(self) -> None:
        ids = self._selected_ids()
        if not ids:
            return
        removed = []

        def delete():
            for digit_id in ids:
                removed.append(self.store.find(digit_id))
                self.store.delete(digit_id)

        ok = self._run(delete)
        if removed:
            self.deleted.append(removed)
            self.undo_button.setEnabled(True)
        if ok:
            self.reload()

    @Slot()
    def _undo_clicked(self) -> None:
        self.undo_delete()

    def undo_delete(self) -> None:
        """Write the last deleted digits back (same id, label and strokes)."""
        if not self.deleted:
            return
        digits = self.deleted.pop()
        self.undo_button.setEnabled(bool(self.deleted))
        if self._run(lambda: [self.store.restore(d) for d in digits]):
            self.reload()

    def _open_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._open_item(item)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        """Tabbing into the list selects its current digit: Qt only makes it current, and
        Relabel and Delete stayed greyed out until Space was pressed."""
        keyboard = (
            Qt.FocusReason.TabFocusReason,
            Qt.FocusReason.BacktabFocusReason,
            Qt.FocusReason.ShortcutFocusReason,
        )
        if (
            watched is self.list
            and event.type() == QEvent.Type.FocusIn
            and event.reason() in keyboard
            and self.list.count()
            and not self.list.selectedItems()
        ):
            item = self.list.currentItem() or self.list.item(0)
            self.list.setCurrentItem(item)
            item.setSelected(True)
        return super().eventFilter(watched, event)

    def _open_item(self, item: QListWidgetItem) -> None:
        digit_id = item.data(Qt.ItemDataRole.UserRole)
        digit = next((d for d in self.digits if d.id == digit_id), None)
        if digit is not None:
            self.show_on_pad.emit(digit.strokes, digit.pen_width)
