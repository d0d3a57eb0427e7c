import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.ui.conftest import draw_digit


def wait_for_digit(qtbot, window, text, timeout=10000):
    qtbot.waitUntil(lambda: window.pad.digit_label.text() == text, timeout=timeout)


@pytest.mark.parametrize("digit", [1, 7, 0])
def test_drawing_with_the_mouse_is_read(qtbot, make_window, digit):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, digit)
    wait_for_digit(qtbot, window, str(digit))
    assert window.pad.bars.values[0][0] == digit
    assert len(window.pad.bars.values) == 3  # top-3 by default
    assert window.pad.last_image.shape == (28, 28)


def test_empty_canvas_gives_no_prediction_and_no_error(qtbot, make_window):
    window = make_window()
    bars = window.pad.bars
    assert "Draw a digit" in bars.empty_message()  # a fresh window says what to do
    draw_digit(qtbot, window.pad.canvas, 4)
    wait_for_digit(qtbot, window, "4")
    assert bars.empty_message() == "" and bars.values[0][0] == 4
    qtbot.mouseClick(window.pad.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.pad.last_probs is None)
    # An empty state, not data: no big digit or dash, no bars, no digit ticks, one sentence.
    assert window.pad.digit_label.text() == ""
    assert bars.values == [] and "Draw a digit" in bars.empty_message()
    assert bars.getAxis("left")._tickLevels == [[]]
    assert "Draw a digit" in window.pad.state_label.text()
    assert not window.pad.error_label.isVisible()


def test_undo_redo_and_clear(qtbot, make_window):
    window = make_window()
    canvas = window.pad.canvas
    draw_digit(qtbot, canvas, 4)  # two strokes
    assert len(canvas.strokes()) == 2
    window.undo_action.trigger()
    assert len(canvas.strokes()) == 1
    window.redo_action.trigger()
    assert len(canvas.strokes()) == 2
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert canvas.is_empty()
    window.undo_action.trigger()
    assert len(canvas.strokes()) == 2
    wait_for_digit(qtbot, window, "4")


def test_right_button_erases_a_stroke(qtbot, make_window):
    from tests.ui.conftest import widget_point

    window = make_window()
    canvas = window.pad.canvas
    draw_digit(qtbot, canvas, 4)
    x, y = canvas.strokes()[1][-1]  # the bottom of the 4's bar, away from the other stroke
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=widget_point(canvas, x, y))
    assert len(canvas.strokes()) == 1
    window.undo_action.trigger()
    assert len(canvas.strokes()) == 2


def test_resizing_keeps_the_drawing_and_the_answer(qtbot, make_window):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 7)
    wait_for_digit(qtbot, window, "7")
    before = window.pad.canvas.strokes()
    probs = window.pad.last_probs.copy()
    window.resize(1300, 900)
    qtbot.wait(50)
    # any answer asked for by the resize has arrived, and it is still the same 7
    qtbot.waitUntil(lambda: window.pad._shown_id == window.pad._request_id, timeout=10000)
    assert window.pad.canvas.strokes() == before
    assert window.pad.digit_label.text() == "7"
    np.testing.assert_allclose(window.pad.last_probs, probs, atol=1e-3)


def test_inference_runs_off_the_gui_thread(qtbot, make_window):
    window = make_window()
    threads = []
    window.inference_worker.result.connect(
        lambda *_: threads.append(threading.get_ident()), Qt.ConnectionType.DirectConnection
    )
    draw_digit(qtbot, window.pad.canvas, 3)
    wait_for_digit(qtbot, window, "3")
    assert threads and threading.main_thread().ident not in threads
    assert window.inference_worker.thread() is not QApplication.instance().thread()


