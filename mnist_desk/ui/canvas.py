"""DrawingCanvas: strokes kept as vectors in a fixed logical square, so resizing loses nothing."""

from __future__ import annotations

import math
import time

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from mnist_desk.core.handwriting import default_pen_width
from mnist_desk.core.preprocess import Drawing
from mnist_desk.ui.images import digit_to_qimage

LOGICAL_SIDE = 280.0  # stroke coordinates live in 0..280, whatever the widget's size
THROTTLE_MS = 30

Stroke = list[tuple[float, float]]


class DrawingCanvas(QWidget):
    """Left button draws, right button erases whole strokes; undo/redo per action."""

    drawing_changed = Signal(object)  # core.preprocess.Drawing (strokes in logical units)
    stroke_finished = Signal()
    history_changed = Signal(bool, bool)  # can undo, can redo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(
            "Draw a digit with the left mouse button (or a pen).\n"
            "Right button erases a stroke. Ctrl+Z undoes, Esc clears."
        )
        self._strokes: list[Stroke] = []
        self._background: np.ndarray | None = None  # an opened 28×28 digit to draw over
        self._background_image: QImage | None = None
        self._current: Stroke | None = None
        # (start, end) time.monotonic() of each stroke, None for strokes put there by code;
        # kept beside the strokes through undo, redo and the eraser.
        self._times: list[tuple[float, float] | None] = []
        self._current_start = 0.0
        self._erasing = False
        self._undo: list[tuple[list[Stroke], np.ndarray | None, list]] = []
        self._redo: list[tuple[list[Stroke], np.ndarray | None, list]] = []
        self.pen_width = default_pen_width(LOGICAL_SIDE)
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(THROTTLE_MS)
        self._emit_timer.timeout.connect(self._emit_now)
        self.logical_width = LOGICAL_SIDE  # wider in number mode (issue 14)
        self._boxes: list[tuple[tuple[float, float, float, float], bool, bool]] = []
        # The finished strokes painted once into an image, reused until they change (every
        # change assigns a new list to ``_strokes``) or the geometry does: a repaint for a
        # growing stroke or for the number's boxes then blits it instead of redrawing every
        # path (8 digits' strokes took about 4 ms per paint).
        self._ink: tuple[list, tuple, QImage] | None = None
        self._keyboard_focus = False  # reached with Tab: show it, as buttons do

    # ----- public API -------------------------------------------------------------------
    def strokes(self) -> list[Stroke]:
        strokes = [list(s) for s in self._strokes]
        if self._current:
            strokes.append(list(self._current))
        return strokes

    def is_empty(self) -> bool:
        return not self._strokes and not self._current and self._background is None

    def stroke_times(self) -> list[tuple[float, float]] | None:
        """(start, end) of every stroke, the one being drawn ending now; None if any is unknown."""
        times = list(self._times)
        if self._current:
            times.append((self._current_start, time.monotonic()))
        return None if any(t is None for t in times) else times

    def drawing(self) -> Drawing:
        return Drawing(
            self.strokes(),
            float(self.pen_width),
            self._background,
            LOGICAL_SIDE,
            self.stroke_times(),
        )

    def background(self) -> np.ndarray | None:
        return self._background

    def set_background(self, image28: np.ndarray | None) -> None:
        """Show a 28×28 digit to draw over (undoable); the strokes are cleared."""
        self._push_undo()
        self._strokes = []
        self._times = []
        self._set_background(image28)
        self._changed()

    def _set_background(self, image28: np.ndarray | None) -> None:
        self._background = None if image28 is None else np.asarray(image28, np.float32)
        self._background_image = None if image28 is None else digit_to_qimage(self._background)

    def set_pen_width(self, width: float) -> None:
        self.pen_width = float(width)
        self.update()
        self._emit_now()

    def set_strokes(self, strokes: list[Stroke]) -> None:
        """Replace the drawing on a clean pad (undoable), e.g. to show a stored digit.

        The background goes too: strokes drawn over an opened image would be read as one digit.
        """
        self._push_undo()
        self._strokes = [list(map(tuple, s)) for s in strokes if s]
        self._times = [None] * len(self._strokes)  # not drawn here: no pauses to read
        self._set_background(None)
        self._changed()

    def clear(self) -> None:
        if self.is_empty():
            return
        self._push_undo()
        self._strokes = []
        self._times = []
        self._current = None
        self._set_background(None)
        self._changed()

    def undo(self) -> None:
        if not self._undo:
            return
        self._redo.append(self._snapshot())
        self._restore(self._undo.pop())

    def redo(self) -> None:
        if not self._redo:
            return
        self._undo.append(self._snapshot())
        self._restore(self._redo.pop())

    def _snapshot(self) -> tuple[list[Stroke], np.ndarray | None, list]:
        return list(self._strokes), self._background, list(self._times)

    def _restore(self, snapshot) -> None:
        self._strokes, background, self._times = snapshot
        if background is not self._background:
            self._set_background(background)
        self._changed()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def set_logical_width(self, width: float) -> None:
        """A wider writing area (number mode); the strokes keep their logical coordinates."""
        self.logical_width = float(width)
        self._boxes = []
        self.update()

    def set_boxes(self, boxes: list) -> None:
        """Thin frames drawn over the strokes: (x0, y0, x1, y1 logical, flagged, selected)."""
        self._boxes = [(tuple(b[:4]), bool(b[4]), bool(b[5])) for b in boxes]
        self.update()

    # ----- geometry ---------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(round(420 * self.logical_width / LOGICAL_SIDE), 420)

    def _square(self) -> QRectF:
        """The drawing area in widget pixels: a square in digit mode, wider in number mode."""
        aspect = self.logical_width / LOGICAL_SIDE
        height = min(self.height(), self.width() / aspect)
        width = height * aspect
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def _scale(self) -> float:
        return self._square().height() / LOGICAL_SIDE

    def widget_point(self, x: float, y: float) -> QPoint:
        """Where logical point (x, y) lies on the widget: ``_to_logical`` the other way, for
        whatever sends the pad real mouse events (tests, the latency benchmark)."""
        square = self._square()
        scale = self._scale()
        return QPoint(round(square.left() + x * scale), round(square.top() + y * scale))

    def _to_logical(self, pos: QPointF) -> tuple[float, float]:
        square = self._square()
        s = self._scale()
        x = (pos.x() - square.left()) / s
        y = (pos.y() - square.top()) / s
        return (min(max(x, 0.0), self.logical_width), min(max(y, 0.0), LOGICAL_SIDE))

    # ----- events -----------------------------------------------------------------------
    def focusInEvent(self, event) -> None:  # noqa: N802
        keyboard = (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason)
        self._keyboard_focus = event.reason() in keyboard
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:  # noqa: N802
        self._keyboard_focus = False
        super().focusOutEvent(event)
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self._keyboard_focus:
            self._keyboard_focus = False  # drawing now: the frame would only distract
            self.update()
        point = self._to_logical(event.position())
        if event.button() == Qt.MouseButton.LeftButton:
            self._current = [point]
            self._current_start = time.monotonic()
            self._redo.clear()
            self.update()
            self._schedule_emit()
        elif event.button() == Qt.MouseButton.RightButton:
            self._erasing = True
            self._push_undo()
            self._erase_at(point)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        point = self._to_logical(event.position())
        if self._current is not None:
            last = self._current[-1]
            if math.dist(last, point) >= 0.5:
                self._current.append(point)
                self.update()
                self._schedule_emit()
        elif self._erasing:
            self._erase_at(point)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._current is not None:
            self._push_undo()
            self._strokes = self._strokes + [self._current]
            self._times = self._times + [(self._current_start, time.monotonic())]
            self._current = None
            self._changed()
            self.stroke_finished.emit()
        elif event.button() == Qt.MouseButton.RightButton and self._erasing:
            self._erasing = False
            if self._undo and self._undo[-1][0] == self._strokes:
                self._undo.pop()  # nothing was erased: no empty undo step
            self.history_changed.emit(self.can_undo(), self.can_redo())

    def _erase_at(self, point: tuple[float, float]) -> None:
        reach = self.pen_width / 2 + 4
        keep = [not _stroke_near(s, point, reach) for s in self._strokes]
        if not all(keep):
            self._strokes = [s for s, k in zip(self._strokes, keep, strict=True) if k]
            self._times = [t for t, k in zip(self._times, keep, strict=True) if k]
            self._changed(record=False)

    # ----- state changes ----------------------------------------------------------------
    def _push_undo(self) -> None:
        self._undo.append(self._snapshot())
        self._redo.clear()

    def _changed(self, record: bool = True) -> None:
        self.update()
        self._emit_now()
        if record:
            self.history_changed.emit(self.can_undo(), self.can_redo())

    def _schedule_emit(self) -> None:
        if not self._emit_timer.isActive():
            self._emit_timer.start()

    def _emit_now(self) -> None:
        self._emit_timer.stop()
        self.drawing_changed.emit(self.drawing())

    # ----- painting ---------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        square = self._square()
        painter.fillRect(self.rect(), self.palette().window())
        painter.fillRect(square, QColor(12, 12, 12))
        if self._background_image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(square, self._background_image)
        painter.setPen(QPen(QColor(70, 70, 70), 1, Qt.PenStyle.DashLine))
        number_mode = self.logical_width != LOGICAL_SIDE
        inset = square.height() * (4 / 28)  # MNIST's 20×20 box inside 28×28, as a hint
        if not number_mode:
            painter.drawRect(square.adjusted(inset, inset, -inset, -inset))
        if self.is_empty():
            painter.setPen(QColor(150, 150, 150))
            hint = "Write a number here, left to right" if number_mode else "Draw a digit here"
            painter.drawText(square, Qt.AlignmentFlag.AlignCenter, hint)
        painter.drawImage(0, 0, self._ink_layer(square))
        if self._current:
            self._paint_strokes(painter, square, [self._current])
        self._paint_boxes(painter, square)
        if self._keyboard_focus and self.hasFocus():
            # The pad draws its own black square, so no style paints a focus frame on it:
            # without this, Tab onto the pad looks like focus went nowhere.
            painter.setPen(QPen(self.palette().color(self.palette().ColorRole.Highlight), 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(square.adjusted(1.5, 1.5, -1.5, -1.5))
        painter.end()

    def _ink_layer(self, square: QRectF) -> QImage:
        ratio = self.devicePixelRatioF()
        # what the picture depends on (the square follows from the size and logical width)
        key = (self.width(), self.height(), self.logical_width, self.pen_width, ratio)
        if self._ink is None or self._ink[0] is not self._strokes or self._ink[1] != key:
            image = QImage(
                round(self.width() * ratio),
                round(self.height() * ratio),
                QImage.Format.Format_ARGB32_Premultiplied,
            )
            image.setDevicePixelRatio(ratio)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_strokes(painter, square, self._strokes)
            painter.end()
            self._ink = (self._strokes, key, image)
        return self._ink[2]

    def _paint_boxes(self, painter: QPainter, square: QRectF) -> None:
        scale = self._scale()
        for (x0, y0, x1, y1), flagged, selected in self._boxes:
            colour = QColor(240, 150, 40) if flagged else QColor(80, 200, 120)
            pen = QPen(colour, 2 if selected else 1)
            pen.setCosmetic(True)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(
                QRectF(
                    square.left() + x0 * scale,
                    square.top() + y0 * scale,
                    (x1 - x0) * scale,
                    (y1 - y0) * scale,
                )
            )

    def _paint_strokes(self, painter: QPainter, square: QRectF, strokes: list[Stroke]) -> None:
        scale = square.height() / LOGICAL_SIDE
        pen = QPen(QColor(245, 245, 245), self.pen_width * scale)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        for stroke in strokes:
            path = QPainterPath()
            x0, y0 = stroke[0]
            path.moveTo(square.left() + x0 * scale, square.top() + y0 * scale)
            if len(stroke) == 1:
                path.lineTo(square.left() + x0 * scale + 0.01, square.top() + y0 * scale)
            for x, y in stroke[1:]:
                path.lineTo(square.left() + x * scale, square.top() + y * scale)
            painter.drawPath(path)

    def to_image(self, side: int = 560) -> QImage:
        """The drawing alone (white ink on black, no guides), for saving as PNG."""
        width = round(side * self.logical_width / LOGICAL_SIDE)
        image = QImage(width, side, QImage.Format.Format_RGB32)
        image.fill(QColor(0, 0, 0))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self._background_image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(0, 0, side, side), self._background_image)
        self._paint_strokes(painter, QRectF(0, 0, width, side), self.strokes())
        painter.end()
        return image


def _stroke_near(stroke: Stroke, point: tuple[float, float], reach: float) -> bool:
    px, py = point
    if len(stroke) == 1:
        return math.dist(stroke[0], point) <= reach
    for (ax, ay), (bx, by) in zip(stroke[:-1], stroke[1:], strict=True):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
        if math.dist((ax + t * dx, ay + t * dy), point) <= reach:
            return True
    return False
