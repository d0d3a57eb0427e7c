"""The Network tab: watch every layer of the active model read the pad's drawing.

The inference worker computes a ``core.network.NetworkView`` after the pad's answer (only
while this tab is visible); this tab only draws it. Clicking a feature map shows its filter
weights; clicking a class in the softmax explains that class; the compare list, the nearest
training digits and the training-timeline slider use the same drawing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QPoint, QRect, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPalette, QPen, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from mnist_desk.ui.file_dialogs import ask_save_path
from mnist_desk.ui.heatmaps import (
    ACTIVATION,
    DIVERGING,
    ColourScale,
    ExplanationLegend,
    array_qimage,
    explanation_pixmap,
    grey_qimage,
    mosaic,
    symmetric,
)
from mnist_desk.ui.messages import error_label

WHY_SIDE = 168
THUMB_SIDE = 56
DRAW_HINT = "Draw a digit here or on the Draw tab to see the network read it."
BUILDING_INDEX = "Building the feature index of the training digits…"
# In number mode the pad sends its drawings to the number reader, which makes no view.
NUMBER_MODE_HINT = (
    "The Draw tab is reading a number (“Number” is ticked there): the network view reads one "
    "digit, so untick “Number” on the Draw tab to watch it read this drawing."
)


def _tile_side(h: int, count: int) -> int:
    """Big enough to read, small enough that 16 maps of 28×28 fit beside the side panel."""
    if count <= 4:
        return 72  # a first layer's single kernel, or an MLP's template: show it large
    return max(20, min(32, h * 2))


class TileGrid(QWidget):
    """Feature maps as a grid of tiles, one colour scale for the whole layer.

    At most ``columns`` tiles a row, fewer when the available width (the layer list's, see
    ``set_available_width``) holds fewer: a narrow window wraps the maps instead of scrolling.
    """

    clicked = Signal(int)
    hovered = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.maps = np.zeros((0, 1, 1), np.float32)
        self.columns = 1
        self.tile = 24
        self.selected = -1
        self._image = None
        self._width = 0  # 0: no limit
        self._shown: tuple | None = None  # the last set_maps arguments, to wrap again
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)

    def set_available_width(self, width: int) -> None:
        if width != self._width:
            self._width = width
            if self._shown is not None:
                self.set_maps(*self._shown)

    def set_maps(self, maps: np.ndarray, lo: float, hi: float, table=ACTIVATION, columns=16):
        self._shown = (maps, lo, hi, table, columns)
        self.maps = maps
        count, h, w = maps.shape
        self.tile = _tile_side(max(h, w), count)
        gap = 1 if count > 1 else 0
        self._cell = (w + gap, h + gap)
        self._scale = self.tile / max(h, w)
        fit = int(self._width // (self._cell[0] * self._scale)) if self._width else columns
        self.columns = max(1, min(columns, count, fit))
        self._image = array_qimage(mosaic(maps, self.columns, gap), lo, hi, table)
        rows = -(-count // self.columns)
        self.setFixedSize(
            round(self.columns * self._cell[0] * self._scale),
            round(rows * self._cell[1] * self._scale),
        )
        self.update()

    def tile_rect(self, index: int) -> QRect:
        r, c = divmod(index, self.columns)
        x, y = c * self._cell[0] * self._scale, r * self._cell[1] * self._scale
        return QRect(round(x), round(y), round(self.tile), round(self.tile))

    def index_at(self, point: QPoint) -> int:
        if not len(self.maps):
            return -1
        c = int(point.x() / (self._cell[0] * self._scale))
        r = int(point.y() / (self._cell[1] * self._scale))
        index = r * self.columns + c
        return index if 0 <= c < self.columns and 0 <= index < len(self.maps) else -1

    def paintEvent(self, _event) -> None:  # noqa: N802
        if self._image is None:
            return
        painter = QPainter(self)
        painter.drawImage(self.rect(), self._image)
        if 0 <= self.selected < len(self.maps):
            painter.setPen(QColor(0, 200, 255))
            painter.drawRect(self.tile_rect(self.selected).adjusted(0, 0, -1, -1))
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index >= 0:
            self.selected = index
            self.update()
            self.clicked.emit(index)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index >= 0:
            self.hovered.emit(index)

    def leaveEvent(self, event) -> None:  # noqa: N802
        super().leaveEvent(event)
        self.hovered.emit(-1)


class HeatStrip(TileGrid):
    """A dense layer's units as a strip of cells (rows of up to 64), clickable like maps."""

    def set_maps(self, maps, lo, hi, table=ACTIVATION, columns=64) -> None:
        """Wrapping again (a new width) draws the strip again."""
        self.set_vector(maps.reshape(-1), lo, hi, table)

    def set_vector(self, values: np.ndarray, lo: float, hi: float, table=ACTIVATION) -> None:
        self._shown = (values, lo, hi, table)
        per_row = min(64, len(values))
        self.tile = 10 if per_row > 32 else 18
        if self._width:
            per_row = max(1, min(per_row, self._width // self.tile))
        rows = -(-len(values) // per_row)
        padded = np.full(rows * per_row, np.nan, np.float32)
        padded[: len(values)] = values
        grid = padded.reshape(rows, per_row)
        self.maps = values.reshape(-1, 1, 1)
        self.columns = per_row
        self._cell = (1, 1)
        self._scale = self.tile
        self._image = array_qimage(grid, lo, hi, table)
        self.setFixedSize(per_row * self.tile, rows * self.tile)
        self.update()


class ClassBars(QWidget):
    """The softmax: one clickable bar per class; the explained class is outlined."""

    class_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.probs = np.zeros(10, np.float32)
        self.names = [str(d) for d in range(10)]
        self.selected = -1
        self.setMinimumSize(320, 110)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # ←/→ or a digit key pick a class
        self.setToolTip(
            "Click a class (or Tab here and press ←/→ or its digit key)\n"
            "to see what in the drawing speaks for it."
        )

    def set_probabilities(self, probs: np.ndarray, names: list[str], selected: int) -> None:
        self.probs, self.names, self.selected = np.asarray(probs), names, selected
        self.update()

    def _slot(self) -> float:
        return self.width() / max(1, len(self.probs))

    def bar_center(self, index: int) -> QPoint:
        return QPoint(round((index + 0.5) * self._slot()), self.height() // 2)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        text = self.palette().windowText().color()
        slot, base = self._slot(), self.height() - 18
        for i, p in enumerate(self.probs):
            height = max(1.0, float(p) * (base - 14))
            rect = QRect(round(i * slot + 3), round(base - height), round(slot - 6), round(height))
            painter.fillRect(
                rect, QColor(250, 140, 30) if i == self.selected else QColor(90, 130, 200)
            )
            painter.setPen(text)
            label = "not" if self.names[i] == "not a digit" else self.names[i]
            painter.drawText(
                QRect(round(i * slot), base, round(slot), 18), Qt.AlignmentFlag.AlignCenter, label
            )
            if p >= 0.01:
                painter.drawText(
                    QRect(round(i * slot), round(base - height) - 14, round(slot), 14),
                    Qt.AlignmentFlag.AlignCenter,
                    f"{p:.0%}",
                )
        if self.hasFocus():
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
            painter.drawRect(self.rect().adjusted(1, 1, -1, -1))
        painter.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = int(event.position().x() / self._slot())
        if 0 <= index < len(self.probs):
            self.class_clicked.emit(index)

    def event(self, event) -> bool:
        """Digit keys are the window's "keep drawing as" shortcuts; here they pick a class."""
        if event.type() == QEvent.Type.ShortcutOverride and self._key_class(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        index = self._key_class(event)
        if index is None:
            super().keyPressEvent(event)
            return
        self.class_clicked.emit(index)

    def _key_class(self, event) -> int | None:
        count = len(self.probs)
        current = self.selected if self.selected >= 0 else int(np.argmax(self.probs[:count]))
        step = {Qt.Key.Key_Left: -1, Qt.Key.Key_Right: 1}.get(Qt.Key(event.key()))
        if step is not None and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            return min(max(current + step, 0), count - 1)
        if event.text().isdigit() and int(event.text()) < min(count, 10):
            return int(event.text())
        return None


class CompareView(QWidget):
    """Every model with a checkpoint reading the same drawing: name, answer, tiny bars."""

    ROW = 22

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list = []
        self.setMinimumWidth(330)

    def set_rows(self, rows: list) -> None:
        self.rows = rows
        self.setFixedHeight(max(self.ROW, self.ROW * len(rows)))
        self.setToolTip("\n".join(self.row_texts()))
        self.update()

    def row_texts(self) -> list[str]:
        texts = []
        for row in self.rows:
            if row.probabilities is None:
                texts.append(f"{row.label}: {row.error}")
                continue
            top = int(np.argmax(row.probabilities[:10]))
            texts.append(f"{row.label} ({row.model}): {top} at {row.probabilities[top]:.1%}")
        return texts

    def event(self, event) -> bool:
        """Hovering a row shows its whole name (the column elides long run names) and file."""
        if event.type() == QEvent.Type.ToolTip:
            r = int(event.pos().y() // self.ROW)
            if 0 <= r < len(self.rows):
                path = self.rows[r].path
                text = self.row_texts()[r] + (f"\n{path}" if path else "")
                QToolTip.showText(event.globalPos(), text, self)
                return True
        return super().event(event)

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        text = self.palette().windowText().color()
        for r, row in enumerate(self.rows):
            y = r * self.ROW
            painter.setPen(text)
            name_rect = QRect(0, y, 176, self.ROW)
            name = self.fontMetrics().elidedText(row.label, Qt.TextElideMode.ElideMiddle, 176)
            painter.drawText(name_rect, Qt.AlignmentFlag.AlignVCenter, name)
            if row.probabilities is None:
                painter.drawText(QRect(180, y, 150, self.ROW), Qt.AlignmentFlag.AlignVCenter, "—")
                continue
            probs = row.probabilities[:10]
            top = int(np.argmax(probs))
            painter.drawText(
                QRect(180, y, 70, self.ROW),
                Qt.AlignmentFlag.AlignVCenter,
                f"{top}  {probs[top]:.0%}",
            )
            for d, p in enumerate(probs):
                h = max(1, round(float(p) * (self.ROW - 6)))
                colour = QColor(250, 140, 30) if d == top else QColor(90, 130, 200)
                painter.fillRect(QRect(252 + d * 7, y + self.ROW - 3 - h, 5, h), colour)
        painter.end()


class LayerRow(QWidget):
    """Title, value range and colour scale of one layer, above its maps or strip."""

    def __init__(self, layer, weights: dict, parent: QWidget | None = None, width: int = 0) -> None:
        super().__init__(parent)
        self.layer = layer
        self.title = QLabel()
        self.title.setWordWrap(True)  # "conv 1 · 32 maps of 28×28 · BatchNorm2d → ReLU"
        self.scale = ColourScale()
        self.scale.setMinimumWidth(110)
        self.scale.setMaximumWidth(220)
        head = QHBoxLayout()
        # Both stretch: beside a stretch the scale kept its (empty) size hint and was not drawn.
        head.addWidget(self.title, 1)
        head.addWidget(self.scale, 1, Qt.AlignmentFlag.AlignTop)
        self.view = TileGrid() if layer.is_maps or layer.kind == "input" else HeatStrip()
        self.view.set_available_width(width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(head)
        layout.addWidget(self.view)
        self.set_layer(layer)

    def set_layer(self, layer) -> None:
        self.layer = layer
        lo, hi = layer.value_range
        values = layer.values
        shape = "×".join(str(s) for s in (values.shape if values.ndim != 3 else values.shape[1:]))
        count = f"{values.shape[0]} maps of {shape}" if layer.is_maps else f"{shape} values"
        if layer.kind == "input":
            count = "the 28×28 image the model sees"
        detail = f" · {layer.detail}" if layer.detail and layer.kind != "input" else ""
        self.title.setText(f"<b>{layer.name}</b> · {count}{detail}")
        self.scale.set_range(lo, hi)
        if isinstance(self.view, HeatStrip):
            self.view.set_vector(values.reshape(-1), lo, hi)
        else:
            maps = values if values.ndim == 3 else values[None]
            self.view.set_maps(maps, lo, hi)


class NetworkTab(QWidget):
    options_changed = Signal(dict)  # → InferenceWorker.set_network_options
    visibility_changed = Signal(bool)  # → InferenceWorker.set_network
    view_shown = Signal(int)  # request id, after the view was drawn (benchmarks, tests)
    answer_settled = Signal(int)  # request id → InferenceWorker.answer_shown

    index_limit: int | None = None  # tests build the index over a subset

    def __init__(self, runner=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from mnist_desk.ui.jobs import JobRunner

        self.owns_runner = runner is None
        self.runner = runner or JobRunner(self)
        self.view = None
        self._shown_id = 0
        self._latest_request = 0
        self.active_path = ""
        self._entries: list[tuple[str, str]] = []
        self._snapshots: list[Path] = []
        self._index_job = None
        self._index_source = ""  # the checkpoint whose index the job builds
        self._index_tried: set[str] = set()
        self._selected: tuple[str, int] | None = None
        self._hovering: tuple[str, int] | None = None
        self.layer_rows: list[LayerRow] = []
        self._thumbnails: dict[int, QPixmap] = {}  # training row → its neighbour picture

        from mnist_desk.ui.canvas import DrawingCanvas

        # A small pad mirrored with the Draw tab's, so the layers can be watched while drawing.
        self.canvas = DrawingCanvas()
        self.canvas.setMinimumSize(160, 160)
        self.canvas.setFixedSize(180, 180)
        self._pad_canvas = None
        self._pad = None
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear the drawing (here and on the Draw tab).")
        self.clear_button.clicked.connect(self.canvas.clear)
        # The window's Undo, Redo and Clear act on the Draw tab only: the same keys here act on
        # this pad, which mirrors the Draw tab's after each change.
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            (QKeySequence.StandardKey.Undo, self.canvas.undo),
            ("Ctrl+Shift+Z", self.canvas.redo),
            ("Ctrl+Y", self.canvas.redo),
            ("Esc", self.canvas.clear),
            ("Delete", self.canvas.clear),
        ):
            QShortcut(QKeySequence(keys), self, context=context).activated.connect(slot)
        self.heading = QLabel(DRAW_HINT)
        self.heading.setWordWrap(True)
        self.error_label = error_label()
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save this view as a PNG image.")
        self.export_button.clicked.connect(lambda: self.export_png())

        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setToolTip(
            "Training timeline: the same drawing read by each epoch's weights."
        )
        self.timeline.valueChanged.connect(self._on_timeline)
        self.timeline_label = QLabel()
        self.timeline_hint = QLabel(
            "No per-epoch snapshots for this model: train it with Snapshots “keep a "
            "checkpoint per epoch” ticked (or --keep-epochs) to watch it learn."
        )
        self.timeline_hint.setWordWrap(True)

        self.layers_box = QVBoxLayout()
        self.layers_box.addStretch(1)
        layers_widget = QWidget()
        layers_widget.setLayout(self.layers_box)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(layers_widget)
        self.scroll.installEventFilter(self)  # its width wraps the layer maps
        self.softmax = ClassBars()
        self.softmax.class_clicked.connect(self._on_class_clicked)

        self.detail_title = QLabel("Click a feature map or a unit to see its weights.")
        self.detail_title.setWordWrap(True)
        self.detail_map = QLabel()
        self.detail_map.setFixedSize(112, 112)
        self.kernels = TileGrid()
        self.kernel_scale = ColourScale(DIVERGING)
        self.kernel_scale.setVisible(False)

        self.why_image = QLabel()
        self.why_image.setFixedSize(WHY_SIDE, WHY_SIDE)
        self.why_legend = ExplanationLegend()
        self.why_text = QLabel("Click a class in the softmax to explain it.")
        self.why_text.setWordWrap(True)

        self.compare = CompareView()
        self.neighbour_labels = [QLabel() for _ in range(8)]
        self.neighbour_status = QLabel("")
        self.neighbour_status.setWordWrap(True)
        self.index_progress = QProgressBar()
        self.index_progress.setVisible(False)
        self.build_button = QPushButton("Build index")
        self.build_button.setToolTip("Compute the features of the 60,000 training digits once.")
        self.build_button.setVisible(False)
        self.build_button.clicked.connect(self.build_index)
        # The build reads all 60,000 digits (minutes on a slow CPU) and starts by itself.
        self.cancel_index_button = QPushButton("Cancel")
        self.cancel_index_button.setToolTip("Stop building the index; Build index starts again.")
        self.cancel_index_button.setVisible(False)
        self.cancel_index_button.clicked.connect(self.cancel_index)
        self._layout()
        for widget in (self.epoch_caption, self.timeline, self.timeline_label):
            widget.setVisible(False)  # until a model with epoch snapshots is active

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        self.epoch_caption = QLabel("Epoch")
        top.addWidget(self.epoch_caption)
        top.addWidget(self.timeline, 1)
        top.addWidget(self.timeline_label)
        top.addWidget(self.export_button)

        pad_box = QGroupBox("Draw here or on the Draw tab")
        p = QVBoxLayout(pad_box)
        p.addWidget(self.canvas, 0, Qt.AlignmentFlag.AlignHCenter)
        p.addWidget(self.clear_button)
        left = QHBoxLayout()
        left.addWidget(pad_box, 0, Qt.AlignmentFlag.AlignTop)
        left.addWidget(self.scroll, 1)
        centre = QVBoxLayout()
        centre.addLayout(left, 1)
        centre.addWidget(QLabel("<b>softmax</b> · click a class to explain it"))
        centre.addWidget(self.softmax)

        detail = QGroupBox("Selected map")
        d = QVBoxLayout(detail)
        d.addWidget(self.detail_title)
        row = QHBoxLayout()
        row.addWidget(self.detail_map)
        row.addWidget(self.kernels, 1, Qt.AlignmentFlag.AlignTop)
        d.addLayout(row)
        d.addWidget(self.kernel_scale)

        why = QGroupBox("Why")
        w = QVBoxLayout(why)
        w.addWidget(self.why_image, 0, Qt.AlignmentFlag.AlignHCenter)
        w.addWidget(self.why_legend)
        w.addWidget(self.why_text)

        compare = QGroupBox("Compare models")
        QVBoxLayout(compare).addWidget(self.compare)

        near = QGroupBox("Nearest training digits")
        n = QVBoxLayout(near)
        grid = QGridLayout()
        for i, label in enumerate(self.neighbour_labels):
            label.setFixedSize(THUMB_SIDE + 8, THUMB_SIDE + 20)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(label, i // 4, i % 4)
        n.addLayout(grid)
        n.addWidget(self.neighbour_status)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.index_progress, 1)
        progress_row.addWidget(self.cancel_index_button)
        n.addLayout(progress_row)
        n.addWidget(self.build_button)

        side = QVBoxLayout()
        for box in (detail, why, compare, near):
            side.addWidget(box)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side_scroll = QScrollArea()
        side_scroll.setWidgetResizable(True)
        side_scroll.setWidget(side_widget)
        # As wide as its widest box (the compare rows) beside the vertical scroll bar, so it
        # never needs a sideways one.
        side_scroll.setMinimumWidth(
            side_widget.minimumSizeHint().width()
            + side_scroll.verticalScrollBar().sizeHint().width()
            + 2 * side_scroll.frameWidth()
        )

        body = QHBoxLayout()
        body.addLayout(centre, 3)
        body.addWidget(side_scroll, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.timeline_hint)
        layout.addWidget(self.error_label)
        layout.addLayout(body, 1)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.scroll and event.type() == QEvent.Type.Resize:
            width = self._maps_width()
            for row in self.layer_rows:
                row.view.set_available_width(width)
        return super().eventFilter(watched, event)

    def _maps_width(self) -> int:
        """The layer list's width less its frame, margins and a vertical scroll bar, shown or
        not: wrapping must not depend on whether the bar is there (it would flip to and fro)."""
        margins = self.layers_box.contentsMargins()
        return max(
            1,
            self.scroll.width()
            - 2 * self.scroll.frameWidth()
            - self.scroll.verticalScrollBar().sizeHint().width()
            - margins.left()
            - margins.right(),
        )

    # ----- visibility ---------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._copy_from_pad()
        self._explain_number_mode(self.canvas.drawing())
        self.visibility_changed.emit(True)

    def attach_pad(self, pad) -> None:
        """Mirror the Draw tab's canvas: this small pad's drawings are read as the pad's."""
        self._pad, self._pad_canvas = pad, pad.canvas
        self.canvas.drawing_changed.connect(pad.read_drawing)
        self.canvas.history_changed.connect(lambda *_: self._copy_to_pad())
        pad.request_inference.connect(self._note_request)
        pad.answer_shown.connect(self._on_answer_shown)
        pad.canvas.drawing_changed.connect(self._on_drawing)
        self.canvas.drawing_changed.connect(self._on_drawing)

    @Slot(int, object, object, object)
    def _on_answer_shown(self, request_id: int, *_answer) -> None:
        """Let the worker start this drawing's view once the GUI thread is done with the bars.

        The zero timer fires after every other slot of the answer and the pad's pending
        repaint: a view started earlier would hold the GIL while they still ran.
        """
        if self.isVisible():
            QTimer.singleShot(0, self, lambda: self.answer_settled.emit(request_id))

    @Slot(int, object)
    def _note_request(self, request_id: int, _drawing) -> None:
        self._latest_request = request_id

    @Slot(object)
    def _on_drawing(self, drawing) -> None:
        """An empty pad is never sent to the worker: clear the view here, drop older ones."""
        if drawing.is_empty():
            self._shown_id = self._latest_request + 1
            self.on_view(self._shown_id, None)
        self._explain_number_mode(drawing)

    def _explain_number_mode(self, drawing) -> None:
        """A drawing read as a number gets no view: say why instead of showing an older one."""
        if self._pad is None or not self._pad.number_mode or drawing.is_empty():
            return
        self._shown_id = self._latest_request + 1
        self.on_view(self._shown_id, None)
        self.heading.setText(NUMBER_MODE_HINT)

    def _copy_from_pad(self) -> None:
        pad = self._pad_canvas
        if pad is None or (
            pad.strokes() == self.canvas.strokes() and pad.background() is self.canvas.background()
        ):
            return
        self.canvas.blockSignals(True)  # the pad's own answer is already on its way
        self.canvas.set_pen_width(pad.pen_width)
        self.canvas.set_background(pad.background())
        self.canvas.set_strokes(pad.strokes())
        self.canvas.blockSignals(False)
        self.canvas.update()

    def _copy_to_pad(self) -> None:
        """After each stroke, undo or clear here, the Draw tab shows the same drawing."""
        pad = self._pad_canvas
        if pad is None or (pad.strokes() == self.canvas.strokes() and not self.canvas.is_empty()):
            return
        pad.blockSignals(True)  # this drawing was read already: no second request
        if self.canvas.is_empty():
            pad.clear()
        else:
            pad.set_strokes(self.canvas.strokes())
        pad.blockSignals(False)
        pad.history_changed.emit(pad.can_undo(), pad.can_redo())

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.visibility_changed.emit(False)

    # ----- the window tells us ------------------------------------------------------------
    def set_models(self, entries: list[tuple[str, str]]) -> None:
        """Every model with a checkpoint: the compare list (label, path; "" = shipped)."""
        self._entries = list(entries)
        self.options_changed.emit({"compare": self._entries})

    def set_active_model(self, path: str) -> None:
        """The model the pad uses (its file path); resets the class, epoch and selection."""
        from mnist_desk.core.network import epoch_snapshots

        self.active_path = path
        self._selected = None
        self._snapshots = epoch_snapshots(path)
        has = bool(self._snapshots)
        self.timeline.blockSignals(True)
        self.timeline.setRange(0, len(self._snapshots))
        self.timeline.setValue(len(self._snapshots))
        self.timeline.blockSignals(False)
        for widget in (self.epoch_caption, self.timeline, self.timeline_label):
            widget.setVisible(has)
        self.timeline_hint.setVisible(not has)
        self.timeline_label.setText("trained")
        self.options_changed.emit({"target": None, "timeline": "", "reload_index": True})

    # ----- user actions -------------------------------------------------------------------
    @Slot(int)
    def _on_timeline(self, value: int) -> None:
        if value >= len(self._snapshots):
            self.timeline_label.setText("trained")
            self.options_changed.emit({"timeline": ""})
            return
        path = self._snapshots[value]
        label = f"epoch {value}" + (" (random init)" if value == 0 else "")
        self.timeline_label.setText(label)
        self.options_changed.emit({"timeline": str(path), "timeline_label": label})

    @Slot(int)
    def _on_class_clicked(self, index: int) -> None:
        self.options_changed.emit({"target": index})

    def export_png(self, path: str | None = None) -> str:
        if not path:
            path = ask_save_path(self, "Export view", "network.png", "PNG (*.png)")
        if not path:
            return ""
        target = str(Path(path).with_suffix(".png"))
        if not self.grab().save(target, "PNG"):
            self.show_error(f"Could not write {target}.")
            return ""
        self.show_error("")
        return target

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    # ----- the worker's answer ------------------------------------------------------------
    @Slot(int, object)
    def on_view(self, request_id: int, view) -> None:
        if request_id < self._shown_id:
            return
        if view is not None and request_id < self._latest_request:
            return  # a newer drawing is on its way: the GUI thread stays free for its bars
        self._shown_id = request_id
        if view is None:
            self.view = None
            self.heading.setText(DRAW_HINT)
            for row in self.layer_rows:
                self.layers_box.removeWidget(row)
                row.deleteLater()
            self.layer_rows = []
            self.view_shown.emit(request_id)
            return
        self.view = view
        ins = view.inspection
        from mnist_desk.core.predict import reading_state

        digits = ins.probabilities[:10]
        top = int(np.argmax(digits))
        not_digit = float(ins.probabilities[10]) if len(ins.probabilities) > 10 else 0.0
        reading = {
            "digit": f"reads a <b>{top}</b> ({digits[top]:.1%})",
            "not-sure": f"is not sure: maybe a <b>{top}</b> ({digits[top]:.0%})",
            "not-a-digit": f"reads <b>not a digit</b> ({not_digit:.0%})",
        }[reading_state(digits, not_digit)]
        epoch = f" · {view.epoch_label}" if view.epoch_label else ""
        self.heading.setText(f"<b>{view.model}</b>{epoch} {reading} · {len(ins.layers) - 2} layers")
        self._show_layers(ins.layers)
        self.softmax.set_probabilities(ins.probabilities, view.classes, view.target)
        self._show_why(view)
        self.compare.set_rows(view.compare)
        self._show_neighbours(view)
        if self._hovering is not None:
            self._show_detail(*self._hovering, mark=False)
        elif self._selected is not None:
            self._show_detail(*self._selected)
        self.view_shown.emit(request_id)

    def _show_layers(self, layers) -> None:
        shown = [layer for layer in layers if layer.kind != "softmax"]
        same = len(shown) == len(self.layer_rows) and all(
            r.layer.name == layer.name and r.layer.values.shape == layer.values.shape
            for r, layer in zip(self.layer_rows, shown, strict=True)
        )
        if same:
            for row, layer in zip(self.layer_rows, shown, strict=True):
                row.set_layer(layer)
            return
        for row in self.layer_rows:
            self.layers_box.removeWidget(row)
            row.deleteLater()
        self.layer_rows = []
        for layer in shown:
            row = LayerRow(layer, {}, width=self._maps_width())
            row.view.clicked.connect(lambda i, name=layer.name: self._select(name, i))
            row.view.hovered.connect(lambda i, name=layer.name: self._hover(name, i))
            self.layers_box.insertWidget(self.layers_box.count() - 1, row)
            self.layer_rows.append(row)

    def layer_row(self, name: str) -> LayerRow:
        return next(r for r in self.layer_rows if r.layer.name == name)

    def _select(self, name: str, index: int) -> None:
        self._selected = (name, index)
        self._show_detail(name, index)

    def _hover(self, name: str, index: int) -> None:
        """Hovering shows a map's detail; leaving goes back to the clicked one."""
        self._hovering = (name, index) if index >= 0 else None
        if index < 0:
            if self._selected is not None:
                self._show_detail(*self._selected)
            return
        row = self.layer_row(name)
        value = row.layer.values.reshape(len(row.view.maps), -1)[index]
        row.view.setToolTip(f"{name} #{index}: {value.min():.3g} … {value.max():.3g}")
        self._show_detail(name, index, mark=False)

    def _show_detail(self, name: str, index: int, mark: bool = True) -> None:
        if self.view is None:
            return
        rows = [r for r in self.layer_rows if r.layer.name == name]
        if not rows or index >= len(rows[0].view.maps):
            return
        layer = rows[0].layer
        if mark:
            for row in self.layer_rows:
                row.view.selected = index if row is rows[0] else -1
                row.view.update()
        values = layer.values.reshape(len(rows[0].view.maps), -1)[index]
        lo, hi = float(values.min()), float(values.max())
        text = f"<b>{name} #{index}</b> · values {lo:.3g} … {hi:.3g}"
        if layer.is_maps:
            m = layer.values[index]
            self.detail_map.setPixmap(self._pixmap(m, *layer.value_range, ACTIVATION))
        else:
            self.detail_map.clear()
        weights = self.view.weights.get(layer.module)
        if weights is not None and index < len(weights):
            kernel = weights[index]
            kernels = kernel if kernel.ndim == 3 else kernel[None]
            klo, khi = symmetric(float(kernels.min()), float(kernels.max()))
            self.kernels.set_maps(kernels, klo, khi, DIVERGING, columns=8)
            self.kernel_scale.set_range(klo, khi, "weights")
            count = len(kernels)
            kernel_words = f"{count} kernel" + ("s" if count != 1 else "")
            what = "28×28 template" if kernel.shape[-1] == 28 else kernel_words
            text += f"<br>its weights ({what}): red excites, blue inhibits"
        else:
            self.kernels.set_maps(np.zeros((0, 1, 1), np.float32), 0, 1)
            text += "<br>(weights of this layer are not pictures)"
        self.kernels.setVisible(weights is not None)
        self.kernel_scale.setVisible(weights is not None)
        self.detail_title.setText(text)

    @staticmethod
    def _pixmap(array: np.ndarray, lo: float, hi: float, table, side: int = 112) -> QPixmap:
        return QPixmap.fromImage(array_qimage(array, lo, hi, table)).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
        )

    def _thumbnail(self, row: int, image: np.ndarray) -> QPixmap:
        """A training digit's picture, kept: neighbours recur from one drawing to the next."""
        pixmap = self._thumbnails.get(row)
        if pixmap is None:
            if len(self._thumbnails) >= 512:
                self._thumbnails.pop(next(iter(self._thumbnails)))
            pixmap = QPixmap.fromImage(grey_qimage(image)).scaled(
                THUMB_SIDE,
                THUMB_SIDE,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
            self._thumbnails[row] = pixmap
        return pixmap

    def _show_why(self, view) -> None:
        explanation = view.inspection.explanations.get(view.target)
        if explanation is None:
            return
        image = view.inspection.layers[0].values
        self.why_image.setPixmap(explanation_pixmap(image, explanation.heat, WHY_SIDE))
        name = view.classes[view.target]
        self.why_legend.explain(name, explanation.method)
        self.why_text.setText(
            f"Explains <b>{name}</b> ({explanation.method}). "
            "Click another class in the softmax to explain it."
        )

    def _show_neighbours(self, view) -> None:
        state = view.index_state
        for label in self.neighbour_labels:
            label.clear()
        if state == "ready":
            for label, (row, digit, score, image) in zip(
                self.neighbour_labels, view.neighbours, strict=False
            ):
                label.setPixmap(self._thumbnail(row, image))
                label.setToolTip(f"training digit #{row}: a {digit} (cosine {score:.2f})")
            labels = ", ".join(str(n[1]) for n in view.neighbours)
            self.neighbour_status.setText(f"It looks like these training digits: {labels}.")
        elif state == "missing":
            if view.source not in self._index_tried:
                self.build_index()  # unless another model's index is being built
            if self._index_job is None:
                text = "The feature index of this model is not built yet."
            elif self._index_source == view.source:
                text = BUILDING_INDEX  # not "not built yet" under a moving bar
            else:
                text = (
                    "The feature index of this model is not built yet; another model's index "
                    "is being built first."
                )
            self.neighbour_status.setText(text)
        else:
            self.neighbour_status.setText(view.index_message)
        busy = self._index_job is not None
        self.build_button.setVisible(state == "missing" and not busy)

    # ----- the feature index job ----------------------------------------------------------
    def build_index(self) -> None:
        source = self.view.source if self.view is not None else self.active_path
        if not source or self._index_job is not None:
            return
        from mnist_desk.core.neighbours import build_index

        self._index_tried.add(source)
        job = self.runner.submit("feature index", build_index, source, None, self.index_limit)
        self._index_job, self._index_source = job, source
        self.index_progress.setRange(0, 0)
        self.index_progress.setVisible(True)
        self.build_button.setVisible(False)
        self.cancel_index_button.setVisible(True)
        self.neighbour_status.setText(BUILDING_INDEX)
        job.progress.connect(self._on_index_progress)
        job.finished.connect(self._on_index_built)
        job.failed.connect(self._on_index_failed)
        job.cancelled.connect(self._on_index_cancelled)
        job.ended.connect(self._on_index_ended)

    @Slot(object)
    def _on_index_progress(self, event) -> None:
        done, total = event
        self.index_progress.setRange(0, total)
        self.index_progress.setValue(done)

    @Slot(object)
    def _on_index_built(self, index) -> None:
        self.neighbour_status.setText(f"Index ready: {len(index):,} training digits.")
        self.options_changed.emit({"reload_index": True})

    @Slot(str)
    def _on_index_failed(self, message: str) -> None:
        self.neighbour_status.setText(f"Could not build the feature index: {message}")
        self.build_button.setVisible(True)

    def cancel_index(self) -> None:
        if self._index_job is not None:
            self._index_job.cancel()
            self.cancel_index_button.setEnabled(False)

    @Slot()
    def _on_index_cancelled(self) -> None:
        self.neighbour_status.setText("The feature index was not built (cancelled).")
        self.build_button.setVisible(True)

    @Slot()
    def _on_index_ended(self) -> None:
        self._index_job = None
        self.index_progress.setVisible(False)
        self.cancel_index_button.setVisible(False)
        self.cancel_index_button.setEnabled(True)

    def shutdown(self) -> None:
        if self._index_job is not None:
            self._index_job.cancel()
        if self.owns_runner:
            self.runner.shutdown()
