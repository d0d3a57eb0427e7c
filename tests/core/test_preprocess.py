import numpy as np
import pytest
from PIL import Image

from mnist_desk.core.handwriting import STYLES, our_digit
from mnist_desk.core.preprocess import (
    CENTRE,
    ImageError,
    center_of_mass,
    fit_to_mnist,
    ink_bbox,
    load_image_as_mnist,
    model_pen_width,
    render_strokes,
    strokes_to_mnist,
)


def _longer_side(image):
    top, left, bottom, right = ink_bbox(image, threshold=0.0)
    return max(bottom - top, right - left), (bottom - top, right - left)


def test_bbox_and_centre_of_mass_on_a_known_square():
    image = np.zeros((10, 10))
    image[2:5, 3:8] = 1.0
    assert ink_bbox(image) == (2, 3, 5, 8)
    assert center_of_mass(image) == pytest.approx((3.0, 5.0))


@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("style", sorted(STYLES))
def test_drawn_digits_become_mnist_style(digit, style):
    strokes, pen = our_digit(digit, style)
    image = strokes_to_mnist(strokes, pen)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.9
    longer, _ = _longer_side(image)
    assert 19 <= longer <= 21  # the longer side fits MNIST's 20-pixel box
    row, col = center_of_mass(image)
    assert abs(row - CENTRE) <= 0.5 and abs(col - CENTRE) <= 0.5


def test_a_thin_one_stays_thin():
    image = strokes_to_mnist([[(140, 40), (141, 240)]], pen_width=12)
    _, (height, width) = _longer_side(image)
    assert height >= 19 and width <= 4


def test_position_and_scale_on_the_pad_do_not_matter():
    strokes, pen = our_digit(3, "plain")
    base = strokes_to_mnist(strokes, pen)
    moved = [[(x * 0.5 + 20, y * 0.5 + 100) for x, y in s] for s in strokes]
    np.testing.assert_allclose(strokes_to_mnist(moved, pen * 0.5), base, atol=0.02)


def test_a_digit_drawn_small_or_large_with_one_pen_reads_the_same():
    """The model sees one relative stroke width: the pad's pen does not make a small digit
    bold and a large one thin (new writers were read worst at those extremes)."""
    strokes, pen = our_digit(3, "plain")
    small = [[(x * 0.6 + 40, y * 0.6 + 40) for x, y in s] for s in strokes]
    np.testing.assert_allclose(
        strokes_to_mnist(small, pen), strokes_to_mnist(strokes, pen), atol=0.02
    )
    thick = strokes_to_mnist(strokes, pen * 1.4)
    np.testing.assert_allclose(thick, strokes_to_mnist(strokes, pen), atol=0.02)


def test_the_model_pen_keeps_within_half_to_twice_the_pads_pen():
    assert model_pen_width([[(0.0, 0.0), (2.0, 1.0)]], 10.0) == 5.0  # a dot-sized mark
    assert model_pen_width([[(0.0, 0.0), (1000.0, 0.0)]], 10.0) == 20.0  # a huge stroke
    assert model_pen_width([[(0.0, 0.0), (0.0, 100.0)]], 10.0) == pytest.approx(13.0)
    assert model_pen_width([], 10.0) == 10.0


def test_empty_drawings_give_none():
    assert strokes_to_mnist([], 10) is None
    assert strokes_to_mnist([[]], 10) is None
    assert fit_to_mnist(np.zeros((30, 30))) is None


def test_a_single_click_is_a_dot():
    image = render_strokes([[(50.0, 50.0)]], pen_width=10)
    assert image is not None and image.max() == 1.0


def _digit_png(tmp_path, name="seven.png", invert=False, mode="L"):
    strokes, pen = our_digit(7, "plain")
    ink = render_strokes(strokes, pen, longest_side_px=180)
    array = np.pad(ink, 30)
    if invert:
        array = 1 - array
    path = tmp_path / name
    Image.fromarray((array * 255).astype(np.uint8)).convert(mode).save(path)
    return path


def test_light_and_dark_backgrounds_give_the_same_digit(tmp_path):
    dark = load_image_as_mnist(_digit_png(tmp_path, "dark.png"))
    light = load_image_as_mnist(_digit_png(tmp_path, "light.png", invert=True))
    np.testing.assert_allclose(dark, light, atol=0.02)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "CMYK", "I;16", "LA"])
def test_image_modes_are_read(tmp_path, mode):
    reference = load_image_as_mnist(_digit_png(tmp_path, "ref.png"))
    suffix = ".tif" if mode == "CMYK" else ".png"
    if mode == "CMYK":
        path = _digit_png(tmp_path, "cmyk" + suffix, invert=True, mode="CMYK")
    else:
        path = _digit_png(tmp_path, f"m{suffix}", invert=True, mode=mode)
    image = load_image_as_mnist(path)
    assert np.abs(image - reference).mean() < 0.03


