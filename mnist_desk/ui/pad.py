"""The Draw tab: canvas on the left, the model's answer on the right."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRect, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.core.predict import reading_state
from mnist_desk.ui.canvas import DrawingCanvas
from mnist_desk.ui.charts import ProbabilityBars
from mnist_desk.ui.heatmaps import ExplanationLegend, explanation_pixmap
from mnist_desk.ui.images import digit_pixmap
from mnist_desk.ui.messages import error_label
from mnist_desk.ui.number_panel import NUMBER_WIDTH, NumberStrip

ADD_TIP = (
    "Keep this drawing with its label, to measure and fine-tune the model on your "
    "handwriting. Shortcut: press the digit's key (0–9)."
)
ADD_TIP_NUMBER = "My digits keeps single digits: untick Number to keep one."
PREVIEW_SIDE = 140  # 5 screen pixels per MNIST pixel
ERROR_LINES = 3


def _fixed_lines(label: QLabel, lines: int) -> None:
    """Give a wrapped label a fixed height of ``lines`` lines and let it take any width."""
    label.setFixedHeight(label.fontMetrics().lineSpacing() * lines + 2)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


def _fit_lines(label: QLabel, text: str, lines: int) -> str:
    """Shorten ``text`` (with "…") until it wraps into ``lines`` lines of the label's width;
    the full text stays in the tooltip."""
    metrics = label.fontMetrics()
    # Laid out, the label's own width; before its first layout, a usual one.
    width = label.contentsRect().width() if label.isVisible() else 0
    width = width or max(label.width(), label.minimumWidth(), 200)
    limit = metrics.lineSpacing() * lines

    def height(candidate: str) -> int:
        flags = Qt.TextFlag.TextWordWrap
        return metrics.boundingRect(QRect(0, 0, width, 10 * limit), flags, candidate).height()

    if height(text) <= limit:
        return text
    words = text.split(" ")
    while len(words) > 1 and height(" ".join(words) + "…") > limit:
        words.pop()
    return " ".join(words) + "…"


class ElidedComboBox(QComboBox):
    """A combo box whose shown text ends in "…" when narrow (the full name is the tooltip),
    so a long run name never widens the window or gets cut mid-letter."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.currentTextChanged.connect(self.sync_tooltip)

    def sync_tooltip(self, *_args) -> None:
        self.setToolTip(f"The model that reads your drawing: {self.currentText()}")

    def shown_text(self) -> str:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        return self.fontMetrics().elidedText(
            self.currentText(), Qt.TextElideMode.ElideRight, field.width() - 2
        )

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        option.currentText = self.shown_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)


