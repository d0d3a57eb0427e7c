"""Strokes or image files → a 28×28 digit made the way MNIST was made.

MNIST's recipe (LeCun et al.): take the ink's bounding box, scale it so the longer side is
20 px keeping the aspect ratio (anti-aliased, hence grey levels), then place it in a 28×28
field so that its centre of mass sits at the centre. White ink on black, values in [0, 1].
Pure numpy/Pillow: the GUI, the CLI and the benchmarks all call this one module.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from mnist_desk.core.errors import UserError
from mnist_desk.core.files import is_regular_file

FIELD = 28
BOX = 20
# Where MNIST puts the centre of mass, in pixel-index coordinates: measured over the 10,000
# test digits it is (13.99, 14.01) ± 0.29, i.e. row/column 14 with integer placement.
CENTRE = 14.0
SUPERSAMPLE = 4  # strokes are drawn at 4×20 px and averaged down: real area anti-aliasing
# Larger images are shrunk first so a 10,000² photo costs no gigabytes. The budget is in
# pixels, not per side: a 3×20,000 strip is small, and shrinking its long side to 2048
# squashed its short side to one pixel row, so no background was left around the ink.
MAX_PIXELS = 2048 * 2048
THINNEST = 3  # a shrink keeps this many rows (or columns): background on both sides of a line
NOISE_FLOOR = 0.08  # image files: fainter pixels are background noise (JPEG, scanner)
# The pen the model sees, × the drawing's longer side: drawn digits read best when their
# strokes are as thick, relative to the digit, as about this (chosen on the two training
# writers a leave-writers-out model never saw; see ``model_pen_width``).
MODEL_PEN = 0.13

Point = Sequence[float]
Stroke = Sequence[Point]


class ImageError(UserError, ValueError):
    """An image that cannot be read as a digit; the message says why in one sentence."""


def ink_bbox(image: np.ndarray, threshold: float = 0.0) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) exclusive of the pixels brighter than ``threshold``."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    cols = np.flatnonzero((image > threshold).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, col) of the intensity-weighted centre, in pixel-centre coordinates."""
    total = float(image.sum())
    if total <= 0:
        return (image.shape[0] - 1) / 2, (image.shape[1] - 1) / 2
    rows = np.arange(image.shape[0], dtype=np.float64)
    cols = np.arange(image.shape[1], dtype=np.float64)
    return (
        float((image.sum(axis=1) * rows).sum() / total),
        float((image.sum(axis=0) * cols).sum() / total),
    )


def fit_to_mnist(ink: np.ndarray) -> np.ndarray | None:
    """Float image with bright ink → 28×28 float32; ``None`` when there is no ink."""
    bbox = ink_bbox(ink)
    if bbox is None:
        return None
    top, left, bottom, right = bbox
    crop = ink[top:bottom, left:right].astype(np.float32)
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_w = max(1, round(width * scale))
    new_h = max(1, round(height * scale))
    resized = Image.fromarray(crop, mode="F").resize((new_w, new_h), Image.Resampling.LANCZOS)
    small = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    com_row, com_col = center_of_mass(small)
    # Lopsided shapes (a dot far from a bar) would be pushed past the border: keep every
    # pixel of ink and give up a little centring instead.
    off_row = min(max(int(round(CENTRE - com_row)), 0), FIELD - new_h)
    off_col = min(max(int(round(CENTRE - com_col)), 0), FIELD - new_w)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[off_row : off_row + new_h, off_col : off_col + new_w] = small
    return field


def strokes_bbox(strokes: Sequence[Stroke], pen_width: float) -> tuple[float, float, float, float]:
    points = np.array([p for stroke in strokes for p in stroke], dtype=np.float64)
    radius = pen_width / 2
    x0, y0 = points.min(axis=0) - radius
    x1, y1 = points.max(axis=0) + radius
    return float(x0), float(y0), float(x1), float(y1)


def render_strokes(
    strokes: Sequence[Stroke], pen_width: float, longest_side_px: int = BOX * SUPERSAMPLE
) -> np.ndarray | None:
    """Draw the strokes (round caps and joins) cropped to their ink, longer side ``longest_side_px``."""
    strokes = [s for s in strokes if len(s) > 0]
    if not strokes or pen_width <= 0:
        return None
    x0, y0, x1, y1 = strokes_bbox(strokes, pen_width)
    scale = longest_side_px / max(x1 - x0, y1 - y0)
    width = max(1, int(np.ceil((x1 - x0) * scale)))
    height = max(1, int(np.ceil((y1 - y0) * scale)))
    return _draw_strokes(strokes, pen_width, (x0, y0), scale, (width, height))


