"""numpy ↔ QImage helpers for 28×28 digits."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap


def digit_to_qimage(image28: np.ndarray, saliency: np.ndarray | None = None) -> QImage:
    """Grey digit, or with a red overlay where ``saliency`` is high."""
    gray = (np.clip(image28, 0, 1) * 255).astype(np.uint8)
    if saliency is None:
        rgb = np.repeat(gray[..., None], 3, axis=2)
    else:
        heat = (np.clip(saliency, 0, 1) * 255).astype(np.float32)
        rgb = np.stack([np.maximum(gray, heat), gray * 0.6, gray * 0.6], axis=2).astype(np.uint8)
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def digit_pixmap(image28: np.ndarray, side: int, saliency: np.ndarray | None = None) -> QPixmap:
    return QPixmap.fromImage(digit_to_qimage(image28, saliency)).scaled(
        side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )
