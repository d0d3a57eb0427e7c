"""The Train tab: a form for ``TrainConfig``, live curves, progress, cancel, a table of runs."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.core.config import OPTIMIZERS, SCHEDULES, TrainConfig
from mnist_desk.paths import runs_dir
from mnist_desk.ui import settings as settings_io
from mnist_desk.ui.charts import CurvesPlot, export_png
from mnist_desk.ui.messages import error_label
from mnist_desk.ui.workers import TrainWorker, start_in_thread, stop_thread

RUNS_TABLE = "runs.json"
TABLE_COLUMNS = ("run", "model", "epochs", "optimizer", "lr", "best test acc", "time", "device")


def load_runs_table(folder: Path) -> list[dict]:
    try:
        rows = json.loads((folder / RUNS_TABLE).read_text(encoding="utf-8"))
        return rows if isinstance(rows, list) else []
    except (OSError, ValueError):
        return []


def append_run(folder: Path, row: dict) -> None:
    from mnist_desk.core.checkpoint import atomic_write_bytes

    rows = load_runs_table(folder) + [row]
    text = json.dumps(rows, indent=2).encode()
    atomic_write_bytes(folder / RUNS_TABLE, lambda h: h.write(text))


class TrainTab(QWidget):
    start_requested = Signal(object)  # TrainConfig, to the worker
    checkpoint_ready = Signal(str, dict)  # best.pt path, summary row
    use_checkpoint = Signal(str)
    run_ended = Signal(bool)  # True when it produced a result, False when it failed
    fine_tune_requested = Signal()
    _fine_tune = Signal(object, str, str)  # config, checkpoint, my-digits folder

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.running = False
        self.last_result = None
        self.last_fine_tune = None
        self.last_error = ""
        self._started = 0.0
        self._smoothed_loss: float | None = None
        self._batch_x = 0.0

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Model from the registry (populated once PyTorch has loaded).")
        self.epochs = QSpinBox(minimum=1, maximum=500, value=5)
        self.batch_size = QSpinBox(minimum=1, maximum=8192, value=128)
        self.lr = QDoubleSpinBox(
            decimals=5, minimum=1e-5, maximum=10.0, singleStep=1e-4, value=1e-3
        )
        self.optimizer = QComboBox()
        self.optimizer.addItems(OPTIMIZERS)
        self.optimizer.setCurrentText("adam")
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULES)
        self.augment = QCheckBox("random tilt, scale and stroke width")
        self.val_split = QDoubleSpinBox(
            decimals=2, minimum=0.0, maximum=0.4, singleStep=0.05, value=0.1
        )
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=1)
        self.device = QComboBox()
        self.train_subset = QSpinBox(minimum=0, maximum=60000, singleStep=1000, value=0)
        self.train_subset.setSpecialValueText("all 60,000")
        self.train_subset.setToolTip("Train on the first N digits only, for quick experiments.")
        self.data_edit = QLineEdit(os.environ.get("MNIST_DESK_DATA", ""))
        self.data_edit.setPlaceholderText("MNIST folder (empty: download to the user cache)")
        self.data_edit.setToolTip("Folder with MNIST/raw/*-ubyte (torchvision layout).")
        browse = QPushButton("…")
        browse.setToolTip("Choose the MNIST folder")
        browse.clicked.connect(self._browse_data)
        for widget, tip in (
            (self.epochs, "Passes over the training set."),
            (self.batch_size, "Digits per optimisation step."),
            (self.lr, "Learning rate (peak rate for one-cycle)."),
            (self.optimizer, "SGD uses momentum 0.9."),
            (self.schedule, "How the learning rate changes during the run."),
            (self.val_split, "Share of the training set held out to choose the best epoch."),
            (self.seed, "Same seed, same settings → same run."),
            (self.device, "auto picks CUDA, then MPS, then the CPU."),
        ):
            widget.setToolTip(tip)

        form = QFormLayout()
        form.addRow("Model", self.model_combo)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", self.lr)
        form.addRow("Optimizer", self.optimizer)
        form.addRow("Schedule", self.schedule)
        form.addRow("Augmentation", self.augment)
        form.addRow("Validation split", self.val_split)
        form.addRow("Seed", self.seed)
        form.addRow("Device", self.device)
        form.addRow("Training digits", self.train_subset)
        data_row = QHBoxLayout()
        data_row.addWidget(self.data_edit, 1)
        data_row.addWidget(browse)
        form.addRow("Data", data_row)

        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train in the background; the window stays usable.")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop within one batch; the best checkpoint so far is kept.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use on the pad")
        self.use_button.setToolTip("Make the last run's best checkpoint the active model.")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use_last)
        self.fine_tune_button = QPushButton("Fine-tune on MNIST + my digits")
        self.fine_tune_button.setToolTip(
            "Continue training the active model on MNIST plus your own digits (My digits tab), "
            "using the epochs, learning rate and batch size above; 30% of your digits are held "
            "out to show the before/after accuracy."
        )
        self.fine_tune_button.clicked.connect(self.fine_tune_requested)
        self.fine_tune_label = QLabel()
        self.fine_tune_label.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.cancel_button, self.use_button):
            buttons.addWidget(button)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.speed_label = QLabel("Idle")
        self.error_label = error_label()

        left = QVBoxLayout()
        box = QGroupBox("Settings")
        box.setLayout(form)
        left.addWidget(box)
        left.addLayout(buttons)
        left.addWidget(self.fine_tune_button)
        left.addWidget(self.fine_tune_label)
        left.addWidget(self.progress)
        left.addWidget(self.speed_label)
        left.addWidget(self.error_label)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(380)

        self.loss_plot = CurvesPlot("loss")
        self.acc_plot = CurvesPlot("accuracy")
        export_button = QPushButton("Export curves as PNG…")
        export_button.clicked.connect(lambda: export_png(self.plots_widget, self))
        self.plots_widget = QWidget()
        plots = QGridLayout(self.plots_widget)
        plots.addWidget(self.loss_plot, 0, 0)
        plots.addWidget(self.acc_plot, 0, 1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setToolTip("Every run trained here; double-click one to use it on the pad.")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.cellDoubleClicked.connect(self._use_row)

        right = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.plots_widget, 1)
        top_layout.addWidget(export_button, 0, Qt.AlignmentFlag.AlignRight)
        right.addWidget(top)
        right.addWidget(self.log)
        right.addWidget(self.table)
        right.setSizes([400, 120, 160])
        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addWidget(right, 1)

        self.worker = TrainWorker()
        self.thread = start_in_thread(self.worker, "training")
        self.start_requested.connect(self.worker.run)
        self.worker.progress.connect(self._on_progress)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.fine_tuned.connect(self._on_fine_tuned)
        self._fine_tune.connect(self.worker.run_fine_tune)
        self._restore()
        self.refresh_table()

    # ----- populate once torch is loaded -------------------------------------------------
    def populate(self) -> None:
        """Fill model and device choices (imports torch: call once it is loaded)."""
        if self.model_combo.count():
            return
        from mnist_desk.core.device import available_devices
        from mnist_desk.core.models import MODELS

        wanted = settings_io.read(self.settings, "train/model", "cnn", str)
        for spec in MODELS.values():
            self.model_combo.addItem(spec.name)
            self.model_combo.setItemData(
                self.model_combo.count() - 1, spec.summary, Qt.ItemDataRole.ToolTipRole
            )
        self.model_combo.setCurrentText(wanted if wanted in MODELS else "cnn")
        self.device.clear()
        self.device.addItem("auto")
        for name, reason in available_devices().items():
            self.device.addItem(name)
            if reason:
                index = self.device.count() - 1
                item = self.device.model().item(index)
                item.setEnabled(False)
                self.device.setItemData(
                    index, f"Unavailable: {reason}", Qt.ItemDataRole.ToolTipRole
                )
                self.device.setItemText(index, f"{name} (unavailable)")

    # ----- run control ------------------------------------------------------------------
    def config(self, prefix: str = "") -> TrainConfig:
        model = self.model_combo.currentText() or "cnn"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{prefix}-{stamp}" if prefix else f"{model}-{stamp}"
        device = self.device.currentText().split(" ")[0] or "auto"
        return TrainConfig(
            model=model,
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            lr=self.lr.value(),
            optimizer=self.optimizer.currentText(),
            schedule=self.schedule.currentText(),
            augment=self.augment.isChecked(),
            val_split=self.val_split.value(),
            seed=self.seed.value(),
            device=device,
            data=self.data_edit.text().strip() or None,
            train_subset=self.train_subset.value() or None,
            out=str(runs_dir() / name),
        )

    def start_fine_tune(
        self,
        checkpoint_path: str,
        store_folder: str,
        model_name: str,
        config: TrainConfig | None = None,
    ) -> bool:
        try:
            config = dataclasses.replace(
                config or self.config(prefix="finetune"), model=model_name, augment=True
            )
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        self.fine_tune_label.setText("Fine-tuning…")
        return self.start(
            config, lambda: self._fine_tune.emit(config, checkpoint_path, store_folder)
        )

    def start(self, config: TrainConfig | None = None, launch=None) -> bool:
        if self.running:
            return False  # only one run at a time
        self.populate()
        try:
            config = config or self.config()
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        self.running = True
        self.last_error = ""
        self._show_error("")
        self.loss_plot.clear_data()
        self.acc_plot.clear_data()
        self.progress.setValue(0)
        self._started = time.perf_counter()
        self._smoothed_loss = None
        self._config = config
        self.start_button.setEnabled(False)
        self.fine_tune_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.log.appendPlainText(f"Starting {config.model}: {config.epochs} epochs → {config.out}")
        if launch is None:
            self.start_requested.emit(config)
        else:
            launch()
        return True

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.log.appendPlainText("Cancelling…")

    @Slot(object)
    def _on_progress(self, event) -> None:
        if event.kind == "start":
            self.log.appendPlainText(f"Device: {event.message}")
            return
        self.progress.setValue(int(event.fraction * 1000))
        done = event.fraction
        elapsed = time.perf_counter() - self._started
        eta = elapsed * (1 - done) / done if done > 0 else math.nan
        eta_text = f", about {eta:.0f}s left" if math.isfinite(eta) else ""
        self.speed_label.setText(
            f"Epoch {event.epoch}/{event.epochs} · {event.images_per_s:,.0f} images/s{eta_text}"
        )
        x = event.epoch - 1 + event.batch / max(event.batches, 1)
        if event.kind == "batch" and math.isfinite(event.loss):
            # An exponential moving average: the raw per-batch loss is too noisy to read.
            previous = self._smoothed_loss
            self._smoothed_loss = (
                event.loss if previous is None else 0.9 * previous + 0.1 * event.loss
            )
            self.loss_plot.append("batch (smoothed)", x, self._smoothed_loss)
        if event.kind == "epoch":
            m = event.epoch_metrics
            for split in ("train", "val", "test"):
                if f"{split}_loss" in m:
                    self.loss_plot.append(split, event.epoch, m[f"{split}_loss"])
                    self.acc_plot.append(split, event.epoch, m[f"{split}_acc"])
            parts = [f"epoch {event.epoch}: train loss {m['train_loss']:.4f}"]
            if "val_acc" in m:
                parts.append(f"val acc {m['val_acc'] * 100:.2f}%")
            parts.append(f"test acc {m['test_acc'] * 100:.2f}%")
            parts.append(f"{m['epoch_seconds']:.1f}s")
            self.log.appendPlainText(", ".join(parts))

    @Slot(object)
    def _on_fine_tuned(self, report) -> None:
        def pct(value):
            return "–" if value is None else f"{value * 100:.1f}%"

        text = (
            f"Fine-tuned on {report.trained_on} of your digits ({report.held_out} held out). "
            f"Your held-out digits: {pct(report.mine_before)} → {pct(report.mine_after)}; "
            f"MNIST test: {pct(report.mnist_before)} → {pct(report.mnist_after)}."
        )
        self.last_fine_tune = report
        self.fine_tune_label.setText(text)
        self.log.appendPlainText(text)

    @Slot(object)
    def _on_finished(self, result) -> None:
        self.running = False
        self.fine_tune_button.setEnabled(True)
        self.last_result = result
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setValue(1000 if not result.cancelled else self.progress.value())
        best = result.best_metrics
        if result.best_path:
            row = {
                "run": Path(result.best_path).parent.name,
                "model": self._config.model,
                "epochs": best.get("epoch"),
                "optimizer": self._config.optimizer,
                "lr": self._config.lr,
                "best test acc": round(best.get("test_acc", 0.0) * 100, 2),
                "time": f"{result.seconds:.0f}s",
                "device": result.device,
                "path": str(result.best_path),
            }
            append_run(runs_dir(), row)
            self.refresh_table()
            self.use_button.setEnabled(True)
            state = "cancelled; kept" if result.cancelled else "done; best"
            self.log.appendPlainText(
                f"Run {state} checkpoint {result.best_path} (test acc {row['best test acc']}%)"
            )
            self.checkpoint_ready.emit(str(result.best_path), row)
        else:
            self.log.appendPlainText("Run cancelled before the first epoch ended: no checkpoint.")
        self.speed_label.setText("Cancelled" if result.cancelled else "Finished")
        self.run_ended.emit(True)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.running = False
        self.fine_tune_button.setEnabled(True)
        self.fine_tune_label.setText("")
        self.last_error = message
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.speed_label.setText("Failed")
        self._show_error(f"Training failed: {message}")
        self.log.appendPlainText(f"Training failed: {message}")
        self.run_ended.emit(False)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _use_last(self) -> None:
        if self.last_result and self.last_result.best_path:
            self.use_checkpoint.emit(str(self.last_result.best_path))

    def _use_row(self, row: int, _column: int) -> None:
        item = self.table.item(row, 0)
        if item and item.data(Qt.ItemDataRole.UserRole):
            self.use_checkpoint.emit(item.data(Qt.ItemDataRole.UserRole))

    def refresh_table(self) -> None:
        rows = load_runs_table(runs_dir())
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(TABLE_COLUMNS):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, row.get(key, ""))
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, row.get("path", ""))
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.resizeColumnsToContents()

    def _browse_data(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "MNIST folder", self.data_edit.text())
        if folder:
            self.data_edit.setText(folder)

    # ----- lifecycle --------------------------------------------------------------------
    def confirm_close(self) -> bool:
        if not self.running:
            return True
        answer = QMessageBox.question(
            self,
            "Training is running",
            "Stop the training run and quit? The best checkpoint so far is kept.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self) -> None:
        self.worker.cancel()
        stop_thread(self.thread, 10000)

    def _restore(self) -> None:
        s = self.settings
        self.epochs.setValue(settings_io.read(s, "train/epochs", 5, int))
        self.batch_size.setValue(settings_io.read(s, "train/batch_size", 128, int))
        self.lr.setValue(settings_io.read(s, "train/lr", 1e-3, float))
        self.optimizer.setCurrentText(settings_io.read(s, "train/optimizer", "adam", str))
        self.schedule.setCurrentText(settings_io.read(s, "train/schedule", "none", str))
        self.augment.setChecked(settings_io.read(s, "train/augment", False, bool))
        data = settings_io.read(s, "train/data", "", str)
        if data:
            self.data_edit.setText(data)

    def save_settings(self) -> None:
        s = self.settings
        if self.model_combo.currentText():
            s.setValue("train/model", self.model_combo.currentText())
        s.setValue("train/epochs", self.epochs.value())
        s.setValue("train/batch_size", self.batch_size.value())
        s.setValue("train/lr", self.lr.value())
        s.setValue("train/optimizer", self.optimizer.currentText())
        s.setValue("train/schedule", self.schedule.currentText())
        s.setValue("train/augment", self.augment.isChecked())
        s.setValue("train/data", self.data_edit.text())