def _draw_strokes(
    strokes: Sequence[Stroke],
    pen_width: float,
    origin: tuple[float, float],
    scale: float,
    size: tuple[int, int],
) -> np.ndarray:
    """White round-capped, round-joined strokes on black, ``(x - origin) * scale`` in pixels."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    line_width = max(1.0, pen_width * scale)
    radius = line_width / 2
    x0, y0 = origin
    for stroke in strokes:
        pts = [((x - x0) * scale, (y - y0) * scale) for x, y in stroke]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=int(round(line_width)), joint="curve")
        for px, py in pts:  # round caps at the ends, round joins at every vertex
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def strokes_to_mnist(
    strokes: Sequence[Stroke], pen_width: float, canvas_size: tuple[int, int] | None = None
) -> np.ndarray | None:
    """A drawing (strokes in canvas pixels) → 28×28 MNIST-style; ``None`` when empty.

    ``canvas_size`` is accepted for callers that have it; the crop to the ink makes the
    result independent of where and how large the person drew.
    """
    ink = render_strokes(strokes, model_pen_width(strokes, pen_width))
    return None if ink is None else fit_to_mnist(ink)


def model_pen_width(strokes: Sequence[Stroke], pen_width: float) -> float:
    """The pen to render ``strokes`` with for the model: ``MODEL_PEN`` × their longer side,
    kept within half to twice the pad's pen.

    Scaling the ink box to 20 px also scales the pen: with one pad pen a digit drawn small
    came out bold and one drawn large came out thin, and new writers' digits were read worst
    at the extremes (98.5% of syn at a relative width of 0.14, 97.7% at 0.05). A fixed
    relative width takes that away; the bounds keep dots and tiny marks the pad's pen.
    """
    points = [p for stroke in strokes for p in stroke]
    if not points or pen_width <= 0:
        return pen_width
    xy = np.asarray(points, dtype=np.float64)
    side = float(np.ptp(xy, axis=0).max())
    return float(np.clip(MODEL_PEN * side, 0.5 * pen_width, 2.0 * pen_width))


def render_strokes_in_frame(
    strokes: Sequence[Stroke], pen_width: float, frame: float, pixels: int
) -> np.ndarray:
    """Draw the strokes into a fixed ``frame``×``frame`` logical square at ``pixels`` px."""
    return _draw_strokes(strokes, pen_width, (0.0, 0.0), pixels / frame, (pixels, pixels))


@dataclass
class Drawing:
    """What the pad shows: strokes over an optional 28×28 background (an opened digit).

    Strokes are in the pad's logical square of side ``frame``; the background fills it.
    ``times`` gives each stroke's (start, end) in seconds when the pad saw it drawn (None when
    any stroke came from elsewhere): number mode lets a long pause end a digit.
    """

    strokes: list
    pen_width: float
    background: np.ndarray | None = None
    frame: float = 280.0
    times: list[tuple[float, float]] | None = None

    def is_empty(self) -> bool:
        return not any(self.strokes) and (self.background is None or not self.background.any())

    def to_mnist(self) -> np.ndarray | None:
        if self.background is None:
            return strokes_to_mnist(self.strokes, self.pen_width)
        if not any(self.strokes):
            return self.background  # already a 28×28 MNIST-style digit: read it as it is
        pixels = 280
        ink = render_strokes_in_frame(
            [s for s in self.strokes if s], self.pen_width, self.frame, pixels
        )
        under = Image.fromarray(self.background.astype(np.float32), mode="F").resize(
            (pixels, pixels), Image.Resampling.BILINEAR
        )
        return fit_to_mnist(np.maximum(ink, np.clip(np.asarray(under), 0, 1)))


def _flatten_to_gray(image: Image.Image) -> np.ndarray:
    """Any Pillow mode → float gray in [0, 1], transparent areas taken as background."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max() > 255 else 255.0
        return np.clip(array / peak, 0, 1).astype(np.float32)
    if image.mode == "F":
        array = np.asarray(image, dtype=np.float32)
        peak = float(array.max()) or 1.0
        return np.clip(array / peak if peak > 1 else array, 0, 1)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return _flatten_alpha(gray, rgba[..., 3])
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _flatten_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite onto the colour the transparent pixels carry, as a viewer without alpha would.

    A palette PNG's transparent entry keeps its colour (usually the paper's), so flattening
    onto it gives exactly the image without transparency. When that colour cannot be told
    from the ink (a black "transparent black" under black ink), the opacity is the ink.
    """
    clear = alpha < 0.01
    if not clear.any():
        return gray
    background = float(np.median(gray[clear]))
    opaque = alpha > 0.5
    contrast = float(np.abs(gray[opaque] - background).max()) if opaque.any() else 0.0
    if contrast >= 0.25:
        return np.clip(alpha * gray + (1.0 - alpha) * background, 0, 1)
    return 1.0 - np.clip(alpha, 0, 1)  # dark ink on white, for the next step


def image_ink(image: Image.Image) -> np.ndarray:
    """A Pillow image, light or dark background → ink in [0, 1] (bright = ink).

    Shared by one digit (``image_to_mnist``) and a number (``core.grouping``).
    """
    with contextlib.suppress(AttributeError, EOFError):
        image.seek(0)  # first frame of animated images
    image = _shrink(ImageOps.exif_transpose(image) or image)
    gray = _flatten_to_gray(image)
    if gray.size == 0:
        raise ImageError("the image has no pixels")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    ink = (background - gray) if background > 0.5 else (gray - background)
    ink = np.clip(ink, 0, None)
    peak = float(ink.max())
    if peak < 0.15:
        raise ImageError("the image is blank: no ink stands out from its background")
    ink = ink / peak
    ink[ink < NOISE_FLOOR] = 0.0
    return ink


def _shrink(image: Image.Image) -> Image.Image:
    """Within ``MAX_PIXELS``, keeping the aspect ratio but never thinner than ``THINNEST``.

    Only a strip thousands of times longer than wide meets that floor; MNIST's recipe then
    scales its short side below one pixel anyway, so the stretch costs nothing.
    """
    width, height = image.size
    if width * height <= MAX_PIXELS:
        return image
    factor = (MAX_PIXELS / (width * height)) ** 0.5
    new_w = max(min(width, THINNEST), round(width * factor))
    new_h = max(min(height, THINNEST), round(height * factor))
    if new_w * new_h > MAX_PIXELS:  # the floor added pixels: take them off the long side
        if new_w >= new_h:
            new_w = MAX_PIXELS // new_h
        else:
            new_h = MAX_PIXELS // new_w
    return image.resize((new_w, new_h), Image.Resampling.BOX)


def image_to_mnist(image: Image.Image) -> np.ndarray:
    """A Pillow image of one digit, light or dark background → 28×28 MNIST-style."""
    result = fit_to_mnist(image_ink(image))
    if result is None:
        raise ImageError("the image is blank: no ink stands out from its background")
    return result


def check_image_file(path: str | os.PathLike) -> str:
    """Refuse at once what cannot be an image file; a FIFO would block ``open`` forever."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise ImageError(f"{name} does not exist")
    if os.path.isdir(name):
        raise ImageError(f"{name} is a folder, not an image")
    if not is_regular_file(name):
        raise ImageError(f"{name} is not a regular file (a pipe or a device?), not an image")
    return name


