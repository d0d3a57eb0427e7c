"""MNIST digits redrawn with a round pen (core/redraw.py)."""

import numpy as np
from PIL import Image, ImageDraw

from mnist_desk.core.grouping import label_components
from mnist_desk.core.redraw import redraw, skeleton_strokes, thin


def _ring(size: int = 60, width: int = 9) -> np.ndarray:
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).ellipse((8, 8, size - 8, size - 8), outline=255, width=width)
    return np.asarray(image) > 127


def test_thin_bar_becomes_a_one_pixel_line():
    mask = np.zeros((1, 20, 40), bool)
    mask[0, 8:13, 5:35] = True
    skeleton = thin(mask)[0]
    columns = skeleton[:, 10:30].sum(axis=0)
    assert (columns == 1).all()  # one pixel tall along the bar's middle
    assert skeleton[:, 10:30].any(axis=1).sum() == 1  # and straight
    assert label_components(skeleton)[1] == 1


def test_thin_keeps_a_loop_closed():
    ring = _ring()
    skeleton = thin(ring[None])[0]
    assert skeleton.sum() < ring.sum() / 4
    _, ink_parts = label_components(skeleton)
    grown = np.pad(skeleton, 1)  # one pixel wider, so diagonal steps also wall the inside off
    grown = np.logical_or.reduce(
        [grown[1 + dy : grown.shape[0] - 1 + dy, 1 + dx : grown.shape[1] - 1 + dx]
         for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    )  # fmt: skip
    _, background_parts = label_components(~grown)
    assert ink_parts == 1
    assert background_parts == 2  # inside and outside: the zero is still a zero


def test_skeleton_strokes_link_neighbours_once():
    skeleton = np.zeros((5, 5), bool)
    skeleton[2, 1:4] = True
    skeleton[0, 0] = True
    strokes = skeleton_strokes(skeleton, scale=10.0)
    assert [(0.0, 0.0)] in strokes  # a lone pixel is a dot
    segments = [s for s in strokes if len(s) == 2]
    assert sorted(segments) == [[(10.0, 20.0), (20.0, 20.0)], [(20.0, 20.0), (30.0, 20.0)]]


def _digit_zero() -> np.ndarray:
    image = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(image).ellipse((8, 4, 20, 24), outline=255, width=3)
    return np.asarray(image)


def test_redraw_gives_mnist_images_of_the_same_shape():
    zero = _digit_zero()
    blank = np.zeros((28, 28), np.uint8)
    images, kept = redraw(np.stack([zero, blank, zero]), np.random.default_rng(0))
    assert kept.tolist() == [0, 2]  # the blank one has nothing to redraw
    assert images.dtype == np.uint8 and images.shape == (2, 28, 28)
    for image in images:
        rows, cols = np.nonzero(image)
        assert max(np.ptp(rows), np.ptp(cols)) <= 20  # fitted into 20×20 like MNIST
        assert np.corrcoef(image.ravel(), zero.ravel())[0, 1] > 0.6
        _, holes = label_components(image < 64)
        assert holes == 2  # still a closed zero


def test_redraw_pen_sets_the_ink():
    zero = np.stack([_digit_zero()])
    thin_pen, _ = redraw(zero, np.random.default_rng(0), pen=(0.06, 0.06))
    bold_pen, _ = redraw(zero, np.random.default_rng(0), pen=(0.2, 0.2))
    assert bold_pen.sum() > 1.5 * thin_pen.sum()
