"""Number mode on the pad (issue 14), driven by real mouse events."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from mnist_desk.core import grouping
from mnist_desk.core.handwriting import our_digit
from tests.ui.conftest import draw_with_mouse


def number_strokes(digits, step=250.0):
    """Our plain digits side by side on number mode's wide pad (logical units)."""
    strokes = []
    for i, digit in enumerate(digits):
        placed, _pen = our_digit(digit, "plain")
        strokes += [[(x + i * step - 60, y) for x, y in s] for s in placed]
    return strokes


def switch_to_number_mode(qtbot, window):
    qtbot.mouseClick(window.pad.number_check, Qt.MouseButton.LeftButton)
    assert window.pad.number_mode
    assert window.pad.canvas.logical_width > 2 * 280


def wait_for_number(qtbot, window, text, timeout=10000):
    qtbot.waitUntil(lambda: window.pad.digit_label.text() == text, timeout=timeout)


def test_writing_a_three_digit_number_reads_it(qtbot, make_window):
    window = make_window()
    switch_to_number_mode(qtbot, window)
    canvas = window.pad.canvas
    draw_with_mouse(qtbot, canvas, number_strokes([4, 2, 7]))
    assert len(canvas.strokes()) == 4  # the 4 has two strokes
    wait_for_number(qtbot, window, "427")
    label = window.pad.digit_label  # the whole number fits its label, none of it cut
    assert label.fontMetrics().horizontalAdvance("427") <= label.contentsRect().width()
    assert label.font().pointSize() >= 40  # and still reads as the big answer
    reading = window.pad.last_number
    assert [d.parts for d in reading.digits] == [[0, 1], [2], [3]]
    assert len(canvas._boxes) == 3  # a thin box around each digit's strokes
    buttons = window.pad.number_strip.buttons
    assert [b.text().split("\n")[0] for b in buttons] == ["4", "2", "7"]
    assert all("%" in b.text() for b in buttons)

    qtbot.mouseClick(buttons[1], Qt.MouseButton.LeftButton)  # the 2's own details
    assert window.pad.bars.values[0][0] == 2
    assert window.pad.selected_digit == 1
    assert [selected for *_box, _flag, selected in canvas._boxes] == [False, True, False]
    qtbot.mouseClick(buttons[2], Qt.MouseButton.LeftButton)
    assert window.pad.bars.values[0][0] == 7
    assert np.array_equal(window.pad.last_number.digits[2].image28.shape, (28, 28))


def test_undo_redo_and_eraser_work_per_stroke(qtbot, make_window):
    from tests.ui.conftest import widget_point

    window = make_window()
    switch_to_number_mode(qtbot, window)
    canvas = window.pad.canvas
    draw_with_mouse(qtbot, canvas, number_strokes([1, 4, 0]))
    wait_for_number(qtbot, window, "140")
    window.undo_action.trigger()  # the 0 goes
    wait_for_number(qtbot, window, "14")
    window.redo_action.trigger()
    wait_for_number(qtbot, window, "140")
    x, y = canvas.strokes()[0][-1]  # the bottom of the 1, away from the others
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    wait_for_number(qtbot, window, "40")
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.pad.last_number is None)
    assert window.pad.digit_label.text() == "" and canvas._boxes == []
    assert window.pad.bars.empty_message() == "Each digit's probabilities appear here."


def test_number_mode_is_remembered_and_digit_mode_is_unchanged(qtbot, make_window):
    from tests.ui.conftest import draw_digit

    window = make_window()
    switch_to_number_mode(qtbot, window)
    window.save_settings()
    again = make_window()
    assert again.pad.number_mode and again.pad.number_check.isChecked()
    qtbot.mouseClick(again.pad.number_check, Qt.MouseButton.LeftButton)  # back to one digit
    assert not again.pad.number_mode and again.pad.canvas.logical_width == 280
    draw_digit(qtbot, again.pad.canvas, 7)
    qtbot.waitUntil(lambda: again.pad.digit_label.text() == "7", timeout=10000)
    assert len(again.pad.bars.values) == 3 and again.pad.canvas._boxes == []
    again.save_settings()
    fresh_pad = make_window(wait=False).pad
    assert not fresh_pad.number_mode
    fresh = fresh_pad.digit_label  # the one digit looks as it always did
    assert again.pad.digit_label.font() == fresh.font()
    assert again.pad.digit_label.width() == fresh.width()


