"""Colour maps, numpy → QImage, and the small colour legends of the Network tab and the pad."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QLinearGradient, QPainter, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def _ramp(anchors: list[tuple[int, int, int]]) -> np.ndarray:
    """A 256-entry RGB table through evenly spaced anchor colours."""
    positions = np.linspace(0, 255, len(anchors))
    x = np.arange(256)
    table = np.stack([np.interp(x, positions, [a[c] for a in anchors]) for c in range(3)], 1)
    return table.astype(np.uint8)


# Dark → bright, readable in both themes: activations (0 is dark, strong is bright).
ACTIVATION = _ramp([(0, 0, 4), (60, 15, 110), (180, 55, 100), (250, 140, 30), (252, 253, 190)])
# Blue ← white → red: weights and explanations, where the sign matters.
DIVERGING = _ramp(
    [(33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43)]
)


def symmetric(lo: float, hi: float) -> tuple[float, float]:
    peak = max(abs(lo), abs(hi), 1e-12)
    return -peak, peak


def to_indices(array: np.ndarray, lo: float, hi: float) -> np.ndarray:
    span = hi - lo if hi > lo else 1.0
    return np.clip((np.nan_to_num(array, nan=lo) - lo) * (255.0 / span), 0, 255).astype(np.uint8)


def rgb_qimage(rgb: np.ndarray) -> QImage:
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


GAP = np.array([128, 128, 128], np.uint8)  # between tiles: neither end of any scale


def array_qimage(array: np.ndarray, lo: float, hi: float, table: np.ndarray) -> QImage:
    """Colour ``array`` through ``table`` (256 RGB rows), NaN cells in the gap colour.

    Written for speed: the Network tab colours every layer of every drawing, and the
    straightforward version (nan_to_num, a fancy index, a masked write) cost 0.7 ms for one
    layer of 32 maps against 0.13 ms here.
    """
    span = hi - lo if hi > lo else 1.0
    scaled = (np.asarray(array, np.float32) - np.float32(lo)) * np.float32(255.0 / span)
    np.clip(scaled, 0, 255, out=scaled)
    np.copyto(scaled, 256, where=np.isnan(scaled))  # row 256 of the table below: the gap
    indices = scaled.astype(np.uint16)
    return rgb_qimage(np.vstack([table, GAP[None]]).take(indices, axis=0))


def mosaic(maps: np.ndarray, columns: int, gap: int = 1) -> np.ndarray:
    """(C, H, W) → one (rows·(H+gap), columns·(W+gap)) array, NaN in the gaps."""
    count, h, w = maps.shape
    rows = -(-count // columns)
    cells = np.full((rows * columns, h + gap, w + gap), np.nan, np.float32)
    cells[:count, :h, :w] = maps
    # (rows, columns, H', W') → (rows, H', columns, W'): each row of tiles side by side
    tiles = cells.reshape(rows, columns, h + gap, w + gap).transpose(0, 2, 1, 3)
    return tiles.reshape(rows * (h + gap), columns * (w + gap))


def grey_qimage(image: np.ndarray) -> QImage:
    """A uint8 greyscale image (e.g. an MNIST training digit) as it is, white on black."""
    grey = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = grey.shape
    return QImage(grey.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def explanation_qimage(image28: np.ndarray, heat: np.ndarray) -> QImage:
    """The grey digit under a blue–red map: red raises the class's score, blue lowers it."""
    gray = np.clip(np.asarray(image28, np.float32), 0, 1)[..., None] * 255 * 0.8
    colour = DIVERGING[to_indices(heat, -1.0, 1.0)].astype(np.float32)
    alpha = np.clip(np.abs(heat), 0, 1)[..., None] * 0.8
    return rgb_qimage(gray * (1 - alpha) + colour * alpha)


def explanation_pixmap(image28: np.ndarray, heat: np.ndarray, side: int) -> QPixmap:
    return QPixmap.fromImage(explanation_qimage(image28, heat)).scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class ColourScale(QWidget):
    """A thin gradient with its low and high values written at the ends."""

    def __init__(self, table: np.ndarray = ACTIVATION, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.low_text, self.high_text, self.middle_text = "", "", ""
        self.setMinimumHeight(30)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_range(self, lo: float, hi: float, middle: str = "") -> None:
        self.low_text, self.high_text, self.middle_text = f"{lo:.3g}", f"{hi:.3g}", middle
        self.setToolTip(f"Colour scale of this layer: {lo:.4g} (dark) to {hi:.4g} (bright).")
        self.update()

    def set_labels(self, low: str, high: str, middle: str = "") -> None:
        self.low_text, self.high_text, self.middle_text = low, high, middle
        self.update()

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter = QPainter(self)
        bar = QRectF(0, 0, self.width(), 10)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop in (0, 64, 128, 192, 255):
            r, g, b = (int(v) for v in self.table[stop])
            gradient.setColorAt(stop / 255, QColor(r, g, b))
        painter.fillRect(bar, gradient)
        painter.setPen(self.palette().windowText().color())
        text_rect = QRectF(0, 12, self.width(), self.height() - 12)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, self.low_text)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter, self.middle_text)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignRight, self.high_text)
        painter.end()


class ExplanationLegend(ColourScale):
    """Says which class the map explains and what its colours mean."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(DIVERGING, parent)
        self.explained = ""

    def explain(self, class_name: str, method: str) -> None:
        self.explained = class_name
        self.set_labels("lowers", "raises", f"the score of {class_name}")
        self.setToolTip(
            f"{method}: red areas raised the score of {class_name}, blue areas lowered it; "
            "white had no effect."
        )