def test_a_flood_of_updates_stays_responsive_and_ends_on_the_newest(qtbot, make_window):
    from mnist_desk.core.handwriting import our_digit

    window = make_window()
    computed = []
    window.inference_worker.result.connect(
        lambda rid, *_: computed.append(rid), Qt.ConnectionType.DirectConnection
    )
    canvas = window.pad.canvas
    drawings = [our_digit(d % 10, "plain")[0] for d in range(500)]
    drawings[-1] = our_digit(8, "plain")[0]
    started = time.perf_counter()
    blocked = []
    for burst in range(0, len(drawings), 10):  # ten updates between two event-loop turns
        t0 = time.perf_counter()
        for strokes in drawings[burst : burst + 10]:
            canvas.set_strokes(strokes)
        QApplication.processEvents()
        blocked.append(time.perf_counter() - t0)
    # A GUI thread that read each drawing itself would add ten reads (≥ 2 ms each) to the ten
    # repaints (about 5–12 ms in all on a 2-core machine, 17 ms seen under a load of 3) in
    # every burst; 30 ms, two frames at 60 Hz, is what a person still feels as live. A busy
    # machine can stall one burst now and then, which is not that.
    typical, longest = sorted(blocked)[len(blocked) // 2], max(blocked)
    print(f"GUI thread per burst: median {typical * 1000:.1f} ms, longest {longest * 1000:.0f} ms")
    assert typical < 0.03, f"the GUI thread was blocked for {typical * 1000:.0f} ms per burst"
    assert longest < 0.3, f"the GUI thread was blocked for {longest * 1000:.0f} ms"
    wait_for_digit(qtbot, window, "8")
    qtbot.waitUntil(lambda: window.pad._shown_id == window.pad._request_id, timeout=5000)
    assert len(computed) < 500  # stale drawings were skipped, not queued
    assert time.perf_counter() - started < 30


@pytest.mark.parametrize("kind", ["junk", "empty", "truncated", "wrong-model"])
def test_a_bad_checkpoint_shows_an_error_and_keeps_the_model(
    qtbot, make_window, tmp_path, shipped_checkpoint, kind
):
    import torch

    window = make_window()
    bad = tmp_path / "broken.pt"
    if kind == "junk":
        bad.write_bytes(b"\x80\x02 definitely not a checkpoint" * 10)
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "truncated":
        bad.write_bytes(shipped_checkpoint.read_bytes()[:4096])
    else:
        payload = torch.load(shipped_checkpoint, weights_only=True)
        payload["model"] = "cnn"
        torch.save(payload, bad)
    window.load_model(str(bad))
    qtbot.waitUntil(lambda: window.pad.error_label.isVisible(), timeout=10000)
    shown, full = window.pad.error_label.text(), window.pad.error_label.toolTip()
    assert "broken.pt" in shown  # the line may be shortened to its slot; the tooltip is whole
    assert full.endswith("; the previous model is still in use.")
    assert full.startswith(shown.rstrip("…"))
    draw_digit(qtbot, window.pad.canvas, 7)
    wait_for_digit(qtbot, window, "7")


def test_save_drawing_and_the_cli_agree(qtbot, make_window, tmp_path, capsys):
    from mnist_desk.cli import main

    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 2)
    wait_for_digit(qtbot, window, "2")
    saved = window.save_drawing(str(tmp_path / "two.png"))
    assert saved
    small = tmp_path / "two_28x28.png"
    assert small.exists()
    assert main(["predict", saved, "--json"]) == 0
    import json

    top = json.loads(capsys.readouterr().out)[0]["top_k"][0]
    assert top["digit"] == 2
    np.testing.assert_allclose(top["p"], window.pad.last_probs[2], atol=0.05)


def test_saving_to_a_read_only_folder_keeps_the_drawing(qtbot, make_window, tmp_path):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 5)
    wait_for_digit(qtbot, window, "5")
    assert window.save_drawing(str(tmp_path / "missing-folder" / "x.png")) == ""
    assert "Could not save" in window.pad.error_label.text()
    assert len(window.pad.canvas.strokes()) == 2


def test_nothing_to_save_on_an_empty_pad(qtbot, make_window, tmp_path):
    window = make_window()
    assert window.save_drawing(str(tmp_path / "x.png")) == ""
    assert "draw a digit first" in window.pad.error_label.text()


def test_open_image_classifies_and_bad_images_are_explained(qtbot, make_window, tmp_path):
    from PIL import Image

    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.preprocess import render_strokes

    window = make_window()
    strokes, pen = our_digit(6, "plain")
    ink = np.pad(render_strokes(strokes, pen, 150), 30)
    Image.fromarray(((1 - ink) * 255).astype(np.uint8)).save(tmp_path / "six.png")
    window.open_image(str(tmp_path / "six.png"))
    wait_for_digit(qtbot, window, "6")
    (tmp_path / "junk.png").write_bytes(b"no")
    window.open_image(str(tmp_path / "junk.png"))
    qtbot.waitUntil(lambda: "not an image" in window.pad.error_label.text(), timeout=10000)


def test_settings_are_remembered(qtbot, make_window):
    window = make_window()
    window.pad.k_spin.setValue(5)
    window.pad.pen_slider.setValue(30)
    window.close()
    again = make_window()
    assert again.pad.k_spin.value() == 5
    assert again.pad.pen_slider.value() == 30


def test_a_corrupt_settings_file_means_defaults(qtbot, make_window, isolated_home):
    (isolated_home / "settings.ini").write_bytes(b"\xff\xfe[pad]\ntop_k=banana\n\x00\x00garbage=")
    window = make_window()
    assert window.pad.k_spin.value() == 3
    draw_digit(qtbot, window.pad.canvas, 1)
    wait_for_digit(qtbot, window, "1")


def test_a_damaged_window_geometry_opens_the_window_at_its_usual_size(
    qtbot, make_window, isolated_home
):
    """restoreGeometry refuses damaged bytes; the window then fell to its minimum size."""
    window = make_window()
    usual = window.size()
    window.close()
    (isolated_home / "settings.ini").write_text("[window]\ngeometry=@ByteArray(\\x1\\xd9)\n")
    again = make_window()
    assert again.size() == usual and usual != again.minimumSize()


def test_an_out_of_range_pen_width_in_the_settings_means_the_default_pen(
    qtbot, make_window, isolated_home
):
    """A hand-edited or damaged pen width of -5 gave the thinnest pen, not the usual one."""
    window = make_window()
    usual_pen, usual_k = window.pad.pen_slider.value(), window.pad.k_spin.value()
    window.close()
    (isolated_home / "settings.ini").write_text("[pad]\npen_width=-5\ntop_k=400\n")
    again = make_window()
    assert again.pad.pen_slider.value() == usual_pen != again.pad.pen_slider.minimum()
    assert again.pad.k_spin.value() == usual_k


def test_a_pipe_named_like_the_settings_file_does_not_block_the_start(
    qtbot, make_window, isolated_home
):
    import os
    import subprocess
    import sys

    os.mkfifo(isolated_home / "settings.ini")
    opening = "from mnist_desk.ui.settings import open_settings; open_settings()"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    try:  # in a child process: a blocked open must fail this test, not hang the suite
        subprocess.run([sys.executable, "-c", opening], env=env, timeout=60, check=True)
    except subprocess.TimeoutExpired:
        raise AssertionError("opening the settings blocked on a FIFO") from None
    assert list(isolated_home.glob("settings.ini.damaged-*"))  # moved aside, not deleted
    window = make_window()
    window.pad.k_spin.setValue(6)
    window.close()
    assert make_window().pad.k_spin.value() == 6  # and settings are kept again


def test_an_opened_digit_can_be_drawn_over_and_undone(qtbot, make_window, tmp_path):
    from PIL import Image

    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.preprocess import render_strokes
    from tests.ui.conftest import draw_with_mouse

    window = make_window()
    strokes, pen = our_digit(1, "plain")
    ink = np.pad(render_strokes(strokes, pen, 150), 30)
    Image.fromarray((ink * 255).astype(np.uint8)).save(tmp_path / "one.png")
    window.open_image(str(tmp_path / "one.png"))
    wait_for_digit(qtbot, window, "1")
    assert window.pad.canvas.background() is not None
    before = window.pad.last_image.copy()
    # a top bar turns the "1" into a "7"
    draw_with_mouse(qtbot, window.pad.canvas, [[(60.0, 40.0), (120.0, 40.0), (200.0, 40.0)]])
    qtbot.waitUntil(lambda: not np.array_equal(window.pad.last_image, before), timeout=10000)
    from mnist_desk.core.preprocess import ink_bbox

    def ink_width(image):
        top, left, bottom, right = ink_bbox(image, 0.3)
        return right - left

    qtbot.waitUntil(lambda: ink_width(window.pad.last_image) > ink_width(before) + 5)
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: np.array_equal(window.pad.last_image, before), timeout=10000)
    wait_for_digit(qtbot, window, "1")