def test_transparent_background_with_dark_ink(tmp_path):
    strokes, pen = our_digit(7, "plain")
    ink = np.pad(render_strokes(strokes, pen, longest_side_px=120), 20)
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = (ink * 255).astype(np.uint8)  # black ink, alpha carries the shape
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba, "RGBA").save(path)
    reference = load_image_as_mnist(_digit_png(tmp_path, "ref.png"))
    assert np.abs(load_image_as_mnist(path) - reference).mean() < 0.03


def test_animated_gif_uses_the_first_frame(tmp_path):
    first = Image.open(_digit_png(tmp_path, "a.png"))
    blank = Image.new("L", first.size, 0)
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[blank])
    assert load_image_as_mnist(path).max() > 0.5


def test_huge_image_is_shrunk_not_refused(tmp_path):
    big = Image.new("L", (10000, 10000), 255)
    big.paste(0, (3000, 2000, 7000, 8000))  # a dark bar on white: a "1"
    path = tmp_path / "huge.png"
    big.save(path)
    image = load_image_as_mnist(path)
    assert image.shape == (28, 28) and image.max() > 0.9


@pytest.mark.parametrize(
    "maker, message",
    [
        (lambda p: Image.new("L", (1, 1), 0).save(p), "blank"),
        (lambda p: Image.new("L", (64, 64), 255).save(p), "blank"),
        (lambda p: p.write_bytes(b"this is not an image"), "not an image"),
        (lambda p: p.write_bytes(b""), "not an image"),
    ],
)
def test_bad_images_give_one_clear_sentence(tmp_path, maker, message):
    path = tmp_path / "bad.png"
    maker(path)
    with pytest.raises(ImageError, match=message):
        load_image_as_mnist(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        load_image_as_mnist(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image_as_mnist(tmp_path)


def test_mnist_digits_map_to_themselves(small_data):
    """Our recipe is MNIST's: most real test digits come back unchanged, the rest shifted by 1 px."""
    unchanged = 0
    for original in small_data.test.images[:100].numpy() / 255.0:
        again = fit_to_mnist(original)
        unchanged += np.abs(again - original).mean() < 1e-6
        assert abs(center_of_mass(again)[0] - CENTRE) <= 0.5
    assert unchanged >= 60


def test_a_background_digit_is_read_as_it_is_and_strokes_add_to_it():
    from mnist_desk.core.preprocess import Drawing

    strokes, pen = our_digit(1, "plain")
    one = strokes_to_mnist(strokes, pen)
    assert np.array_equal(Drawing([], pen, one).to_mnist(), one)
    bar = [[(60.0, 20.0), (220.0, 20.0)]]
    combined = Drawing(bar, pen, one).to_mnist()
    assert combined.shape == (28, 28)
    longer, (height, width) = _longer_side(combined)
    assert width > 10  # the bar widened the ink box beyond the thin "1"
    assert Drawing([], pen, None).is_empty() and not Drawing(bar, pen, None).is_empty()


def _grey_pencil_palette(tmp_path, digit, transparent):
    """A soft grey pencil line, anti-aliased onto white, saved as a 64-colour palette PNG.

    Most of its opaque pixels are lighter than mid-grey: the edges outnumber the core.
    """
    strokes, pen = our_digit(digit, "plain")
    ink = np.pad(render_strokes(strokes, pen / 2, longest_side_px=800), 160)
    grey = Image.fromarray(((1 - 0.45 * ink) * 255).astype(np.uint8))
    small = grey.resize((ink.shape[1] // 8, ink.shape[0] // 8), Image.Resampling.BOX)
    palette = small.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    path = tmp_path / f"{digit}{'-trns' if transparent else ''}.png"
    if transparent:  # the paper's palette entry becomes transparent (a tRNS chunk)
        palette.save(path, transparency=int(np.asarray(palette)[0, 0]))
    else:
        palette.save(path)
    return path


@pytest.mark.parametrize("digit", [7, 4])
def test_a_palette_png_with_a_transparent_background_reads_as_without(tmp_path, digit):
    plain = load_image_as_mnist(_grey_pencil_palette(tmp_path, digit, transparent=False))
    see_through = _grey_pencil_palette(tmp_path, digit, transparent=True)
    assert "transparency" in Image.open(see_through).info
    np.testing.assert_allclose(load_image_as_mnist(see_through), plain, atol=0.02)


def test_light_ink_on_a_transparent_black_background(tmp_path):
    strokes, pen = our_digit(7, "plain")
    ink = np.pad(render_strokes(strokes, pen, longest_side_px=120), 20)
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., :3] = 255  # white ink; the transparent pixels are (0, 0, 0, 0)
    rgba[..., 3] = (ink * 255).astype(np.uint8)
    path = tmp_path / "white-on-clear.png"
    Image.fromarray(rgba, "RGBA").save(path)
    reference = load_image_as_mnist(_digit_png(tmp_path, "ref.png"))
    assert np.abs(load_image_as_mnist(path) - reference).mean() < 0.03


def test_a_fifo_named_png_is_refused_at_once(tmp_path):
    import os
    import time

    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    started = time.perf_counter()
    with pytest.raises(ImageError, match="not a regular file"):
        load_image_as_mnist(fifo)
    assert time.perf_counter() - started < 1.0