def test_opening_an_image_in_number_mode_reads_a_number(qtbot, make_window, tmp_path):
    from PIL import Image, ImageDraw

    window = make_window()
    switch_to_number_mode(qtbot, window)
    strokes = number_strokes([3, 5], step=200)
    image = Image.new("L", (520, 300), 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=18, joint="curve")
    path = tmp_path / "thirty-five.png"
    image.save(path)
    window.open_image(str(path))
    wait_for_number(qtbot, window, "35")
    assert "thirty-five.png" in window.pad.state_label.text()
    assert window.pad.canvas._boxes == []  # the boxes belong to the image, not the pad
    blank = tmp_path / "blank.png"
    Image.new("L", (50, 50), 255).save(blank)
    window.open_image(str(blank))
    qtbot.waitUntil(lambda: window.pad.error_label.isVisible(), timeout=10000)
    assert "blank" in window.pad.error_label.text()


def test_keeping_and_saving_in_number_mode(qtbot, make_window, tmp_path):
    from PIL import Image

    window = make_window()
    switch_to_number_mode(qtbot, window)
    draw_with_mouse(qtbot, window.pad.canvas, number_strokes([7, 1]))
    wait_for_number(qtbot, window, "71")
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_7)  # a number is not one digit to keep
    assert "single digits" in window.pad.error_label.text()
    assert window.my_digits_tab.store.all() == []
    assert len(window.pad.canvas.strokes()) == 2  # the drawing is still there
    saved = window.save_drawing(str(tmp_path / "number.png"))
    assert saved
    with Image.open(saved) as image:
        assert image.width > 2 * image.height  # the whole wide pad
    with Image.open(tmp_path / "number_28x28.png") as small:
        assert small.size == (28, 28)


def hook_and_bar(left=60.0):
    """A 4 whose hook only touches its bar: one digit or two, as the pen's pauses say."""
    from mnist_desk.core.handwriting import catmull_rom

    pen = 12.0
    hook = catmull_rom([(left + 20, 40.0), (left, 130.0), (left + 80, 130.0)])
    bar = catmull_rom([(left + 80 + pen * 0.2, 60.0), (left + 80 + pen * 0.2, 190.0)])
    return [[tuple(p) for p in hook], [tuple(p) for p in bar]]


def test_the_pad_times_each_stroke_and_a_long_pause_ends_a_digit(qtbot, make_window):
    window = make_window()
    switch_to_number_mode(qtbot, window)
    canvas = window.pad.canvas
    canvas.set_pen_width(12.0)
    draw_with_mouse(qtbot, canvas, hook_and_bar())  # drawn in one go
    qtbot.waitUntil(lambda: window.pad.last_number is not None, timeout=10000)
    times = canvas.drawing().times
    assert len(times) == 2 and times[0][0] <= times[0][1] <= times[1][0] <= times[1][1]
    qtbot.waitUntil(lambda: len(window.pad.last_number.digits) == 1, timeout=10000)

    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    hook, bar = hook_and_bar()
    draw_with_mouse(qtbot, canvas, [hook])
    qtbot.wait(1300)  # longer than a pause inside one digit
    draw_with_mouse(qtbot, canvas, [bar])
    times = canvas.drawing().times
    assert times[1][0] - times[0][1] > 1.0
    qtbot.waitUntil(lambda: len(window.pad.last_number.digits) == 2, timeout=10000)

    window.undo_action.trigger()  # the bar goes, and its timing with it
    assert len(canvas.drawing().times) == 1 and canvas.drawing().times[0] == times[0]
    window.redo_action.trigger()
    assert canvas.drawing().times == times
    qtbot.waitUntil(lambda: len(window.pad.last_number.digits) == 2, timeout=10000)
    from tests.ui.conftest import widget_point

    x, y = hook[0]  # the eraser takes the hook, and only the hook's timing
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    assert len(canvas.strokes()) == 1 and canvas.drawing().times == [times[1]]
    window.undo_action.trigger()
    assert canvas.drawing().times == times
    canvas.set_strokes(canvas.strokes())  # put there by code (a kept digit): no timings
    assert canvas.drawing().times is None


def test_add_to_my_digits_is_off_in_number_mode_and_says_why(qtbot, make_window):
    window = make_window()
    pad = window.pad
    assert pad.add_button.isEnabled()
    switch_to_number_mode(qtbot, window)
    draw_with_mouse(qtbot, pad.canvas, number_strokes([4, 2]))
    wait_for_number(qtbot, window, "42")
    assert not pad.add_button.isEnabled()  # its ten choices would each be refused
    assert "untick Number" in pad.add_button.toolTip()
    qtbot.mouseClick(pad.add_button, Qt.MouseButton.LeftButton)
    assert not pad.add_button.menu().isVisible()
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton)
    assert pad.add_button.isEnabled() and "0–9" in pad.add_button.toolTip()