def test_about_and_model_card_name_the_model(qtbot, make_window):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox, QTextBrowser

    window = make_window()
    window.show_model_card()
    browser = window.model_card_dialog.findChild(QTextBrowser)
    card = browser.toPlainText()
    assert "desknet" in card and "md5" in card
    assert _first_table_row(browser) != ["", ""]  # no empty first row
    window.model_card_dialog.close()
    seen = []

    def read_about():
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                seen.append(widget.text())
                widget.accept()

    QTimer.singleShot(200, read_about)
    window.show_about()
    assert seen and "desknet" in seen[0] and "(raw, before calibration)" in seen[0]


def test_the_status_bar_says_which_test_accuracy_it_shows(qtbot, make_window, shipped_checkpoint):
    """The shipped checkpoint stores its raw accuracy; the card's figure is after calibration.
    The status line must not pass one off as the other."""
    from mnist_desk.core.checkpoint import load_checkpoint

    stored = load_checkpoint(shipped_checkpoint)
    assert stored.calibration  # the shipped model is calibrated: the two figures differ
    window = make_window()
    raw = f"{stored.metrics['test_acc'] * 100:.2f}%"
    assert window.model_status.text() == f"Model: desknet · MNIST test {raw} (raw, before " + (
        "calibration) · CPU"
    )
    assert "after calibration" in window.model_status.toolTip()
    # the live pad reads through onnxruntime where it is installed (the dev extras bring it)
    from tests.ui.test_app import _engine

    assert f"read with {_engine()}." in window.model_status.toolTip()


def _first_table_row(browser):
    from PySide6.QtGui import QTextTable

    for frame in browser.document().rootFrame().childFrames():
        if isinstance(frame, QTextTable):
            return [frame.cellAt(0, c).firstCursorPosition().block().text() for c in range(2)]
    return None


def test_the_model_card_describes_the_active_model(
    qtbot, make_window, tmp_path, shipped_checkpoint
):
    import shutil

    from PySide6.QtWidgets import QTextBrowser

    window = make_window()
    trained = tmp_path / "my-run" / "best.pt"
    trained.parent.mkdir()
    shutil.copy(shipped_checkpoint, trained)
    window.load_model(str(trained))
    qtbot.waitUntil(lambda: window.active_model_path == str(trained), timeout=20000)
    help_menu = next(a.menu() for a in window.menuBar().actions() if "Help" in a.text())
    next(a for a in help_menu.actions() if "Model card" in a.text()).trigger()
    browser = window.model_card_dialog.findChild(QTextBrowser)
    card = browser.toPlainText()
    assert str(trained) in card and "md5" not in card  # not the shipped model's card
    assert "test acc" in card and "onecycle" in card  # its metrics and how it was trained
    assert _first_table_row(browser) == ["measure", "value"]
    window.model_card_dialog.close()


def test_theme_choice_recolours_and_is_remembered(qtbot, make_window):
    from PySide6.QtGui import QPalette

    window = make_window()
    window.theme_actions["dark"].trigger()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    assert window.pad.bars.backgroundBrush().color().lightness() < 80
    window.close()
    again = make_window()
    assert again.theme == "dark" and again.theme_actions["dark"].isChecked()
    again.set_theme("light")
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 150


def test_error_lines_clear_when_the_next_action_succeeds(qtbot, make_window, tmp_path):
    window = make_window()
    error = window.pad.error_label
    window.save_action.trigger()  # File → Save drawing on an empty pad
    assert error.isVisible() and "draw a digit first" in error.text()
    draw_digit(qtbot, window.pad.canvas, 7)
    wait_for_digit(qtbot, window, "7")
    assert not error.isVisible() and error.text() == ""  # a new drawing clears it

    assert window.save_drawing(str(tmp_path / "missing-folder" / "x.png")) == ""
    assert error.isVisible()
    assert window.save_drawing(str(tmp_path / "seven.png"))
    assert not error.isVisible()  # a successful save clears it

    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"junk")
    window.load_model(str(bad))
    qtbot.waitUntil(error.isVisible, timeout=10000)
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_Escape)
    draw_digit(qtbot, window.pad.canvas, 1)
    wait_for_digit(qtbot, window, "1")
    assert not error.isVisible()


