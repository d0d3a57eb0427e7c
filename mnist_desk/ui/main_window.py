"""The main window: tabs, menus, toolbar, status bar and remembered settings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
)

from mnist_desk import __version__
from mnist_desk.paths import resources_dir, runs_dir
from mnist_desk.ui import settings as settings_io
from mnist_desk.ui.charts import restyle_charts
from mnist_desk.ui.file_dialogs import ask_open_path, ask_save_path
from mnist_desk.ui.jobs import JobRunner
from mnist_desk.ui.messages import ERROR_COLOUR, a_digit
from mnist_desk.ui.my_digits_tab import digits_of_yours
from mnist_desk.ui.pad import ADD_TIP_NUMBER, PadTab
from mnist_desk.ui.status_bar import StatusBar
from mnist_desk.ui.theme import THEMES, apply_theme
from mnist_desk.ui.workers import InferenceWorker


class MainWindow(QMainWindow):
    load_model_requested = Signal(str)
    load_image_requested = Signal(str)
    # Every tab fits at this size with nothing cut off (tested); fits a 1024×768 screen with a panel.
    MINIMUM_SIZE = QSize(960, 660)

    def __init__(self, model_path: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("mnist-desk")
        icon = resources_dir() / "icon.png"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.settings = settings_io.open_settings()
        self.model_info: dict = {}
        self.active_model_path = ""
        self.loading_model_path: str | None = None  # asked for, not loaded yet
        self._shut_down = False
        self.setMinimumSize(self.MINIMUM_SIZE)
        self._requested_model = ""
        self.problems: list[str] = []  # damaged user files skipped at start, named in the window
        self.jobs = JobRunner(self)  # the one owner of every background thread

        self.tabs = QTabWidget()
        self.pad = PadTab()
        self.tabs.addTab(self.pad, "Draw")
        self.setCentralWidget(self.tabs)
        self._add_workbench_tabs()

        self.setStatusBar(StatusBar())  # long messages end in "…", whole in the tooltip
        self.model_status = QLabel("Loading model…")
        self.problems_label = QLabel()
        self.problems_label.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.problems_label.hide()
        self.statusBar().addPermanentWidget(self.problems_label)
        self.statusBar().addPermanentWidget(self.model_status)
        self.statusBar().showMessage("Starting: loading PyTorch and the model in the background…")

        self.inference_worker = InferenceWorker()
        self.inference_thread = self.jobs.host(self.inference_worker, "inference")
        self.pad.request_inference.connect(self.inference_worker.request)
        # In this thread, at once: a network view being computed stops for the new drawing.
        self.pad.request_inference.connect(
            self.inference_worker.drawing_sent, Qt.ConnectionType.DirectConnection
        )
        self.pad.saliency_toggled.connect(self.inference_worker.set_saliency)
        self.pad.saliency_toggled.connect(lambda _on: self.pad.refresh())
        self.inference_worker.result.connect(self.pad.on_result)
        self.pad.request_number.connect(self.inference_worker.request_number)
        self.inference_worker.number_result.connect(self.pad.on_number_result)
        self.inference_worker.failed.connect(self._on_inference_failed)
        self.inference_worker.model_loaded.connect(self._on_model_loaded)
        self.inference_worker.model_failed.connect(self._on_model_failed)
        self.load_model_requested.connect(self.inference_worker.load_model)
        self.load_image_requested.connect(self.inference_worker.load_image)
        self.inference_worker.image_loaded.connect(self._on_image_loaded)
        self.inference_worker.image_failed.connect(self._on_image_failed)
        self.pad.model_chosen.connect(self.load_model)
        self.pad.add_my_digit.connect(self.add_my_digit)
        self.my_digits_tab.classify_requested.connect(self.inference_worker.classify_batch)
        self.inference_worker.batch_result.connect(self.my_digits_tab.on_batch_result)
        self.pad.open_model_button.clicked.connect(self.choose_checkpoint)
        self._connect_network_tab()

        self._build_actions()
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._restore_settings()
        self._on_tab_changed()
        self.add_problems(self.train_tab.table_problems + self.my_digits_tab.problems)
        self.train_tab.problems_found.connect(self.add_problems)
        self.my_digits_tab.problems_found.connect(self.add_problems)
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):  # Qt 6.5+: follow the system live
            hints.colorSchemeChanged.connect(self._on_system_scheme)
        # Only a remembered model falls back to the shipped one when it fails to load; an
        # explicit --model that fails must say so (and fail a self-test).
        self._fallback_for = "" if model_path is not None else self._remembered_model()
        first = model_path if model_path is not None else self._fallback_for
        self.load_model(first)

    # ----- tabs beyond the pad (issue: Train and Mistakes) ------------------------------
    def _add_workbench_tabs(self) -> None:
        from mnist_desk.ui.mistakes_tab import MistakesTab
        from mnist_desk.ui.my_digits_tab import MyDigitsTab
        from mnist_desk.ui.train_tab import TrainTab

        self.train_tab = TrainTab(self.settings, self.jobs)
        self.mistakes_tab = MistakesTab(self.jobs, settings=self.settings)
        self.mistakes_tab.data_folder = self.train_tab.data_folder  # one data-folder rule
        self.my_digits_tab = MyDigitsTab()
        self.tabs.addTab(self.train_tab, "Train")
        self.tabs.addTab(self.mistakes_tab, "Mistakes")
        self.tabs.addTab(self.my_digits_tab, "My digits")
        self._add_network_tab()
        self.my_digits_tab.show_on_pad.connect(self._show_strokes_on_pad)
        self.train_tab.fine_tune_requested.connect(
            lambda: self.train_tab.start_fine_tune(
                self.active_checkpoint_path(),
                str(self.my_digits_tab.store.folder),
                self.model_info.get("name", "desknet"),
            )
        )
        self.train_tab.checkpoint_ready.connect(self._on_trained)
        self.train_tab.use_checkpoint.connect(self.load_model)
        self.mistakes_tab.open_on_pad.connect(self._open_on_pad)
        self.mistakes_tab.evaluate_requested.connect(
            lambda: self.mistakes_tab.evaluate(self.active_checkpoint_path())
        )

    def _add_network_tab(self) -> None:
        """Issue 11: every layer live; its maths runs in the inference worker."""
        from mnist_desk.ui.network_tab import NetworkTab

        self.network_tab = NetworkTab(self.jobs)
        self.tabs.addTab(self.network_tab, "Network")

    def _connect_network_tab(self) -> None:
        worker, tab = self.inference_worker, self.network_tab
        tab.options_changed.connect(worker.set_network_options)
        tab.visibility_changed.connect(worker.set_network)
        worker.network_result.connect(tab.on_view)
        tab.answer_settled.connect(worker.answer_shown)  # the view comes after the bars
        tab.attach_pad(self.pad)

    # ----- actions ----------------------------------------------------------------------
    def _action(self, text, slot, shortcut=None, tip="", menu=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.open_image_action = self._action(
            "&Open image…",
            self.open_image,
            QKeySequence.StandardKey.Open,
            "Classify a digit from an image file",
            file_menu,
        )
        self.save_action = self._action(
            "&Save drawing…",
            self.save_drawing,
            QKeySequence.StandardKey.Save,
            "Save the drawing and the 28×28 image the model saw as PNG",
            file_menu,
        )
        self._action(
            "Open &checkpoint…",
            self.choose_checkpoint,
            "Ctrl+L",
            "Use a checkpoint file",
            file_menu,
        )
        file_menu.addSeparator()
        # Windows (and Qt's offscreen platform) bind no key to the standard Quit: Ctrl+Q there.
        quit_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or "Ctrl+Q"
        self._action("&Quit", self.close, quit_keys, "Quit", file_menu)

        edit_menu = bar.addMenu("&Edit")
        canvas = self.pad.canvas
        self.undo_action = self._action(
            "&Undo stroke",
            canvas.undo,
            QKeySequence.StandardKey.Undo,
            "Undo the last stroke",
            edit_menu,
        )
        self.redo_action = self._action(
            "&Redo stroke", canvas.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "Redo", edit_menu
        )
        self.clear_action = self._action(
            "&Clear", canvas.clear, ["Esc", "Delete"], "Clear the pad", edit_menu
        )
        canvas.history_changed.connect(self._on_history)
        self._on_history(False, False)

        view_menu = bar.addMenu("&View")
        self.preview_action = QAction("Show the &28×28 image", self, checkable=True)
        self.preview_action.setChecked(True)
        self.preview_action.toggled.connect(self.pad.preview_check.setChecked)
        self.pad.preview_check.toggled.connect(self.preview_action.setChecked)
        view_menu.addAction(self.preview_action)
        self.saliency_action = QAction("&Highlight what drove the answer", self, checkable=True)
        self.saliency_action.toggled.connect(self.pad.saliency_check.setChecked)
        self.pad.saliency_check.toggled.connect(self.saliency_action.setChecked)
        view_menu.addAction(self.saliency_action)
        for i, name in enumerate(("Draw", "Train", "Mistakes", "My digits", "Network")):
            self._action(
                f"Go to {name}",
                lambda _=False, i=i: self.tabs.setCurrentIndex(i),
                f"Alt+{i + 1}",
                f"Show the {name} tab",
                view_menu,
            )

        keep_menu = edit_menu.addMenu("&Keep drawing as")
        for digit in range(10):
            self._action(
                f"{digit}",
                lambda _=False, d=digit: self._key_keep(d),
                str(digit),
                f"Keep the drawing in My digits, labelled {digit}",
                keep_menu,
            )

        theme_menu = view_menu.addMenu("&Theme")
        self.theme_actions = {}
        group = QActionGroup(self)
        for name in THEMES:
            action = QAction(name.capitalize(), self, checkable=True)
            action.setToolTip(
                f"{name.capitalize()} colours" if name != "system" else "Follow the system"
            )
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[name] = action

        help_menu = bar.addMenu("&Help")
        self._action("&About mnist-desk", self.show_about, None, "About", help_menu)
        self._action(
            "&Model card", self.show_model_card, None, "The active model's card", help_menu
        )

        toolbar = self.addToolBar("Drawing")
        toolbar.setObjectName("drawing_toolbar")
        for action in (
            self.undo_action,
            self.redo_action,
            self.clear_action,
            self.open_image_action,
            self.save_action,
        ):
            toolbar.addAction(action)

    @Slot(bool, bool)
    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        on_pad = self.tabs.currentWidget() is self.pad
        self.undo_action.setEnabled(on_pad and can_undo)
        self.redo_action.setEnabled(on_pad and can_redo)

    @Slot()
    def _on_tab_changed(self, *_args) -> None:
        """The drawing actions act on the pad, so they are live only on the Draw tab.

        Their keys (Ctrl+Z, Delete, Esc) then belong to the tab in front, e.g. My digits.
        """
        on_pad = self.tabs.currentWidget() is self.pad
        for action in (self.clear_action, self.open_image_action, self.save_action):
            action.setEnabled(on_pad)
        canvas = self.pad.canvas
        self._on_history(canvas.can_undo(), canvas.can_redo())

    @Slot(list)
    def add_problems(self, problems: list) -> None:
        """Name damaged user files that were skipped, so a bad file is seen, never fatal."""
        new = [p for p in problems if p not in self.problems]
        if not new:
            return
        self.problems += new
        count = len(self.problems)
        self.problems_label.setText(
            f"Skipped {count} damaged file{'s' if count != 1 else ''}: {self.problems[0]}"
            + (f" (+{count - 1} more)" if count > 1 else "")
        )
        self.problems_label.setToolTip("Skipped, not deleted:\n" + "\n".join(self.problems))
        self.problems_label.show()

    # ----- models -----------------------------------------------------------------------
    def _remembered_model(self) -> str:
        path = settings_io.read(self.settings, "model/last", "", str)
        return path if path and Path(path).exists() else ""

    def active_checkpoint_path(self) -> str:
        from mnist_desk.paths import default_checkpoint_path

        return self.active_model_path or str(default_checkpoint_path())

    def refresh_model_list(self) -> None:
        entries = [("Shipped model (desknet)", "")]
        folder = runs_dir()
        if folder.exists():
            for best in sorted(folder.glob("*/best.pt"), key=lambda p: p.stat().st_mtime):
                entries.append((f"Trained: {best.parent.name}", str(best)))
        for path in (self.active_model_path, self.loading_model_path):
            if path and path not in [p for _, p in entries]:
                entries.append((checkpoint_label(path), path))
        self.network_tab.set_models(entries)
        current = self.active_model_path
        if self.loading_model_path is not None:
            # Until the asked-for model has loaded, the box says so, instead of naming the
            # model that happens to be active (at start-up: the shipped one, for seconds).
            current = self.loading_model_path
            entries = [
                (f"Loading {label}…" if path == current else label, path) for label, path in entries
            ]
        self.pad.set_models(entries, current)

    @Slot(str)
    def load_model(self, path: str) -> None:
        self._requested_model = path or ""
        self.statusBar().showMessage(f"Loading {Path(path).name if path else 'the shipped model'}…")
        self.loading_model_path = path or ""
        self.refresh_model_list()
        self.load_model_requested.emit(path or "")

    def checkpoint_folder(self) -> str:
        """Where the open dialog starts: the last folder used, else the runs, else home."""
        last = settings_io.read(self.settings, "model/last_folder", "", str)
        for folder in (Path(last) if last else None, runs_dir(), Path.home()):
            if folder is not None and folder.is_dir():
                return str(folder)
        return ""

    def choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open checkpoint",
            self.checkpoint_folder(),
            "Checkpoints (*.pt *.pth);;All files (*)",
        )
        if path:
            self.settings.setValue("model/last_folder", str(Path(path).parent))
            self.load_model(path)

    @Slot(dict)
    def _on_model_loaded(self, info: dict) -> None:
        self.model_info = info
        from mnist_desk.paths import default_checkpoint_path

        # The loaded file itself says which model is active, even if requests crossed.
        loaded = info.get("path", "")
        shipped = str(default_checkpoint_path())
        self.active_model_path = "" if not loaded or loaded == shipped else loaded
        self.loading_model_path = None
        self.settings.setValue("model/last", self.active_model_path)
        self.model_status.setText(model_status_text(info))
        self.model_status.setToolTip(model_status_tooltip(info))
        self.statusBar().showMessage("Ready: draw a digit.", 5000)
        first_model = not self.pad.model_ready
        self.pad.model_ready = True
        self.train_tab.populate()  # torch is loaded by now, so the registry costs nothing
        if not (first_model and self._requested_model == "" and self.pad.error_label.text()):
            self.pad.show_error("")  # keep the fallback's explanation on the first load
        self.refresh_model_list()
        self.network_tab.set_active_model(loaded)
        self.pad.refresh()
        self.mistakes_tab.set_model_text(
            info.get("description", info["name"]), self.active_checkpoint_path()
        )
        self.my_digits_tab.reload()  # re-score the person's digits with this model

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        if (
            not self.model_info
            and self._requested_model
            and (self._requested_model == self._fallback_for)
        ):
            # Nothing loaded yet (e.g. the remembered model is damaged): never stay without a
            # model; fall back to the shipped one and say why.
            failed = Path(self._requested_model).name
            self.settings.setValue("model/last", "")
            text = (
                f"Could not load {failed}: {message.rstrip('.')}; using the shipped model instead."
            )
            self.load_model("")
            self.pad.show_error(text)
            self.statusBar().showMessage(text, 10000)
            return
        keep = "the previous model is still in use" if self.model_info else "no model is loaded"
        text = f"Could not load the model: {message.rstrip('.')}; {keep}."  # no 2nd bracket
        self.loading_model_path = None
        self.pad.show_error(text)
        self.statusBar().showMessage(text, 10000)
        self.refresh_model_list()

    @Slot(int, str)
    def _on_inference_failed(self, _request_id: int, message: str) -> None:
        self.pad.show_error(f"Prediction failed: {message}")

    @Slot(str, dict)
    def _on_trained(self, path: str, _summary: dict) -> None:
        self.refresh_model_list()
        self.statusBar().showMessage(f"New checkpoint: {path}", 8000)

    def _key_keep(self, label: int) -> None:
        """Digit keys keep the drawing only on the Draw tab (elsewhere they are typing)."""
        if self.tabs.currentWidget() is self.pad:
            self.add_my_digit(label)

    @Slot(int)
    def add_my_digit(self, label: int) -> None:
        canvas = self.pad.canvas
        if self.pad.number_mode:
            self.pad.show_error(ADD_TIP_NUMBER)
            return
        if canvas.is_empty():
            self.pad.show_error("Draw a digit first, then press its key (0–9) to keep it.")
            return
        try:
            self.my_digits_tab.store.add(canvas.strokes(), canvas.pen_width, label)
        except (OSError, ValueError) as exc:
            self.pad.show_error(f"Could not keep the digit: {exc}. Your drawing is still here.")
            return
        self.pad.show_error("")
        self.my_digits_tab.reload()
        count = len(self.my_digits_tab.digits)
        self.statusBar().showMessage(f"Kept as {a_digit(label)} ({digits_of_yours(count)}).", 5000)
        canvas.clear()

    @Slot(list, float)
    def _show_strokes_on_pad(self, strokes: list, pen_width: float) -> None:
        """A kept digit, alone on a clean pad (``set_strokes`` drops any opened image)."""
        self.tabs.setCurrentWidget(self.pad)
        self.pad.pen_slider.setValue(round(pen_width))
        self.pad.canvas.set_strokes([[tuple(p) for p in s] for s in strokes])

    @Slot(object)
    def _open_on_pad(self, image28) -> None:
        self.tabs.setCurrentWidget(self.pad)
        self.pad.classify_image(image28)

    # ----- files ------------------------------------------------------------------------
    def open_image(self, path: str | None = None) -> None:
        """Put a digit from an image file on the pad (decoded in the worker thread)."""
        if not path:
            path = ask_open_path(
                self,
                "Open image",
                "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp);;All files (*)",
                self.settings,
            )
        if path and Path(path).exists() and not Path(path).is_file():
            # A FIFO or a device would block the worker's read (and shutdown) for ever.
            self.pad.show_error(f"Could not use {Path(path).name}: it is not a regular file.")
            return
        if path and self.pad.number_mode:
            self.statusBar().showMessage(f"Reading {Path(path).name} as a number…", 5000)
            self.pad.read_number_file(path)
        elif path:
            self.statusBar().showMessage(f"Opening {Path(path).name}…")
            self.load_image_requested.emit(path)

    @Slot(str, object)
    def _on_image_loaded(self, path: str, image28) -> None:
        self.pad.show_error("")
        self._open_on_pad(image28)
        self.statusBar().showMessage(f"Opened {Path(path).name}: draw over it to edit.", 5000)

    @Slot(str)
    def _on_image_failed(self, message: str) -> None:
        self.pad.show_error(f"Could not use the image: {message}.")
        self.statusBar().clearMessage()

    def save_drawing(self, path: str | None = None) -> str:
        """Save the pad as PNG and the 28×28 image beside it (``name_28x28.png``)."""
        from PIL import Image

        from mnist_desk.core.preprocess import to_uint8

        image28 = self.pad.last_image
        if image28 is None or self.pad.canvas.is_empty():
            self.pad.show_error("Nothing to save yet: draw a digit first.")
            return ""
        if not path:
            path = ask_save_path(self, "Save drawing", "digit.png", "PNG (*.png)", self.settings)
        if not path:
            return ""
        target = Path(path).with_suffix(".png")
        small = target.with_name(target.stem + "_28x28.png")
        try:
            if not self.pad.canvas.to_image().save(str(target), "PNG"):
                raise OSError(f"could not write {target}")
            Image.fromarray(to_uint8(image28)).save(small)
        except OSError as exc:
            self.pad.show_error(f"Could not save: {exc}. Your drawing is still here.")
            return ""
        self.pad.show_error("")
        self.statusBar().showMessage(f"Saved {target.name} and {small.name}", 5000)
        return str(target)

    # ----- dialogs ----------------------------------------------------------------------
    def show_about(self) -> None:
        info = self.model_info
        acc_text = info.get("accuracy_text") or "no test accuracy recorded"
        QMessageBox.about(
            self,
            "About mnist-desk",
            f"<b>mnist-desk {__version__}</b><p>Draw a digit and watch a CNN read it.</p>"
            f"<p>Model: {info.get('name', 'not loaded')} — {acc_text}<br>"
            f"{info.get('path', '')}</p><p>See Help → Model card for how it was trained.</p>",
        )

    def model_card_text(self) -> str:
        """Markdown about the active model: the shipped card, or a trained run's own facts."""
        if not self.active_model_path:
            card = resources_dir() / "MODEL_CARD.md"
            return card.read_text(encoding="utf-8") if card.exists() else "No model card found."
        return trained_model_card(self.model_info, self.active_model_path)

    def show_model_card(self) -> None:
        text = self.model_card_text()
        dialog = QDialog(self)
        dialog.setWindowTitle(f"Model card: {self.model_info.get('name', 'model')}")
        browser = QTextBrowser()
        browser.setMarkdown(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(browser)
        layout.addWidget(buttons)
        dialog.resize(720, 560)  # scrolls; resizable
        self.model_card_dialog = dialog
        dialog.open()

    # ----- settings ---------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        if not restored:  # none saved, or damaged bytes: the default size, not the minimum
            self.resize(1000, 680)
        for widget, key, default in (
            (self.pad.pen_slider, "pad/pen_width", self.pad.pen_slider.value()),
            (self.pad.k_spin, "pad/top_k", 3),
        ):
            value = settings_io.read(s, key, default, int)
            # Out of range is damage too: the default, not the nearest end (a 4 px pen).
            inside = widget.minimum() <= value <= widget.maximum()
            widget.setValue(value if inside else default)
        self.pad.preview_check.setChecked(settings_io.read(s, "pad/show_preview", True, bool))
        self.pad.set_number_mode(settings_io.read(s, "pad/number_mode", False, bool))
        self.tabs.setCurrentIndex(settings_io.read(s, "window/tab", 0, int))
        self.set_theme(settings_io.read(s, "window/theme", "system", str))

    @Slot()
    def _on_system_scheme(self, *_args) -> None:
        if self.theme == "system":
            self.set_theme("system")

    def set_theme(self, name: str) -> None:
        self.theme = name if name in THEMES else "system"
        self.theme_actions[self.theme].setChecked(True)
        apply_theme(self.theme)
        restyle_charts(self)
        self.settings.setValue("window/theme", self.theme)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/tab", self.tabs.currentIndex())
        s.setValue("pad/pen_width", self.pad.pen_slider.value())
        s.setValue("pad/top_k", self.pad.k_spin.value())
        s.setValue("pad/show_preview", self.pad.preview_check.isChecked())
        s.setValue("pad/number_mode", self.pad.number_mode)
        self.train_tab.save_settings()
        s.sync()

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self.train_tab.confirm_close():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Save settings, cancel every job and wait for every thread; safe to call twice.

        Jobs check their stop flag within one batch, so the wait is short and has no timeout:
        a ``QThread`` destroyed while running aborts the whole process.
        """
        if self._shut_down:
            return
        self._shut_down = True
        self.save_settings()
        self.network_tab.shutdown()  # cancels its index job; the runner is ours
        self.jobs.shutdown()


def model_status_text(info: dict) -> str:
    """The status bar's model line: name, the stored accuracy named for what it is, device."""
    parts = [f"Model: {info['name']}", info.get("accuracy_text", ""), "CPU"]
    return " · ".join(part for part in parts if part)


def model_status_tooltip(info: dict) -> str:
    lines = [info.get("path", "")]
    if info.get("calibrated") and info.get("accuracy_text"):
        lines.append(
            "The accuracy stored at training time, from the raw outputs. The app answers "
            "with calibrated probabilities, which can change an answer: the shipped model's "
            "card and Mistakes → Evaluate give the accuracy after calibration."
        )
    if info.get("engine"):
        lines.append(f"Drawings are read with {info['engine']}.")
    return "\n".join(line for line in lines if line)


def trained_model_card(info: dict, path: str) -> str:
    """A card for a checkpoint made by mnist-desk train: what it is, how well, how trained."""
    metrics = info.get("metrics") or {}
    config = info.get("train_config") or {}
    lines = [
        f"# Model card: `{Path(path).name}`",
        "",
        f"Model **{info.get('name', '?')}**, file `{path}`.",
    ]
    lines += ["", "| measure | value |", "|---|---|"]
    raw = " (raw, before calibration)" if info.get("calibrated") else ""
    for key in ("test_acc", "val_acc", "train_acc"):
        if isinstance(metrics.get(key), float):
            lines.append(f"| {key.replace('_', ' ')}{raw} | {metrics[key] * 100:.2f}% |")
    for key in ("test_loss", "val_loss", "train_loss"):
        if isinstance(metrics.get(key), float):
            lines.append(f"| {key.replace('_', ' ')} | {metrics[key]:.4f} |")
    for key in ("epoch", "selected_by"):
        if key in metrics:
            lines.append(f"| {key.replace('_', ' ')} | {metrics[key]} |")
    if info.get("created"):
        lines.append(f"| created | {info['created']} |")
    if config:
        lines += ["", "## Training settings", "", "| setting | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in config.items() if v not in (None, {}, "")]
    else:
        lines += ["", "This checkpoint does not record how it was trained."]
    return "\n".join(lines) + "\n"


def checkpoint_label(path: str) -> str:
    """A run writes best.pt and last.pt in its own folder, so those names alone say nothing
    (two runs' best.pt look the same in the model box): the folder names them."""
    file = Path(path)
    if file.stem in ("best", "last") or file.stem.startswith("epoch"):
        return f"{file.parent.name}/{file.name}"
    return file.name
