"""The Train tab: a form for ``TrainConfig``, live curves, progress, cancel, a table of runs."""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import time

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
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.core.config import CHECKPOINT_CRITERIA, OPTIMIZERS, SCHEDULES, TrainConfig
from mnist_desk.core.errors import UserError
from mnist_desk.core.runs import (
    RunRecord,
    default_runs_table,
    load_history,
    resume_refusal,
    run_key,
    starting_record,
)
from mnist_desk.paths import runs_dir
from mnist_desk.ui import settings as settings_io
from mnist_desk.ui.charts import CurvesPlot, export_png
from mnist_desk.ui.file_dialogs import ask_save_path
from mnist_desk.ui.jobs import Job, JobRunner
from mnist_desk.ui.messages import error_label, set_error

TABLE_COLUMNS = ("run", "model", "status", "epochs", "test acc", "val acc", "created")
COLUMN_TIPS = (
    "The run's folder (hover a name for its full path).",
    "The model architecture.",
    "done, running, cancelled or failed.",
    "Epochs done / epochs asked for.",
    "Test accuracy of the checkpoint kept as best.pt.",
    "Validation accuracy of that checkpoint.",
    "When the run started.",
)
SORT_ROLE = Qt.ItemDataRole.UserRole + 1  # what a column sorts by, when not its text