def test_drawing_actions_are_live_only_on_the_draw_tab(qtbot, make_window):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 4)
    strokes = window.pad.canvas.strokes()
    actions = (
        window.undo_action,
        window.clear_action,
        window.open_image_action,
        window.save_action,
    )
    assert all(a.isEnabled() for a in actions)
    qtbot.keyClick(window.tabs, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)  # Go to My digits
    assert window.tabs.currentWidget() is window.my_digits_tab
    assert not any(a.isEnabled() for a in actions)
    qtbot.keyClick(window.my_digits_tab.list, Qt.Key.Key_Escape)
    qtbot.keyClick(window.my_digits_tab.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.pad.canvas.strokes() == strokes  # neither Clear nor Undo reached the pad
    qtbot.keyClick(window.tabs, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert all(a.isEnabled() for a in actions)


def test_a_damaged_remembered_model_falls_back_to_the_shipped_one(qtbot, make_window, tmp_path):
    from mnist_desk.ui.settings import open_settings

    bad = tmp_path / "remembered.pt"
    bad.write_bytes(b"\x80\x02 not a checkpoint" * 10)
    settings = open_settings()
    settings.setValue("model/last", str(bad))
    settings.sync()
    window = make_window()
    qtbot.waitUntil(lambda: window.model_info.get("name") == "desknet", timeout=20000)
    assert window.active_model_path == ""
    text = window.pad.error_label.toolTip()  # the full text; the label may elide it
    assert "remembered.pt" in text and "shipped model" in text
    draw_digit(qtbot, window.pad.canvas, 7)
    wait_for_digit(qtbot, window, "7")


def test_what_the_pad_shows_follows_every_change_of_its_strokes(qtbot, make_window):
    """Finished strokes are painted once and reused: after a stroke, undo, redo, the eraser,
    a resize, a new pen width or a clear, the pad shows what painting them afresh shows."""
    import numpy as np
    from PySide6.QtGui import QImage

    window = make_window()
    canvas = window.pad.canvas

    def shown() -> np.ndarray:
        image = canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1).copy()

    def fresh() -> np.ndarray:
        canvas._ink = None  # nothing reused: every stroke drawn now
        return shown()

    empty = shown()
    draw_digit(qtbot, canvas, 1)
    one = shown()
    assert not np.array_equal(one, empty) and np.array_equal(one, fresh())
    draw_digit(qtbot, canvas, 4)  # two more strokes over it
    assert np.array_equal(shown(), fresh())
    qtbot.mouseClick(window.pad.undo_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.pad.undo_button, Qt.MouseButton.LeftButton)
    assert np.array_equal(shown(), one)
    qtbot.keyClick(canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # redo one
    redone = shown()
    assert not np.array_equal(redone, one) and np.array_equal(redone, fresh())
    x, y = canvas.strokes()[-1][-1]
    qtbot.mousePress(canvas, Qt.MouseButton.RightButton, pos=canvas.widget_point(x, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.RightButton, pos=canvas.widget_point(x, y))
    assert len(canvas.strokes()) == 1 and np.array_equal(shown(), one)  # erased
    size = canvas.size()
    window.resize(window.width() + 160, window.height() + 100)
    qtbot.waitUntil(lambda: canvas.size() != size)
    assert np.array_equal(shown(), fresh())
    qtbot.keyClick(window.pad.pen_slider, Qt.Key.Key_PageUp)  # a wider pen
    assert np.array_equal(shown(), fresh())
    qtbot.mouseClick(window.pad.clear_button, Qt.MouseButton.LeftButton)
    assert canvas.is_empty() and np.array_equal(shown(), fresh())