class PadTab(QWidget):
    request_inference = Signal(int, object)  # request id, core.preprocess.Drawing
    model_chosen = Signal(str)  # checkpoint path ("" = shipped)
    saliency_toggled = Signal(bool)
    add_my_digit = Signal(int)  # label; the window stores the current drawing
    answer_shown = Signal(int, object, object, object)  # after the bars and preview updated
    request_number = Signal(int, object)  # request id, Drawing or image path (number mode)
    number_shown = Signal(int)  # request id, after a number's reading is on screen

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._request_id = 0
        self._shown_id = 0
        self.last_probs: np.ndarray | None = None
        self.last_not_digit = 0.0
        self.last_image: np.ndarray | None = None
        self.last_saliency: np.ndarray | None = None
        self.model_ready = False

        self.canvas = DrawingCanvas()
        self.canvas.drawing_changed.connect(self._on_drawing_changed)

        self.digit_label = QLabel("…")
        font = QFont()
        font.setPointSize(56)
        font.setBold(True)
        self.digit_label.setFont(font)
        self.digit_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.digit_label.setObjectName("predicted_digit")
        self._digit_font = QFont(font)
        self._digit_width = QFontMetrics(font).horizontalAdvance("8") * 2
        self.digit_label.setFixedWidth(self._digit_width)
        self.state_label = QLabel("Loading model…")
        self.state_label.setWordWrap(True)
        _fixed_lines(self.state_label, 2)
        # The error line has a slot of its own that is kept when empty: an error appearing or
        # going never moves the pad or raises the window's minimum size (issue #10, item 4).
        self.error_label = error_label()
        _fixed_lines(self.error_label, ERROR_LINES)
        policy = self.error_label.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.error_label.setSizePolicy(policy)

        self.bars = ProbabilityBars()
        self._bars_minimum = self.bars.minimumHeight()
        self.k_spin = QSpinBox()
        self.k_spin.setRange(1, 10)
        self.k_spin.setValue(3)
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("How many digits to show in the bar chart (1–10).")
        self.k_spin.valueChanged.connect(self._refresh_bars)

        self.preview = QLabel()
        self.preview.setFixedSize(PREVIEW_SIDE, PREVIEW_SIDE)
        self.preview.setStyleSheet("background: black; border: 1px solid #555;")
        self.preview.setToolTip("The exact 28×28 image the model saw (MNIST-style).")
        self.preview_check = QCheckBox("Show the 28×28 image")
        self.preview_check.setToolTip("Show the exact 28×28 image the model saw.")
        self.preview_check.setChecked(True)
        self.preview_check.toggled.connect(self.preview.setVisible)
        self.saliency_check = QCheckBox("Highlight what drove the answer")
        self.saliency_check.setToolTip(
            "Colour the 28×28 image by what raised (red) or lowered (blue) the top digit's "
            "score: Grad-CAM on the last conv layer, or the input gradient for an MLP."
        )
        self.saliency_check.toggled.connect(self.saliency_toggled)
        self.saliency_legend = ExplanationLegend()  # which class the map explains (issue 10.9)
        self.saliency_legend.setVisible(False)
        self.saliency_check.toggled.connect(self.saliency_legend.setVisible)

        self.model_combo = ElidedComboBox()
        self.model_combo.activated.connect(self._on_model_activated)
        self.open_model_button = QPushButton("Open checkpoint…")
        self.open_model_button.setToolTip("Use a checkpoint file (.pt) made by mnist-desk train.")

        self.pen_slider = QSlider(Qt.Orientation.Horizontal)
        self.pen_slider.setRange(4, 48)
        self.pen_slider.setValue(round(self.canvas.pen_width))
        self.pen_slider.setToolTip("Pen width (the default matches MNIST's stroke width).")
        self.pen_slider.setMinimumWidth(120)
        self.pen_slider.valueChanged.connect(lambda v: self.canvas.set_pen_width(float(v)))
        self.pen_value = QLabel()
        self.pen_value.setFixedWidth(self.pen_value.fontMetrics().horizontalAdvance("48 px "))
        self.pen_value.setToolTip("Pen width in pixels of the pad.")
        self.pen_slider.valueChanged.connect(lambda v: self.pen_value.setText(f"{v} px"))
        self.pen_value.setText(f"{self.pen_slider.value()} px")
        self.undo_button = QPushButton("Undo")
        self.redo_button = QPushButton("Redo")
        self.clear_button = QPushButton("Clear")
        self.undo_button.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.redo_button.setToolTip("Redo (Ctrl+Shift+Z)")
        self.clear_button.setToolTip("Clear the pad (Esc)")
        self.undo_button.clicked.connect(self.canvas.undo)
        self.redo_button.clicked.connect(self.canvas.redo)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.canvas.history_changed.connect(self._on_history)
        self._on_history(False, False)
        self.add_button = QToolButton()
        self.add_button.setText("Add to my digits")
        self.add_button.setToolTip(ADD_TIP)
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.add_button)
        for digit in range(10):
            action = menu.addAction(f"as {digit}")
            action.triggered.connect(lambda _=False, d=digit: self.add_my_digit.emit(d))
        self.add_button.setMenu(menu)
        self.add_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        # An instant-popup button draws its menu arrow in the corner without making room for
        # it, over the last letter: make the room.
        arrow = self.add_button.style().pixelMetric(QStyle.PixelMetric.PM_MenuButtonIndicator)
        self.add_button.setFixedWidth(self.add_button.sizeHint().width() + arrow)

        # Two rows under the canvas: the pen row keeps the slider a usable width, the button
        # row is never squeezed (every button keeps its full text).
        self._init_number_mode()
        pen_row = QHBoxLayout()
        pen_row.addWidget(self.number_check)
        pen_row.addWidget(QLabel("Pen"))
        pen_row.addWidget(self.pen_slider, 1)
        pen_row.addWidget(self.pen_value)
        buttons = QHBoxLayout()
        for button in (self.undo_button, self.redo_button, self.clear_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.add_button)
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(pen_row)
        left.addLayout(buttons)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.open_model_button)
        answer_row = QHBoxLayout()
        answer_row.addWidget(self.digit_label)
        answer_row.addWidget(self.state_label, 1)
        k_row = QHBoxLayout()
        k_row.addWidget(QLabel("Probabilities"))
        k_row.addStretch(1)
        k_row.addWidget(self.k_spin)
        preview_row = QHBoxLayout()
        preview_row.addWidget(self.preview, 0, Qt.AlignmentFlag.AlignTop)
        checks = QVBoxLayout()
        checks.addWidget(self.preview_check)
        checks.addWidget(self.saliency_check)
        checks.addWidget(self.saliency_legend)  # beside the preview: showing it moves nothing
        checks.addStretch(1)
        preview_row.addLayout(checks, 1)
        right = QVBoxLayout()
        right.addLayout(model_row)
        right.addWidget(self.error_label)
        right.addLayout(answer_row)
        right.addWidget(self.number_strip)
        right.addLayout(k_row)
        right.addWidget(self.bars, 1)
        right.addLayout(preview_row)
        self._right_layout = right
        right_widget = QWidget()
        right_widget.setLayout(right)
        # Wide enough for the preview and its check boxes side by side, nothing cut off.
        checks_width = max(c.sizeHint().width() for c in (self.preview_check, self.saliency_check))
        right_widget.setMinimumWidth(max(320, PREVIEW_SIDE + checks_width + 24))
        right_widget.setMaximumWidth(440)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(right_widget, 2)
        self._show_empty()

    # ----- requests ---------------------------------------------------------------------
    def _next_id(self) -> int:
        self._request_id += 1
        return self._request_id

    @Slot(object)
    def _on_drawing_changed(self, drawing) -> None:
        request_id = self._next_id()
        if not drawing.is_empty() and not self.error_label.isHidden():
            self.show_error("")  # a new drawing is the next action: old complaints are stale
        if drawing.is_empty():
            self._shown_id = request_id
            self._show_empty()
            return
        if self.number_mode:
            self.request_number.emit(request_id, drawing)
            return
        self.request_inference.emit(request_id, drawing)

    @Slot(object)
    def read_drawing(self, drawing) -> None:
        """Read a drawing made elsewhere (the Network tab's mirror pad) as if drawn here."""
        self._on_drawing_changed(drawing)

    def classify_image(self, image28: np.ndarray) -> None:
        """Put an opened digit on the pad, to read it and to draw over it."""
        self.canvas.set_background(image28)

    def refresh(self) -> None:
        """Ask again for the current drawing (after a model switch)."""
        self._on_drawing_changed(self.canvas.drawing())

    # ----- results ----------------------------------------------------------------------
    @Slot(int, object, object, object)
    def on_result(self, request_id: int, probs, image28, saliency) -> None:
        if request_id <= self._shown_id or self.number_mode:
            return  # stale: a newer answer (or an empty pad) is already shown
        # Answers newer than the one shown are welcome even while the person keeps drawing,
        # so a slow machine still shows progress instead of waiting for the pen to stop.
        self._shown_id = request_id
        if probs is None:
            self._show_empty()
            return
        all_probs = np.asarray(probs)
        self.last_probs = all_probs[:10]
        self.last_not_digit = float(all_probs[10]) if len(all_probs) > 10 else 0.0
        self.last_image = image28
        self.last_saliency = saliency
        top = int(self.last_probs.argmax())
        p = float(self.last_probs[top])
        runner_up = int(np.argsort(-self.last_probs)[1])
        state = reading_state(self.last_probs, self.last_not_digit)
        if state == "not-a-digit":
            self.digit_label.setText("?")
            self._set_state(f"Not a digit? ({self.last_not_digit:.0%}); closest: {top} ({p:.0%})")
        elif state == "not-sure":
            self.digit_label.setText("?")
            self._set_state(f"Not sure: maybe {top} ({p:.0%}) or {runner_up}")
        else:
            self.digit_label.setText(str(top))
            self._set_state(f"{p:.1%} sure")
        self._refresh_bars()
        if saliency is not None:  # a core.inspect.Explanation of the top digit
            self.preview.setPixmap(explanation_pixmap(image28, saliency.heat, PREVIEW_SIDE))
            self.saliency_legend.explain(str(saliency.target), saliency.method)
        else:
            self.preview.setPixmap(digit_pixmap(image28, PREVIEW_SIDE))
        self.answer_shown.emit(request_id, probs, image28, saliency)

    def _set_state(self, text: str, full: str = "") -> None:
        """The answer's words; when shortened to fit, the whole sentence is the tooltip."""
        self.state_label.setText(text)
        self.state_label.setToolTip(full if full and full != text else "")

    def predicted_digit(self) -> int | None:
        return None if self.last_probs is None else int(self.last_probs.argmax())

    def _show_empty(self) -> None:
        self.last_probs = None
        self.last_not_digit = 0.0
        self.last_image = None
        self.digit_label.setText("")  # a dash at this size looked like one more bar
        self._set_state(
            "Draw a digit to see what the model reads." if self.model_ready else "Loading model…"
        )
        self.bars.show_empty()
        self.preview.setPixmap(digit_pixmap(np.zeros((28, 28)), PREVIEW_SIDE))
        if self.number_mode:
            self._show_number(None)

    def _refresh_bars(self) -> None:
        if self.number_mode:
            self._show_selected_digit()
            return
        if self.last_probs is None:
            return
        order = np.argsort(-self.last_probs)[: self.k_spin.value()]
        self.bars.set_top_k([(int(d), float(self.last_probs[d])) for d in order])

    # ----- models -----------------------------------------------------------------------
    def set_models(self, entries: list[tuple[str, str]], current: str) -> None:
        """``entries`` are (label, path); path "" is the shipped model."""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        for label, path in entries:
            self.model_combo.addItem(label, path)
        index = self.model_combo.findData(current)
        self.model_combo.setCurrentIndex(max(index, 0))
        self.model_combo.blockSignals(False)
        self.model_combo.sync_tooltip()

    def _on_model_activated(self, index: int) -> None:
        self.model_chosen.emit(self.model_combo.itemData(index) or "")

    def show_error(self, text: str) -> None:
        self.error_label.setText(_fit_lines(self.error_label, text, ERROR_LINES))
        self.error_label.setToolTip(text)
        self.error_label.setVisible(bool(text))

    @Slot(bool, bool)
    def _on_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo_button.setEnabled(can_undo)
        self.redo_button.setEnabled(can_redo)

    # ----- number mode (issue 14) -------------------------------------------------------
    def _init_number_mode(self) -> None:
        self.number_mode = False
        self.last_number = None  # core.grouping.NumberReading
        self.number_source = ""
        self.selected_digit = 0
        self.digit_chosen = False  # a digit button was clicked: keep showing that digit
        self.number_check = QCheckBox("Number")
        self.number_check.setToolTip(
            "Number mode: write several digits left to right; each is read on its own."
        )
        self.number_check.toggled.connect(self.set_number_mode)
        self.number_strip = NumberStrip()
        self.number_strip.setVisible(False)
        self.number_strip.digit_selected.connect(self._on_digit_clicked)
        # As tall as its two-line buttons from the start, so the first digit moves nothing.
        probe = QToolButton()
        probe.setText("8\n100%")
        self.number_strip.setFixedHeight(probe.sizeHint().height())
        probe.deleteLater()

    @Slot(bool)
    def set_number_mode(self, on: bool) -> None:
        if on == self.number_mode:
            return
        self.number_mode = on
        self.number_check.setChecked(on)
        self.number_strip.setVisible(on)
        # Every choice in its menu would only be refused in number mode: say so beforehand.
        self.add_button.setEnabled(not on)
        self.add_button.setToolTip(ADD_TIP_NUMBER if on else ADD_TIP)
        # The strip's row comes out of the chart's minimum: added to it, the column outgrew
        # the window's minimum height and the chart's axis ran over the preview.
        strip = self.number_strip.minimumHeight() + max(self._right_layout.spacing(), 0)
        self.bars.setMinimumHeight(self._bars_minimum - (strip if on else 0))
        self.canvas.set_logical_width(NUMBER_WIDTH if on else 280.0)
        if not on and any(x > 280.0 for stroke in self.canvas.strokes() for x, _y in stroke):
            # A number does not fit the one-digit square: it spilled over the pad's margin
            # and was read squeezed into one 28×28 image. Undo brings it back.
            self.canvas.clear()
        # A number needs more room than one digit: twice the width, and a font that fits it.
        self.digit_label.setFixedWidth(self._digit_width * (2 if on else 1))
        if on:
            self._set_number_font("")
        else:
            self.digit_label.setFont(self._digit_font)
        self.last_number = None
        self.refresh()

    def read_number_file(self, path: str) -> None:
        """Ctrl+O in number mode: read an image file as a number (in the worker)."""
        self.request_number.emit(self._next_id(), path)

    @Slot(int, object)
    def on_number_result(self, request_id: int, reading) -> None:
        if request_id <= self._shown_id or not self.number_mode:
            return
        self._shown_id = request_id
        from_file = isinstance(reading, tuple)
        source, reading = reading if from_file else ("", reading)
        self._show_number(reading, source)
        self.number_shown.emit(request_id)

    def _show_number(self, reading, source: str = "") -> None:
        self.last_number = reading
        self.number_source = source  # a file's name: its boxes are not on the pad
        self.number_strip.set_reading(reading)
        if reading is None or not reading.digits:
            self.digit_chosen = False
            self.digit_label.setText("")
            self._set_state("Write a number, left to right (up to 12 digits).")
            self.bars.show_empty("Each digit's probabilities appear here.")
            self.canvas.set_boxes([])
            return
        self._set_number_font(reading.text)
        self.digit_label.setText(reading.text)
        unsure = [i + 1 for i, d in enumerate(reading.digits) if d.low_confidence]
        count = len(reading.digits)
        text = f"{count} digit{'s' if count != 1 else ''}"
        if source:
            text += f" read from {source}"
        if reading.too_many:  # before the unsure list, which is what gets cut to fit
            text += f"; only the first 12 are read ({reading.too_many} more)"
        if unsure:
            text += f"; not sure of digit {', '.join(map(str, unsure))}"
        # Two lines beside a wide number: the click hint is dropped first when they cannot
        # hold it all; the whole sentence is then the tooltip.
        full = text + ". Click a digit for its details."
        shown = full if _fit_lines(self.state_label, full, 2) == full else text
        shown = _fit_lines(self.state_label, shown, 2)
        self._set_state(shown, full)
        # The details follow the pen: the first unsure digit, else the one clicked, else the
        # newest. Keeping whichever index an unsure moment picked showed a random digit.
        if unsure:
            self._select_digit(unsure[0] - 1)
        elif self.digit_chosen:
            self._select_digit(min(self.selected_digit, count - 1))
        else:
            self._select_digit(count - 1)

    @Slot(int)
    def _on_digit_clicked(self, index: int) -> None:
        self.digit_chosen = True
        self._select_digit(index)

    @Slot(int)
    def _select_digit(self, index: int) -> None:
        self.selected_digit = index
        self.number_strip.select(index)
        self._show_selected_digit()

    def _show_selected_digit(self) -> None:
        reading = self.last_number
        if reading is None or not reading.digits:
            return
        index = min(self.selected_digit, len(reading.digits) - 1)
        digit = reading.digits[index]
        self.bars.set_top_k(digit.top_k[: self.k_spin.value()])
        self.preview.setPixmap(digit_pixmap(digit.image28, PREVIEW_SIDE))
        self.last_image = digit.image28  # what Save writes beside the drawing
        boxes = [(*d.box, d.low_confidence, i == index) for i, d in enumerate(reading.digits)]
        self.canvas.set_boxes([] if self.number_source else boxes)

    def _set_number_font(self, text: str) -> None:
        """The largest size up to 64 pt at which ``text`` fits the label (12 digits do at
        about 20 pt): a fixed size per length cut "142" at both ends."""
        font = self.digit_label.font()
        room = self.digit_label.width() - 4
        for size in range(64, 9, -2):
            font.setPointSize(size)
            if QFontMetrics(font).horizontalAdvance(text) <= room:
                break
        self.digit_label.setFont(font)