def test_a_number_read_from_a_file_says_so_within_its_two_lines(
    qtbot, make_window, tmp_path, monkeypatch
):
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    window = make_window()
    switch_to_number_mode(qtbot, window)
    image = Image.new("L", (120, 200), 255)
    image.paste(0, (55, 30, 65, 170))  # a one
    path = tmp_path / "the_number_on_my_door.png"
    image.save(path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(path), ""))
    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    wait_for_number(qtbot, window, "1")
    label = window.pad.state_label
    assert "the_number_on_my_door.png" in label.text()
    assert label.heightForWidth(label.width()) <= label.height()  # no line cut off
    full = "1 digit read from the_number_on_my_door.png. Click a digit for its details."
    assert label.toolTip() == ("" if label.text() == full else full)  # shortened: whole on hover


def test_a_scribble_of_too_many_strokes_says_so_instead_of_grinding(qtbot, make_window):
    window = make_window()
    switch_to_number_mode(qtbot, window)
    dashes = [[(30.0 + 5 * i, 60.0 + (i % 7) * 25), (33.0 + 5 * i, 64.0 + (i % 7) * 25)]
              for i in range(grouping.MAX_PARTS + 1)]  # fmt: skip
    draw_with_mouse(qtbot, window.pad.canvas, dashes)
    error = window.pad.error_label
    qtbot.waitUntil(lambda: "too many for a written number" in error.text(), timeout=10000)
    assert "TooManyParts" not in error.text() and "undo or clear some" in error.text()
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: error.isHidden() or not error.text(), timeout=10000)


def test_a_number_longer_than_twelve_digits_says_so_first(qtbot, make_window):
    """The two lines beside the number are cut to fit: that only 12 digits were read must
    come before the list of unsure ones, or it is the part that is cut."""
    window = make_window()
    switch_to_number_mode(qtbot, window)
    dashes = [[(30.0 + 55 * i, 130.0), (42.0 + 55 * i, 142.0)] for i in range(14)]
    draw_with_mouse(qtbot, window.pad.canvas, dashes)
    label = window.pad.state_label
    pad = window.pad
    qtbot.waitUntil(lambda: bool(pad.last_number and pad.last_number.too_many), timeout=10000)
    reading = pad.last_number
    assert reading.too_many == 2 and any(d.low_confidence for d in reading.digits)
    assert "only the first 12 are read (2 more)" in label.text()


def test_leaving_number_mode_clears_a_number_that_does_not_fit_the_square(qtbot, make_window):
    """A number left on the one-digit pad spilled over its margin and was read as one
    squeezed digit; a digit that fits the square stays."""
    window = make_window()
    pad = window.pad
    switch_to_number_mode(qtbot, window)
    draw_with_mouse(qtbot, pad.canvas, number_strokes([1, 9, 4]))
    wait_for_number(qtbot, window, "194")
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton)
    assert not pad.number_mode and pad.canvas.is_empty()
    qtbot.waitUntil(lambda: pad.last_probs is None and pad.digit_label.text() == "", timeout=5000)
    assert pad.canvas.can_undo()  # the number is not lost

    switch_to_number_mode(qtbot, window)
    draw_with_mouse(qtbot, pad.canvas, number_strokes([7]))
    wait_for_number(qtbot, window, "7")
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton)
    assert not pad.canvas.is_empty()
    qtbot.waitUntil(lambda: pad.digit_label.text() == "7", timeout=10000)


def test_the_details_show_the_newest_digit_until_one_is_clicked(qtbot, make_window):
    """After writing 4 2 7 the panel showed the 4 (an index kept from when the half-written 4
    was unsure); it follows the pen, and a clicked digit stays chosen."""
    window = make_window()
    pad = window.pad
    switch_to_number_mode(qtbot, window)
    draw_with_mouse(qtbot, pad.canvas, number_strokes([4, 2, 7]))
    wait_for_number(qtbot, window, "427")
    buttons = pad.number_strip.buttons
    assert pad.bars.values[0][0] == 7 and buttons[2].isChecked()

    qtbot.mouseClick(buttons[0], Qt.MouseButton.LeftButton)
    assert pad.bars.values[0][0] == 4
    more = [[(x + 3 * 250.0, y) for x, y in s] for s in number_strokes([1])]
    draw_with_mouse(qtbot, pad.canvas, more)
    wait_for_number(qtbot, window, "4271")
    assert pad.selected_digit == 0 and pad.bars.values[0][0] == 4

    qtbot.keyClick(pad.canvas, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: pad.last_number is None)
    draw_with_mouse(qtbot, pad.canvas, number_strokes([3, 5]))
    wait_for_number(qtbot, window, "35")
    assert pad.selected_digit == 1 and pad.bars.values[0][0] == 5