def load_image_as_mnist(path: str | os.PathLike) -> np.ndarray:
    """Open an image file for ``predict`` and "Open image"; bad files raise ``ImageError``."""
    return read_image_file(path, image_to_mnist)


def read_image_file(path: str | os.PathLike, reader):
    """``reader(image)`` on an image file; any way the file is bad becomes one ``ImageError``."""
    name = check_image_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(name) as image:
                image.load()
                return reader(image)
    except ImageError as exc:
        raise ImageError(f"{os.path.basename(name)}: {exc}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{os.path.basename(name)} is not an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        size = _bomb_size(str(exc))
        raise ImageError(f"{os.path.basename(name)} is too large to open safely{size}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{os.path.basename(name)} could not be read ({exc})") from None


def _bomb_size(message: str) -> str:
    """The image's size and Pillow's limit, from its refusal, so the person sees why."""
    # Pillow says "Image size (N pixels) exceeds limit of M pixels"
    counts = re.findall(r"(\d+) pixels", message)
    if len(counts) != 2:
        return ""
    return f" ({int(counts[0]):,} pixels; images up to {int(counts[1]):,} pixels are read)"


def to_uint8(image28: np.ndarray) -> np.ndarray:
    return (np.clip(image28, 0, 1) * 255).round().astype(np.uint8)
