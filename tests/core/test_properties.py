"""Property-based: any stroke list gives a sane 28×28 image or None, never an exception."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mnist_desk.core.preprocess import CENTRE, center_of_mass, ink_bbox, strokes_to_mnist

coordinate = st.floats(min_value=-50, max_value=600, allow_nan=False, allow_infinity=False)
point = st.tuples(coordinate, coordinate)
stroke = st.lists(point, min_size=0, max_size=30)
drawing = st.lists(stroke, min_size=0, max_size=6)
pen = st.floats(min_value=0.5, max_value=60)


@settings(max_examples=150, deadline=None)
@given(drawing, pen)
def test_preprocessing_invariants(strokes, pen_width):
    image = strokes_to_mnist(strokes, pen_width)
    if not any(strokes):
        assert image is None
        return
    assert image is not None
    assert image.shape == (28, 28)
    assert np.isfinite(image).all()
    assert image.min() >= 0 and image.max() <= 1
    row, col = center_of_mass(image)
    top, left, bottom, right = ink_bbox(image)
    # Centred within half a pixel (integer placement, as MNIST), unless a lopsided shape
    # had to be stopped at the border so that no ink is lost.
    half = 0.5 + 1e-4  # a symmetric shape can sit exactly between two pixels
    assert abs(row - CENTRE) <= half or top == 0 or bottom == 28
    assert abs(col - CENTRE) <= half or left == 0 or right == 28
    assert max(bottom - top, right - left) in (19, 20, 21)