class _SortedItem(QTableWidgetItem):
    """A cell that sorts by its sort key (a number, an ISO time), not its text: "100.00%"
    after "87.50%", "10/10" after "4/4"."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if mine is None or theirs is None or type(mine) is not type(theirs):
            return self.text() < other.text()
        return mine < theirs


# TrainConfig fields the form leaves out on purpose, each with its reason. A test fails when a
# field is neither in the form nor here, so a new training option cannot be forgotten.
NOT_IN_FORM = {
    "out": "every run gets a fresh folder under the runs folder, named after model and time",
    "tags": "free-form notes for scripts; nothing to choose in a form",
    "extra_train": "set by Fine-tune (your own digits), not typed in",
    "extra_repeat": "set by Fine-tune to weigh your few digits against MNIST",
    "init_from": "set by Fine-tune (the active model)",
    "amp": "mixed precision only applies on CUDA; the CLI has --amp",
    "compile": "torch.compile only pays off on long GPU runs; the CLI has --compile",
}
SUBSET_FIELDS = ("train_subset", "test_subset")  # 0 in the form means "all"


def data_problem(folder: str, field: str = "the Data field above") -> str:
    """The window's sentence for a Data folder without usable MNIST, or "" when it is fine.

    Checked before a job starts (a few file sizes), so the message can name the form's field
    rather than the command line's ``--data``. An empty field may still download MNIST.
    """
    from mnist_desk.core.data import OFFLINE_ENV, check_raw_files, resolve_data_root

    offline = bool(os.environ.get(OFFLINE_ENV))
    if not folder and not offline:
        return ""
    root = resolve_data_root(folder or None)
    problems = check_raw_files(root)
    if not problems:
        return ""
    fix = "" if offline else ", or empty it to download MNIST"
    return (
        f"No usable MNIST in {root} ({problems[0]}): in {field}, choose the folder that holds "
        f"MNIST/raw{fix}."
    )


RESUME_TIP = "Continue the selected cancelled run where it stopped."


NOTHING_TO_RESUME = (
    "This run was cancelled before its first epoch ended: there is nothing to resume, start "
    "a new run instead."
)


def _resume_tip(record: RunRecord | None) -> str:
    """What Resume does, or why a cancelled run cannot go on: one cancelled before its first
    epoch has no last.pt (resuming could only fail and mark it "failed"), and core's
    ``resume_refusal`` (also the CLI's) refuses a fine-tune: its copy of the digits is gone."""
    if record is not None and record.status == "cancelled":
        refusal = resume_refusal(record.config or {})
        if refusal:
            return refusal
        if record.epochs_done <= 0:
            return NOTHING_TO_RESUME
    return RESUME_TIP


def _resumable(record: RunRecord | None) -> bool:
    return record is not None and record.status == "cancelled" and _resume_tip(record) == RESUME_TIP


def _resume_supported() -> bool:
    """Whether the training engine can continue a cancelled run (``fit(..., resume=True)``)."""
    from mnist_desk.core.train import fit

    return "resume" in inspect.signature(fit).parameters


class TrainTab(QWidget):
    checkpoint_ready = Signal(str, dict)  # best.pt path, summary
    use_checkpoint = Signal(str)
    run_ended = Signal(bool)  # True when it ended without failing (done or cancelled)
    fine_tune_requested = Signal()
    problems_found = Signal(list)  # runs.json rows that were skipped, for the status bar

    def __init__(self, settings: QSettings, jobs: JobRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.jobs = jobs
        self.job: Job | None = None
        self.last_result = None
        self.last_fine_tune = None
        self.last_error = ""
        self.records: list[RunRecord] = []
        # The running run's row until core has written it (the job may still be loading):
        # shown, never written. Core alone decides which rows runs.json keeps.
        self._pending: RunRecord | None = None
        self.table_problems: list[str] = []
        self._resume_ok = False
        self._started = 0.0
        self._smoothed_loss: float | None = None
        self._config: TrainConfig | None = None

        self.fields: dict[str, QWidget] = self._make_fields()
        self._tooltips()
        self.keep_epochs = self.fields.get("keep_epochs")
        if self.keep_epochs is None:  # the engine has no per-epoch snapshots yet
            self.keep_epochs = QCheckBox("keep a checkpoint per epoch")
            self.keep_epochs.setChecked(True)
            self.keep_epochs.setEnabled(False)
            self.keep_epochs.setToolTip(
                "Per-epoch snapshots need a newer training engine; this build keeps best.pt only."
            )

        browse = QPushButton("…")
        browse.setToolTip("Choose the MNIST folder")
        browse.clicked.connect(self._browse_data)
        form = QFormLayout()
        for label, name in (
            ("Model", "model"),
            ("Epochs", "epochs"),
            ("Batch size", "batch_size"),
            ("Learning rate", "lr"),
            ("Optimizer", "optimizer"),
            ("Schedule", "schedule"),
            ("Augmentation", "augment"),
            ("Validation split", "val_split"),
            ("Seed", "seed"),
            ("Device", "device"),
            ("Training digits", "train_subset"),
        ):
            form.addRow(label, self.fields[name])
        data_row = QHBoxLayout()
        data_row.addWidget(self.fields["data"], 1)
        data_row.addWidget(browse)
        form.addRow("Data", data_row)
        form.addRow("Snapshots", self.keep_epochs)
        more = QFormLayout()
        for label, name in (
            ("Momentum (SGD)", "momentum"),
            ("Weight decay", "weight_decay"),
            ("Step size (epochs)", "step_size"),
            ("Step factor", "gamma"),
            ("Label smoothing", "label_smoothing"),
            ("Keep the epoch by", "select_by"),
            ("Test digits", "test_subset"),
        ):
            more.addRow(label, self.fields[name])
        self.more_box = QGroupBox("More settings")
        self.more_box.setLayout(more)
        self.more_box.setVisible(False)
        self.more_button = QPushButton("More settings")
        self.more_button.setCheckable(True)
        self.more_button.setToolTip(
            "Optimizer details, learning-rate steps, how the best epoch is chosen."
        )
        self.more_button.toggled.connect(self.more_box.setVisible)

        self.start_button = QPushButton("Start training")
        self.start_button.setToolTip("Train in the background; the window stays usable.")
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop within one batch; the best checkpoint so far is kept.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.use_button = QPushButton("Use on the pad")
        self.use_button.setToolTip("Make the selected run's best checkpoint the active model.")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use_selected)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip(RESUME_TIP)
        self.resume_button.clicked.connect(self.resume_selected)
        self.fine_tune_button = QPushButton("Fine-tune on MNIST + my digits")
        self.fine_tune_button.setToolTip(
            "Continue training the active model on MNIST plus your own digits (My digits tab), "
            "using the epochs, learning rate and batch size above; 30% of your digits are held "
            "out to show the before/after accuracy."
        )
        self.fine_tune_button.clicked.connect(self.fine_tune_requested)
        self.fine_tune_label = QLabel()
        self.fine_tune_label.setWordWrap(True)
        buttons = QGridLayout()  # two by two: four in a row overlap at the minimum size
        for i, button in enumerate(
            (self.start_button, self.cancel_button, self.use_button, self.resume_button)
        ):
            buttons.addWidget(button, i // 2, i % 2)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.speed_label = QLabel("Idle")
        self.error_label = error_label()

        left = QVBoxLayout()
        box = QGroupBox("Settings")
        box.setLayout(form)
        left.addWidget(box)
        left.addWidget(self.more_button)
        left.addWidget(self.more_box)
        left.addLayout(buttons)
        left.addWidget(self.fine_tune_button)
        left.addWidget(self.fine_tune_label)
        left.addStretch(1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(380)
        self.form_scroll = scroll = QScrollArea()
        scroll.setWidget(left_widget)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Room for the form beside its vertical scroll bar: without it the bar covered the
        # buttons' right edges (no sideways scrolling to reveal them).
        scroll.setMinimumWidth(
            left_widget.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        )
        # The run's progress, phase and errors stay below the form, never scrolled out of
        # sight: at the minimum size the form needs its scroll bar.
        left_panel = QWidget()
        left_panel.setMaximumWidth(400)
        panel = QVBoxLayout(left_panel)
        panel.setContentsMargins(0, 0, 0, 0)
        panel.addWidget(scroll, 1)
        panel.addWidget(self.progress)
        panel.addWidget(self.speed_label)
        panel.addWidget(self.error_label)

        self.loss_plot = CurvesPlot("loss")
        self.acc_plot = CurvesPlot("accuracy")
        self.export_button = export_button = QPushButton("Export curves as PNG…")
        export_button.setToolTip(
            "Save the loss and accuracy charts as a PNG image (once a run has drawn them)."
        )
        export_button.setEnabled(False)  # nothing to export before a run has curves
        export_button.clicked.connect(self._export_curves)
        self.plots_widget = QWidget()
        plots = QGridLayout(self.plots_widget)
        plots.addWidget(self.loss_plot, 0, 0)
        plots.addWidget(self.acc_plot, 0, 1)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(2000)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        for column, tip in enumerate(COLUMN_TIPS):
            self.table.horizontalHeaderItem(column).setToolTip(tip)
        # Fit the width, never scroll sideways: the name takes what the short columns leave
        # and is cut in the middle (model and time stay readable), whole in its tooltip.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()  # row numbers say nothing here
        self.table.setToolTip(
            "Every run, from this window or mnist-desk train. Select one to see its curves; "
            "double-click (or Use on the pad) to read your drawings with it."
        )
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        newest_first = Qt.SortOrder.DescendingOrder
        self.table.sortByColumn(TABLE_COLUMNS.index("created"), newest_first)
        self.table.cellDoubleClicked.connect(self._use_row)
        self.table.itemSelectionChanged.connect(self._on_selection)

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
        layout.addWidget(left_panel)
        layout.addWidget(right, 1)
        for button in self.findChildren(QPushButton):  # a narrow window elides, never clips
            button.setMinimumWidth(button.sizeHint().width())
        self._restore()
        self.refresh_table()

    # ----- the form ---------------------------------------------------------------------
    def _make_fields(self) -> dict[str, QWidget]:
        """One widget per TrainConfig field shown in the form (see NOT_IN_FORM for the rest)."""
        model = QComboBox()
        model.setToolTip("Model from the registry (populated once PyTorch has loaded).")
        optimizer = QComboBox()
        optimizer.addItems(OPTIMIZERS)
        optimizer.setCurrentText("adam")
        schedule = QComboBox()
        schedule.addItems(SCHEDULES)
        select_by = QComboBox()
        select_by.addItems(CHECKPOINT_CRITERIA)
        train_subset = QSpinBox(minimum=0, maximum=60000, singleStep=1000, value=0)
        train_subset.setSpecialValueText("all 60,000")
        test_subset = QSpinBox(minimum=0, maximum=10000, singleStep=1000, value=0)
        test_subset.setSpecialValueText("all 10,000")
        data = QLineEdit(os.environ.get("MNIST_DESK_DATA", ""))
        data.setPlaceholderText("MNIST folder (empty: download to the user cache)")
        fields = {
            "model": model,
            "epochs": QSpinBox(minimum=1, maximum=500, value=5),
            "batch_size": QSpinBox(minimum=1, maximum=8192, value=128),
            "lr": QDoubleSpinBox(
                decimals=5, minimum=1e-5, maximum=10.0, singleStep=1e-4, value=1e-3
            ),
            "optimizer": optimizer,
            "momentum": QDoubleSpinBox(
                decimals=2, minimum=0.0, maximum=0.99, singleStep=0.05, value=0.9
            ),
            "weight_decay": QDoubleSpinBox(
                decimals=5, minimum=0.0, maximum=1.0, singleStep=1e-4, value=0.0
            ),
            "schedule": schedule,
            "step_size": QSpinBox(minimum=1, maximum=500, value=10),
            "gamma": QDoubleSpinBox(
                decimals=3, minimum=0.001, maximum=1.0, singleStep=0.05, value=0.1
            ),
            "augment": QCheckBox("random tilt, scale and stroke width"),
            "val_split": QDoubleSpinBox(
                decimals=2, minimum=0.0, maximum=0.4, singleStep=0.05, value=0.1
            ),
            "seed": QSpinBox(minimum=0, maximum=2**31 - 1, value=1),
            "device": QComboBox(),
            "data": data,
            "train_subset": train_subset,
            "test_subset": test_subset,
            "select_by": select_by,
            "label_smoothing": QDoubleSpinBox(
                decimals=2, minimum=0.0, maximum=0.5, singleStep=0.05, value=0.0
            ),
        }
        if "keep_epochs" in {f.name for f in dataclasses.fields(TrainConfig)}:
            keep = QCheckBox("keep a checkpoint per epoch")
            keep.setChecked(True)
            fields["keep_epochs"] = keep
        return fields

    def _tooltips(self) -> None:
        for name, tip in {
            "epochs": "Passes over the training set.",
            "batch_size": "Digits per optimisation step.",
            "lr": "Learning rate (peak rate for one-cycle).",
            "optimizer": "SGD uses the momentum under More settings.",
            "schedule": "How the learning rate changes during the run.",
            "val_split": "Share of the training set held out to choose the best epoch.",
            "seed": "Same seed, same settings → same run.",
            "device": "auto picks CUDA, then MPS, then the CPU.",
            "train_subset": "Train on the first N digits only, for quick experiments.",
            "test_subset": "Measure on the first N test digits only (faster epochs).",
            "data": "Folder with MNIST/raw/*-ubyte (torchvision layout).",
            "step_size": "For the step schedule: epochs between learning-rate drops.",
            "gamma": "For the step schedule: the factor of each drop.",
            "select_by": "Which epoch becomes best.pt: best validation or test accuracy, or the last.",
            "keep_epochs": "Also keep epoch_N.pt for every epoch, to go back to any of them.",
        }.items():
            if name in self.fields:
                self.fields[name].setToolTip(tip)
        helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(TrainConfig)}
        for name, widget in self.fields.items():  # the rest say what `train --help` says
            if not widget.toolTip() and helps.get(name):
                widget.setToolTip(f"{helps[name][0].upper()}{helps[name][1:]}.")

    @staticmethod
    def _value(name: str, widget: QWidget):
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QComboBox):
            return widget.currentText().split(" ")[0]
        if isinstance(widget, QLineEdit):
            return widget.text().strip() or None
        value = widget.value()
        return (value or None) if name in SUBSET_FIELDS else value

    def data_folder(self) -> str:
        """The Data field: the one MNIST folder for training and the Mistakes tab."""
        return self.fields["data"].text().strip()

    # ----- populate once torch is loaded -------------------------------------------------
    def populate(self) -> None:
        """Fill model and device choices (imports torch: call once it is loaded)."""
        model_combo, device = self.fields["model"], self.fields["device"]
        if model_combo.count():
            return
        from mnist_desk.core.device import available_devices
        from mnist_desk.core.models import MODELS

        wanted = settings_io.read(self.settings, "train/model", "cnn", str)
        for spec in MODELS.values():
            model_combo.addItem(spec.name)
            model_combo.setItemData(
                model_combo.count() - 1, spec.summary, Qt.ItemDataRole.ToolTipRole
            )
        model_combo.setCurrentText(wanted if wanted in MODELS else "cnn")
        device.clear()
        device.addItem("auto")
        for name, reason in available_devices().items():
            device.addItem(name)
            if reason:
                index = device.count() - 1
                device.model().item(index).setEnabled(False)
                device.setItemData(index, f"Unavailable: {reason}", Qt.ItemDataRole.ToolTipRole)
                device.setItemText(index, f"{name} (unavailable)")
        self._resume_ok = _resume_supported()
        if not self._resume_ok:
            self.resume_button.setToolTip(
                "Resuming needs a training engine that saves its full state; this build cannot."
            )
        self._on_selection()

    # ----- run control ------------------------------------------------------------------
    def config(self, prefix: str = "") -> TrainConfig:
        values = {name: self._value(name, w) for name, w in self.fields.items()}
        values["model"] = values["model"] or "cnn"
        values["device"] = values["device"] or "auto"
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{prefix or values['model']}-{stamp}"
        out = runs_dir() / name
        for n in range(2, 1000):  # two runs in one second must not share a folder
            if not out.exists():
                break
            out = runs_dir() / f"{name}-{n}"
        return TrainConfig(**values, out=str(out))

    @property
    def running(self) -> bool:
        return self.job is not None

    def start_fine_tune(
        self,
        checkpoint_path: str,
        store_folder: str,
        model_name: str,
        config: TrainConfig | None = None,
    ) -> bool:
        from mnist_desk.core.finetune import fine_tune, split_for_fine_tune
        from mnist_desk.core.my_digits import MyDigitStore

        if self.running:
            return False
        store = MyDigitStore(store_folder)
        try:
            config = dataclasses.replace(
                config or self.config(prefix="finetune"), model=model_name, augment=True
            )
            # Too few digits is known now: refuse before the log, charts and table change.
            split_for_fine_tune(store, config.seed)
        except (ValueError, UserError) as exc:
            self._show_error(str(exc))
            return False
        self.fine_tune_label.setText("Fine-tuning…")
        started = self._launch("fine-tune", config, fine_tune, checkpoint_path, store, config)
        if not started:
            self.fine_tune_label.setText("")
        return started

    def start(self, config: TrainConfig | None = None) -> bool:
        from mnist_desk.core.train import fit

        self.populate()
        try:
            config = config or self.config()
        except ValueError as exc:
            self._show_error(str(exc))
            return False
        return self._launch("training", config, fit, config)

    def resume_selected(self) -> bool:
        from mnist_desk.core.train import fit

        record = self.selected_record()
        if not _resumable(record) or not self._resume_ok:
            return False
        try:
            config = TrainConfig.from_dict(record.config)
        except (TypeError, ValueError) as exc:
            self._show_error(f"This run cannot be resumed: its settings are unusable ({exc}).")
            return False
        return self._launch("training", config, fit, config, resume=True)

    def _launch(self, kind: str, config: TrainConfig, fn, *args, **kwargs) -> bool:
        """Submit one run (training, resume or fine-tune) to the app's job runner."""
        if self.running:
            return False  # only one run at a time
        problem = data_problem(config.data or "")
        if problem:
            self._show_error(problem)
            return False
        self.last_error = ""
        self._show_error("")
        self._clear_curves()
        # While the run loads and trains its first epoch, the charts say what is coming.
        self.loss_plot.show_empty("The loss appears after the first batches.")
        self.acc_plot.show_empty("Accuracies appear as each epoch ends.")
        self.progress.setValue(0)
        self._started = time.perf_counter()
        self._smoothed_loss = None
        self._config = config
        self._kind = kind
        self.cancel_button.setEnabled(True)
        _hand_focus(
            self.cancel_button, (self.start_button, self.fine_tune_button, self.resume_button)
        )
        for button in (self.start_button, self.fine_tune_button, self.resume_button):
            button.setEnabled(False)
        # The job's first phase (MNIST into memory, model built; for a fine-tune also the
        # "before" scores) takes seconds with no batch to report: say so instead of "Idle".
        if kind == "fine-tune":
            self.speed_label.setText("Loading data and scoring the model before fine-tuning…")
        else:
            self.speed_label.setText("Loading data…")
        verb = "Resuming" if kwargs.get("resume") else "Starting"
        epochs = f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}"
        self.log.appendPlainText(f"{verb} {config.model}: {epochs} → {config.out}")
        previous = next((r for r in self.records if r.out == run_key(config.out)), None)
        self._pending = starting_record(config, previous if kwargs.get("resume") else None)
        self.refresh_table(select=self._pending.out)
        # Core writes the run's row in runs.json and takes it back when the run ends before
        # its first epoch, for the GUI as for `mnist-desk train`: one rule, in one place.
        runs = default_runs_table()
        self.job = self.jobs.submit(kind, fn, *args, runs_table=runs, **kwargs)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.job.cancelled.connect(self._on_cancelled)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.log.appendPlainText("Cancelling…")

    def _show_ended_run(self) -> None:
        """The table as core left it: the run's row with its outcome, or none at all."""
        out = self._pending.out if self._pending is not None else None
        self._pending = None
        self.refresh_table(select=out)

    def _show_epochs_done(self, done: int, total: int) -> None:
        """The running run's row counts its epochs as they end (it said 0/N until the end)."""
        if self._pending is None:
            return
        self._pending.epochs_done = done
        column = TABLE_COLUMNS.index("epochs")
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == self._pending.out:
                item = self.table.item(row, column)
                item.setText(f"{done}/{total}")
                item.setData(SORT_ROLE, (done, total))

    def _run_over(self) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.fine_tune_button.setEnabled(True)
        _hand_focus(self.start_button, (self.cancel_button,))
        self.cancel_button.setEnabled(False)
        self._update_buttons()  # keep the finished run's live curves on screen

    @Slot(object)
    def _on_progress(self, event) -> None:
        if event.kind == "start":
            self.log.appendPlainText(f"Device: {event.message}")
            self.speed_label.setText(f"Epoch {event.epoch + 1}/{event.epochs}: first batch…")
            return
        self.progress.setValue(int(event.fraction * 1000))
        done = event.fraction
        elapsed = time.perf_counter() - self._started
        eta = elapsed * (1 - done) / done if done > 0 else math.nan
        eta_text = f", about {eta:.0f}s left" if math.isfinite(eta) else ""
        self.speed_label.setText(
            f"Epoch {event.epoch}/{event.epochs} · {event.images_per_s:,.0f} images/s{eta_text}"
        )
        if event.kind == "batch" and event.batch == event.batches:
            # Its scores take seconds more: "about 0s left" there looked like a hang.
            self.speed_label.setText(
                f"Epoch {event.epoch}/{event.epochs} · trained, measuring its accuracy…"
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
            self._plot_epoch(m)
            self._show_epochs_done(event.epoch, event.epochs)
            parts = [f"epoch {event.epoch}: train loss {m['train_loss']:.4f}"]
            if "val_acc" in m:
                parts.append(f"val acc {m['val_acc'] * 100:.2f}%")
            parts.append(f"test acc {m['test_acc'] * 100:.2f}%")
            parts.append(f"{m['epoch_seconds']:.1f}s")
            self.log.appendPlainText(", ".join(parts))

    def _plot_epoch(self, m: dict) -> None:
        for split in ("train", "val", "test"):
            if f"{split}_loss" in m and "epoch" in m:
                self.loss_plot.append(split, m["epoch"], m[f"{split}_loss"])
                self.acc_plot.append(split, m["epoch"], m[f"{split}_acc"])
        self._sync_export_button()

    def _clear_curves(self) -> None:
        self.loss_plot.clear_data()
        self.acc_plot.clear_data()
        self._sync_export_button()

    def _sync_export_button(self) -> None:
        self.export_button.setEnabled(bool(self.loss_plot.data))

    def _describe_fine_tune(self, report) -> None:
        def pct(value):
            return "–" if value is None else f"{value * 100:.1f}%"

        self.last_fine_tune = report
        if report.cancelled:
            done = len(report.result.history)
            text = (
                f"Fine-tuning cancelled after {done} epoch{'' if done == 1 else 's'}; its best "
                "checkpoint is kept (not scored again on your held-out digits)."
            )
            self.fine_tune_label.setText(text)
            self.log.appendPlainText(text)
            return
        text = (
            f"Fine-tuned on {report.trained_on} of your digits ({report.held_out} held out). "
            f"Your held-out digits: {pct(report.mine_before)} → {pct(report.mine_after)}; "
            f"MNIST test: {pct(report.mnist_before)} → {pct(report.mnist_after)}."
        )
        self.fine_tune_label.setText(text)
        self.log.appendPlainText(text)

    @Slot(object)
    def _on_finished(self, payload) -> None:
        result = getattr(payload, "result", payload)  # a fine-tune reports around its run
        if result is not payload:
            self._describe_fine_tune(payload)
        self.last_result = result
        self.progress.setValue(1000 if not result.cancelled else self.progress.value())
        self._show_ended_run()
        self._run_over()
        if result.best_path:
            acc = result.best_metrics.get("test_acc", 0.0) * 100
            state = "cancelled; kept" if result.cancelled else "done; best"
            self.log.appendPlainText(
                f"Run {state} checkpoint {result.best_path} (test acc {acc:.2f}%)"
            )
            self.checkpoint_ready.emit(str(result.best_path), dict(result.best_metrics))
        else:
            self.log.appendPlainText("Run cancelled before the first epoch ended: no checkpoint.")
        if result.runs_table_problem:  # the run is kept, but the list above may not show it
            self._show_error(result.runs_table_problem)
            self.log.appendPlainText(result.runs_table_problem)
        cancelled = payload.cancelled  # a fine-tune's report, or the run's own result
        self.speed_label.setText("Cancelled" if cancelled else "Finished")
        self.run_ended.emit(True)

    @Slot()
    def _on_cancelled(self) -> None:
        """A fine-tune cancelled before its first epoch (later ones end in ``_on_finished``)."""
        self._show_ended_run()
        self._run_over()
        self.fine_tune_label.setText("")
        self.speed_label.setText("Cancelled")
        self.log.appendPlainText("Cancelled.")
        self.run_ended.emit(True)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._show_ended_run()
        self._run_over()
        self.last_error = message
        self.speed_label.setText("Failed")
        what = "Fine-tuning" if self._kind == "fine-tune" else "Training"
        self.fine_tune_label.setText("")
        self._show_error(f"{what} stopped: {message}")
        self.log.appendPlainText(f"{what} stopped: {message}")
        self.run_ended.emit(False)

    def _show_error(self, text: str) -> None:
        set_error(self.error_label, text)

    @Slot()
    def _export_curves(self) -> None:
        path = ask_save_path(self, "Export chart", "curves.png", "PNG (*.png)", self.settings)
        if path:
            export_png(self.plots_widget, self, path=path)

    # ----- the runs table ---------------------------------------------------------------
    def selected_record(self) -> RunRecord | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if len(rows) != 1:
            return None
        item = self.table.item(rows.pop(), 0)
        out = item.data(Qt.ItemDataRole.UserRole) if item else None
        return next((r for r in self.records if r.out == out), None)

    def _update_buttons(self) -> RunRecord | None:
        record = self.selected_record()
        self.use_button.setEnabled(bool(record and record.best_path))
        self.resume_button.setEnabled(_resumable(record) and self._resume_ok and not self.running)
        if self._resume_ok:
            self.resume_button.setToolTip(_resume_tip(record))
        return record

    @Slot()
    def _on_selection(self) -> None:
        """A selected run: its buttons, and its curves (unless a live run is being drawn)."""
        record = self._update_buttons()
        if record is not None and not self.running:
            self._clear_curves()
            for metrics in load_history(record.out):
                self._plot_epoch(metrics)

    def _use_selected(self) -> None:
        record = self.selected_record()
        if record and record.best_path:
            self.use_checkpoint.emit(record.best_path)

    def _use_row(self, row: int, _column: int) -> None:
        self.table.selectRow(row)
        self._use_selected()

    def refresh_table(self, select: str | None = None) -> None:
        """Read runs.json again; damaged rows are skipped and reported via ``problems_found``."""
        self.records, problems = default_runs_table().load()
        if self._pending is not None:  # shown as running, whatever core has written so far
            self.records = [r for r in self.records if r.out != self._pending.out]
            self.records.append(self._pending)
        if problems != self.table_problems:
            self.table_problems = problems
            if problems:
                self.problems_found.emit(problems)
        selected = self.selected_record()
        chosen = select or (selected.out if selected else None)
        self.table.blockSignals(True)
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(self.records))
        for r, record in enumerate(self.records):
            created = record.created.replace("T", " ")
            cells = (  # (shown text, sort key, tooltip)
                (record.name, record.name, f"{record.name}\n{record.best_path or record.out}"),
                (record.model, record.model, record.model),
                ("done" if record.status == "finished" else record.status, record.status, ""),
                (
                    f"{record.epochs_done}/{record.epochs}",
                    (record.epochs_done, record.epochs),
                    "",
                ),
                (_percent(record.test_acc), _sort_number(record.test_acc), _scored_on(record)),
                (_percent(record.val_acc), _sort_number(record.val_acc), ""),
                (_short_time(created), created, created),  # the year and seconds: tooltip
            )
            for c, (text, key, tip) in enumerate(cells):
                item = _SortedItem(text)
                item.setData(SORT_ROLE, key)
                if tip:
                    item.setToolTip(tip)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, record.out)
                self.table.setItem(r, c, item)
        self.table.setSortingEnabled(True)
        self.table.clearSelection()
        if chosen:
            for r in range(self.table.rowCount()):
                if self.table.item(r, 0).data(Qt.ItemDataRole.UserRole) == chosen:
                    self.table.selectRow(r)
        self.table.blockSignals(False)
        self._update_buttons()

    def _browse_data(self) -> None:
        data = self.fields["data"]
        folder = QFileDialog.getExistingDirectory(self, "MNIST folder", data.text())
        if folder:
            data.setText(folder)

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

    def _restore(self) -> None:
        for name, widget in self.fields.items():
            key = f"train/{name}"
            if name in ("model", "device") or self.settings.value(key) is None:
                continue  # model and device are chosen once their lists exist (populate)
            if isinstance(widget, QCheckBox):
                widget.setChecked(settings_io.read(self.settings, key, widget.isChecked(), bool))
            elif isinstance(widget, QComboBox):
                text = settings_io.read(self.settings, key, widget.currentText(), str)
                if widget.findText(text) >= 0:
                    widget.setCurrentText(text)
            elif isinstance(widget, QLineEdit):
                text = settings_io.read(self.settings, key, "", str)
                if text:
                    widget.setText(text)
            else:
                kind = float if isinstance(widget, QDoubleSpinBox) else int
                widget.setValue(settings_io.read(self.settings, key, widget.value(), kind))

    def save_settings(self) -> None:
        for name, widget in self.fields.items():
            if name == "model" and not widget.currentText():
                continue  # never loaded: keep the remembered choice
            if name == "device":
                continue  # availability differs between machines and sessions
            value = self._value(name, widget)
            if value is None:
                value = 0 if name in SUBSET_FIELDS else ""
            self.settings.setValue(f"train/{name}", value)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def _scored_on(record: RunRecord) -> str:
    """A run on --test-subset was scored on that many digits: say so beside its figure."""
    if record.test_acc is None:
        return ""
    subset = (record.config or {}).get("test_subset")
    digits = f"the first {subset:,}" if isinstance(subset, int) and subset else "all 10,000"
    return f"Scored on {digits} MNIST test digits."


def _sort_number(value: float | None) -> float:
    return -1.0 if value is None else float(value)  # runs with no score yet sort lowest


def _short_time(created: str) -> str:
    """ "2026-11-26 02:58:59" → "11-26 02:58": enough to tell runs apart, narrow."""
    return created[5:16] if len(created) >= 16 else created


def _hand_focus(to: QWidget, leaving: tuple[QWidget, ...]) -> None:
    """Give the keyboard focus to ``to`` before the focused button in ``leaving`` is turned off.

    Left to Qt, the focus would move to the next widget in the tab chain, and the scroll area
    around the form scrolls to show it: the form jumped by a line at every Start and end of run.
    """
    if any(widget.hasFocus() for widget in leaving):
        to.setFocus(Qt.FocusReason.OtherFocusReason)
