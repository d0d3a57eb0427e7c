"""The Mistakes tab: confusion matrix heat map + a model/view gallery of misread test digits."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.ui.charts import HeatMap, ProbabilityBars, export_png
from mnist_desk.ui.file_dialogs import ask_save_path
from mnist_desk.ui.images import digit_pixmap
from mnist_desk.ui.jobs import Job, JobRunner
from mnist_desk.ui.messages import a_digit, error_label, read_as, set_error

THUMB = 56
DETAIL_HINT = "Click a digit to see the model's top guesses."
NOT_EVALUATED = (
    "Press “Evaluate on the MNIST test set” to see the digits the active model gets wrong."
)
EVALUATING = "Evaluating the active model: the digits it gets wrong will appear here."


def nothing_matches(true: int | None, predicted: int | None) -> str:
    """Why a filtered gallery is empty, and how to widen it."""
    if true is not None and predicted is not None:
        if true == predicted:
            return (
                f"{a_digit(true).capitalize()} read as {true} is a correct answer, not a mistake "
                "— pick a cell off the diagonal or clear the filter."
            )
        return (
            f"No misclassified {true}s read as {predicted} — pick another cell or clear the filter."
        )
    if true is not None:
        return f"No {true} was misread — pick another digit or clear the filter."
    if predicted is not None:
        return f"Nothing was wrongly read as {predicted} — pick another digit or clear the filter."
    return "No mistakes: every test digit was read right."


class MistakesModel(QAbstractListModel):
    """Misclassified digits; icons are made lazily, so thousands of rows cost nothing up front."""

    def __init__(self) -> None:
        super().__init__()
        self.images = np.zeros((0, 28, 28), np.uint8)
        self.labels = np.zeros(0, np.int64)
        self.predictions = np.zeros(0, np.int64)
        self.probabilities = np.zeros((0, 10), np.float32)
        self.rows = np.zeros(0, np.int64)  # indices into the test set, in display order
        self._icons: dict[int, QIcon] = {}

    def set_result(self, images, labels, predictions, probabilities) -> None:
        self.beginResetModel()
        self.images, self.labels = images, labels
        self.predictions, self.probabilities = predictions, probabilities
        self.rows = np.flatnonzero(predictions != labels)
        self._icons = {}
        self.endResetModel()

    def apply_filter(self, true: int | None, predicted: int | None, most_confident_first: bool):
        self.beginResetModel()
        wrong = self.predictions != self.labels
        if true is not None:
            wrong &= self.labels == true
        if predicted is not None:
            wrong &= self.predictions == predicted
        rows = np.flatnonzero(wrong)
        confidence = self.probabilities[rows, self.predictions[rows]] if rows.size else rows
        order = np.argsort(-confidence if most_confident_first else confidence, kind="stable")
        self.rows = rows[order]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # noqa: N802
        return 0 if parent is not None and parent.isValid() else int(self.rows.size)

    def test_index(self, row: int) -> int:
        return int(self.rows[row])

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        i = int(self.rows[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            confidence = self.probabilities[i, self.predictions[i]]
            return (
                f"{self.labels[i]} → {read_as(self.predictions[i], short=True)}\n{confidence:.0%}"
            )
        if role == Qt.ItemDataRole.DecorationRole:
            if i not in self._icons:
                self._icons[i] = QIcon(digit_pixmap(self.images[i] / 255.0, THUMB))
            return self._icons[i]
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"Test digit #{i}: true {self.labels[i]}, read as {read_as(self.predictions[i])} "
                f"with {self.probabilities[i, self.predictions[i]]:.1%}"
            )
        return None


class MistakesTab(QWidget):
    open_on_pad = Signal(object)  # 28×28 float image
    evaluate_requested = Signal()
    evaluation_ended = Signal(bool)  # True when it produced a result

    def __init__(self, jobs: JobRunner, parent: QWidget | None = None, settings=None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.settings = settings  # the window's; None opens the settings file when needed
        self.job: Job | None = None
        self.result = None
        self._model = ("", "")  # the active model: (checkpoint path, description)
        self._evaluating = ("", "")  # the model the running evaluation scores
        self._result_model = ("", "")  # the model the shown result belongs to
        self._summary = ""
        # The MNIST folder; the main window points this at the Train tab's Data field.
        self.data_folder = lambda: ""
        self.model_text = QLabel("Active model: (loading)")
        self.evaluate_button = QPushButton("Evaluate on the MNIST test set")
        self.evaluate_button.setToolTip(
            "Runs in the background; reads MNIST from the Data folder set on the Train tab."
        )
        self.evaluate_button.clicked.connect(self.evaluate_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the evaluation within one batch.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.subset = QSpinBox(minimum=0, maximum=10000, singleStep=1000, value=0)
        self.subset.setSpecialValueText("all 10,000")
        self.subset.setPrefix("")
        self.subset.setToolTip("Evaluate on the first N test digits only (quicker).")
        self.progress = QProgressBar()
        # An empty bar before any evaluation looked like a text field; its room is kept so
        # nothing below moves when it appears.
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.progress.setVisible(False)
        self.summary = QLabel("Not evaluated yet.")
        self.summary.setWordWrap(True)
        self.error_label = error_label()
        self.heatmap = HeatMap()
        self.heatmap.cell_clicked.connect(self.filter_cell)
        self.export_button = export_button = QPushButton("Export matrix as PNG…")
        export_button.setToolTip("Save the confusion matrix as a PNG image (after an evaluation).")
        export_button.clicked.connect(self._export_matrix)
        export_button.setEnabled(False)  # nothing to export before the first evaluation

        self.true_filter = QComboBox()
        self.pred_filter = QComboBox()
        for combo in (self.true_filter, self.pred_filter):
            combo.addItem("any", None)
            for d in range(10):
                combo.addItem(str(d), d)
            combo.currentIndexChanged.connect(self._refilter)
        self.true_filter.setToolTip("Show only the test digits labelled this digit.")
        self.pred_filter.setToolTip("Show only the test digits the model read as this digit.")
        self.sort_combo = QComboBox()
        self.sort_combo.addItems(["most confident first", "least confident first"])
        self.sort_combo.setToolTip("Order the mistakes by the model's confidence in its answer.")
        self.sort_combo.currentIndexChanged.connect(self._refilter)
        self.model = MistakesModel()
        self.gallery = QListView()
        self.gallery.setModel(self.model)
        self.gallery.setViewMode(QListView.ViewMode.IconMode)
        self.gallery.setIconSize(QSize(THUMB, THUMB))
        self.gallery.setGridSize(QSize(THUMB + 24, THUMB + 40))
        self.gallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.gallery.setUniformItemSizes(True)
        self.gallery.setLayoutMode(QListView.LayoutMode.Batched)
        self.gallery.setMovement(QListView.Movement.Static)
        self.gallery.selectionModel().currentChanged.connect(self._on_current)
        # As in My digits, a double-click puts the digit on the pad.
        self.gallery.doubleClicked.connect(lambda _index: self._open_current())
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):  # the keyboard's double-click
            enter = QShortcut(QKeySequence(key), self.gallery)
            enter.setContext(Qt.ShortcutContext.WidgetShortcut)
            enter.activated.connect(self._open_current)
        self.gallery.setToolTip("Double-click a digit (or press Enter) to open it on the pad.")
        self.count_label = QLabel("")
        self.empty_label = QLabel()
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clear_filter_button = QPushButton("Clear the filter")
        self.clear_filter_button.setToolTip("Show the mistakes of every pair of digits again.")
        self.clear_filter_button.clicked.connect(self.clear_filter)
        empty = QWidget()
        empty_layout = QVBoxLayout(empty)
        empty_layout.addStretch(1)
        empty_layout.addWidget(self.empty_label)
        empty_layout.addWidget(self.clear_filter_button, 0, Qt.AlignmentFlag.AlignCenter)
        empty_layout.addStretch(1)
        self.gallery_stack = QStackedWidget()  # the gallery, or why it is empty
        self.gallery_stack.addWidget(self.gallery)
        self.gallery_stack.addWidget(empty)

        self.detail_bars = ProbabilityBars()
        self.detail_bars.setMaximumHeight(200)
        self.detail_label = QLabel(DETAIL_HINT)
        self.detail_label.setWordWrap(True)
        self.open_button = QPushButton("Open on pad")
        self.open_button.setToolTip("Show this digit on the Draw tab with the active model.")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._open_current)

        top = QHBoxLayout()
        top.addWidget(self.model_text, 1)
        top.addWidget(QLabel("Test digits"))
        top.addWidget(self.subset)
        top.addWidget(self.evaluate_button)
        top.addWidget(self.cancel_button)
        left = QVBoxLayout()
        left.addWidget(self.summary)
        left.addWidget(self.heatmap, 1)
        left.addWidget(export_button, 0, Qt.AlignmentFlag.AlignRight)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("True"))
        filters.addWidget(self.true_filter)
        filters.addWidget(QLabel("Predicted"))
        filters.addWidget(self.pred_filter)
        filters.addWidget(self.sort_combo)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        middle = QVBoxLayout()
        middle.addLayout(filters)
        middle.addWidget(self.gallery_stack, 1)
        detail = QVBoxLayout()
        detail.addWidget(self.detail_label)
        detail.addWidget(self.detail_bars)
        detail.addWidget(self.open_button)
        detail.addStretch(1)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addLayout(middle, 4)
        body.addLayout(detail, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)
        # Before the first evaluation: say what to press, not an empty gallery and chart.
        self.empty_label.setText(NOT_EVALUATED)
        self.clear_filter_button.setVisible(False)
        self.gallery_stack.setCurrentIndex(1)
        self.detail_bars.show_empty("No digit selected.")

    @Slot()
    def _export_matrix(self) -> None:
        path = ask_save_path(self, "Export chart", "confusion.png", "PNG (*.png)", self.settings)
        if path:
            export_png(self.heatmap, self, path=path)

    def set_model_text(self, text: str, path: str = "") -> None:
        self._model = (path, text)
        self.model_text.setText(f"Active model: {text}")
        self._show_summary()

    def _show_summary(self) -> None:
        """The shown result's scores, and a warning when they are another model's."""
        if self.result is None or self.job is not None:
            return  # "Not evaluated yet.", "Evaluating…" or a failure stay as they are
        if self._result_model == self._model:
            self.summary.setText(self._summary)
            return
        self.summary.setText(
            f"<b>These are the mistakes of {self._result_model[1]}</b>, evaluated before the "
            "active model changed: press Evaluate to see the active model's.<br>" + self._summary
        )

    def evaluate(self, checkpoint_path: str) -> bool:
        """Submit the evaluation job; False when one is running or the data is missing."""
        from mnist_desk.core.evaluation import evaluate_checkpoint
        from mnist_desk.ui.train_tab import data_problem

        if self.job is not None:
            return False
        folder = self.data_folder()
        problem = data_problem(folder, "the Data field on the Train tab")
        if problem:
            self._on_failed(problem, prefix="")
            return False
        set_error(self.error_label, "")
        self.evaluate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.summary.setText("Evaluating…")
        self._evaluating = (checkpoint_path, self._model[1])
        if self.result is None:  # not "Press Evaluate" while it is evaluating
            self.empty_label.setText(EVALUATING)
        self.job = self.jobs.submit(
            "evaluation",
            evaluate_checkpoint,
            checkpoint_path,
            folder or None,
            self.subset.value() or None,
        )
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)

    def _job_over(self) -> None:
        self.job = None
        self.evaluate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.result is None:
            self.empty_label.setText(NOT_EVALUATED)

    @Slot(object)
    def _on_progress(self, event) -> None:
        done, total = event
        self.progress.setValue(int(done * 100 / max(total, 1)))

    @Slot()
    def _on_cancelled(self) -> None:
        self._job_over()
        self.summary.setText("Evaluation cancelled.")
        self.evaluation_ended.emit(False)

    @Slot(object)
    def _on_finished(self, payload: dict) -> None:
        self._job_over()
        self.progress.setValue(100)
        result = payload["result"]
        self.result = result
        self.model.set_result(
            payload["images"], result.labels, result.predictions, result.probabilities
        )
        self.heatmap.set_matrix(result.confusion_matrix())
        self.export_button.setEnabled(True)
        per_class = result.per_class_accuracy()
        worst = int(np.argmin(per_class))
        self._summary = (
            f"<b>{result.accuracy * 100:.2f}%</b> correct on {len(result.labels):,} test digits "
            f"({len(result.mistakes())} mistakes). Per class: "
            + ", ".join(f"{d}: {a * 100:.1f}%" for d, a in enumerate(per_class))
            + f". Hardest: {worst}."
        )
        self._result_model = self._evaluating
        self._show_summary()
        self._refilter()
        self.evaluation_ended.emit(True)

    @Slot(str)
    def _on_failed(self, message: str, prefix: str = "Could not evaluate: ") -> None:
        self._job_over()
        self.summary.setText("Evaluation failed.")
        set_error(self.error_label, f"{prefix}{message}")
        self.evaluation_ended.emit(False)

    @Slot(int, int)
    def filter_cell(self, true: int, predicted: int) -> None:
        self.true_filter.setCurrentIndex(true + 1)
        self.pred_filter.setCurrentIndex(predicted + 1)

    def _refilter(self) -> None:
        self.model.apply_filter(
            self.true_filter.currentData(),
            self.pred_filter.currentData(),
            self.sort_combo.currentIndex() == 0,
        )
        count = self.model.rowCount()
        # Before an evaluation there is nothing to count: "0 digits" read as "no mistakes".
        counted = self.result is not None
        self.count_label.setText(f"{count} digit{'' if count == 1 else 's'}" if counted else "")
        true, predicted = self.true_filter.currentData(), self.pred_filter.currentData()
        empty = count == 0
        if self.result is None:
            self.empty_label.setText(NOT_EVALUATED if self.job is None else EVALUATING)
        else:
            self.empty_label.setText(nothing_matches(true, predicted) if empty else "")
        self.clear_filter_button.setVisible(true is not None or predicted is not None)
        self.gallery_stack.setCurrentIndex(1 if empty else 0)
        self._clear_detail()

    def clear_filter(self) -> None:
        for combo in (self.true_filter, self.pred_filter):
            combo.blockSignals(True)  # one refilter for both, not two
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self._refilter()

    def _clear_detail(self) -> None:
        """The gallery was rebuilt: nothing is selected, so the panel must not describe a digit."""
        self.detail_label.setText(DETAIL_HINT)
        self.detail_bars.show_empty("No digit selected.")
        self.open_button.setEnabled(False)

    def current_test_index(self) -> int | None:
        index = self.gallery.currentIndex()
        return self.model.test_index(index.row()) if index.isValid() else None

    def _on_current(self, current, _previous) -> None:
        if not current.isValid():
            return
        i = self.model.test_index(current.row())
        probs = self.model.probabilities[i]
        order = np.argsort(-probs)[:3]
        self.detail_bars.set_top_k([(int(d), float(probs[d])) for d in order])
        self.detail_label.setText(
            f"Test digit #{i}: labelled {self.model.labels[i]}, "
            f"read as {read_as(self.model.predictions[i])}."
        )
        self.open_button.setEnabled(True)

    def _open_current(self) -> None:
        i = self.current_test_index()
        if i is not None:
            self.open_on_pad.emit(self.model.images[i].astype(np.float32) / 255.0)
