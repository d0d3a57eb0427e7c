"""The window at its declared minimum size: nothing cut off, nothing jumps (issue #10)."""

import shutil

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QAbstractButton, QFileDialog

from tests.ui.conftest import draw_digit


def _at_minimum(qtbot, window):
    window.resize(window.MINIMUM_SIZE)
    qtbot.waitUntil(lambda: window.size() == window.MINIMUM_SIZE)
    qtbot.wait(50)  # let the layouts settle


def _pad_geometry(window):
    pad = window.pad
    return (
        pad.canvas.mapTo(window, QPoint(0, 0)),
        pad.canvas.size(),
        pad.add_button.mapTo(window, QPoint(0, 0)),
        window.size(),
        window.minimumSizeHint(),
    )


def test_an_error_and_ten_bars_do_not_move_the_pad(qtbot, make_window, monkeypatch, tmp_path):
    window = make_window()
    _at_minimum(qtbot, window)
    pad = window.pad
    before = _pad_geometry(window)

    qtbot.keyClick(pad.canvas, Qt.Key.Key_5)  # keep an empty pad: a short error
    assert pad.error_label.isVisible()
    qtbot.wait(50)
    assert _pad_geometry(window) == before

    bad = tmp_path / ("not_a_checkpoint_but_a_file_with_a_very_long_name_" * 3 + ".pt")
    bad.write_text("hello")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(bad), ""))
    qtbot.mouseClick(pad.open_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Could not load" in pad.error_label.toolTip(), timeout=10000)
    qtbot.wait(50)
    assert _pad_geometry(window) == before
    assert pad.error_label.text().endswith("…")  # shortened to its slot, in full as tooltip
    assert pad.error_label.heightForWidth(pad.error_label.width()) <= pad.error_label.height()

    draw_digit(qtbot, pad.canvas, 4)
    qtbot.waitUntil(lambda: pad.last_probs is not None, timeout=10000)
    pad.k_spin.setFocus()
    for _ in range(pad.k_spin.maximum() - pad.k_spin.value()):
        qtbot.keyClick(pad.k_spin, Qt.Key.Key_Up)
    assert len(pad.bars.values) == 10
    qtbot.wait(50)
    assert _pad_geometry(window) == before


def test_every_tab_fits_the_minimum_size_with_nothing_cut_off(qtbot, make_window):
    window = make_window()
    _at_minimum(qtbot, window)
    hint = window.minimumSizeHint()
    assert hint.width() <= window.MINIMUM_SIZE.width()
    assert hint.height() <= window.MINIMUM_SIZE.height()
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)
        tab = window.tabs.widget(index)
        for button in tab.findChildren(QAbstractButton):
            if button.isVisible() and button.text():
                assert button.width() >= button.sizeHint().width(), (
                    f"{window.tabs.tabText(index)}: '{button.text()}' is cut off"
                )
    pad = window.pad
    window.tabs.setCurrentWidget(pad)
    qtbot.wait(50)
    assert pad.pen_slider.width() >= 120


def test_the_pen_slider_shows_its_value(qtbot, make_window):
    window = make_window()
    slider = window.pad.pen_slider
    slider.setFocus()
    start = slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == start + 2
    assert window.pad.pen_value.text() == f"{start + 2} px"
    assert window.pad.canvas.pen_width == start + 2


def test_a_long_model_name_is_elided_with_the_full_name_as_tooltip(
    qtbot, make_window, monkeypatch, tmp_path, shipped_checkpoint
):
    window = make_window()
    _at_minimum(qtbot, window)
    hint = window.minimumSizeHint()
    long_file = tmp_path / "desknet_fine_tuned_on_my_handwriting_on_a_rainy_tuesday.pt"
    shutil.copy(shipped_checkpoint, long_file)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(long_file), ""))
    qtbot.mouseClick(window.pad.open_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == str(long_file), timeout=20000)
    qtbot.wait(50)
    combo = window.pad.model_combo
    assert combo.currentText() == long_file.name
    assert combo.shown_text().endswith("…") and len(combo.shown_text()) < len(long_file.name)
    assert long_file.name in combo.toolTip()
    assert window.minimumSizeHint() == hint  # a long name never widens the window


def test_the_empty_pad_shows_a_sentence_not_empty_bars(qtbot, make_window):
    """Ten zero rows (or a big dash) read as data on a first look: an empty pad says what to
    do, in the chart, and the answer slot stays blank."""
    window = make_window()
    pad = window.pad

    def empty() -> bool:
        ticks = pad.bars.getAxis("left")._tickLevels[0]
        labels = any(label.isVisible() for label in pad.bars._labels)
        return pad.bars.values == [] and not ticks and not labels and pad.digit_label.text() == ""

    assert empty() and "Draw a digit" in pad.bars.empty_message()
    draw_digit(qtbot, pad.canvas, 2)
    qtbot.waitUntil(lambda: pad.last_probs is not None, timeout=10000)
    assert len(pad.bars.values) == pad.k_spin.value() and pad.bars.empty_message() == ""
    qtbot.keyClick(pad.canvas, Qt.Key.Key_Escape)
    assert empty() and "Draw a digit" in pad.bars.empty_message()


def test_the_model_box_names_the_remembered_model_while_it_loads(
    qtbot, make_window, shipped_checkpoint
):
    from mnist_desk.paths import runs_dir
    from mnist_desk.ui.settings import open_settings

    run = runs_dir() / "my-run"
    run.mkdir(parents=True)
    shutil.copy(shipped_checkpoint, run / "best.pt")
    settings = open_settings()
    settings.setValue("model/last", str(run / "best.pt"))
    settings.sync()

    window = make_window(wait=False)
    combo = window.pad.model_combo
    shown = [combo.currentText()]
    combo.currentTextChanged.connect(shown.append)
    qtbot.waitUntil(lambda: window.pad.model_ready, timeout=60000)
    assert shown[0] == "Loading Trained: my-run…"
    assert not any(text.startswith("Shipped") for text in shown)
    assert combo.currentText() == "Trained: my-run"


def test_the_checkpoint_dialog_starts_in_a_folder_that_exists(
    qtbot, make_window, monkeypatch, tmp_path, shipped_checkpoint
):
    from pathlib import Path

    from mnist_desk.paths import runs_dir

    window = make_window()
    asked, answer = [], [""]

    def dialog(_parent, _caption, folder, _filters):
        asked.append(folder)
        return answer[0], ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    button = window.pad.open_model_button
    assert not runs_dir().exists()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert Path(asked[-1]).is_dir()

    runs_dir().mkdir(parents=True)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert Path(asked[-1]) == runs_dir()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(shipped_checkpoint, elsewhere / "mine.pt")
    answer[0] = str(elsewhere / "mine.pt")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == answer[0], timeout=20000)
    answer[0] = ""
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert Path(asked[-1]) == elsewhere  # the last folder used


def test_keeping_an_eight_says_an_8(qtbot, make_window):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 8)
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_8)
    assert window.statusBar().currentMessage().startswith("Kept as an 8 ")
    draw_digit(qtbot, window.pad.canvas, 7)
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_7)
    assert window.statusBar().currentMessage().startswith("Kept as a 7 ")


def test_a_long_status_message_is_elided_before_the_model_label(
    qtbot, make_window, monkeypatch, tmp_path
):
    """At the minimum size a long message ends in "…" left of the model name, whole as tooltip."""
    window = make_window()
    _at_minimum(qtbot, window)
    bar = window.statusBar()
    bad = tmp_path / ("a_damaged_checkpoint_with_a_name_long_enough_to_fill_the_bar_" * 3 + ".pt")
    bad.write_text("hello")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(bad), ""))
    qtbot.mouseClick(window.pad.open_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bar.currentMessage().startswith("Could not load"), timeout=10000)
    message = bar.currentMessage()
    assert bar.toolTip() == message
    shown = bar.shown_message()
    assert shown.endswith("…") and message.startswith(shown[:-1])
    room = bar.message_rect()
    label = window.model_status
    assert label.isVisible() and room.right() < label.x()
    assert bar.fontMetrics().horizontalAdvance(shown) <= room.width()
    qtbot.wait(50)
    image = bar.grab().toImage()  # nothing painted between the message and the label
    gap = [image.pixelColor(x, bar.height() // 2) for x in range(room.right() + 1, label.x())]
    assert len({c.rgb() for c in gap}) <= 1


def test_at_the_minimum_size_no_tab_scrolls_sideways_and_the_run_status_is_in_sight(
    qtbot, make_window
):
    from PySide6.QtWidgets import QScrollArea

    window = make_window()
    _at_minimum(qtbot, window)
    draw_digit(qtbot, window.pad.canvas, 2)  # the Network tab then shows every layer
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    bar = window.tabs.tabBar()
    for index in range(window.tabs.count()):
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
        tab = window.tabs.widget(index)
        if tab is window.network_tab:
            qtbot.waitUntil(lambda: window.network_tab.view is not None, timeout=30000)
        qtbot.wait(100)
        name = window.tabs.tabText(index)
        for area in tab.findChildren(QScrollArea):
            if area.isVisible():
                assert not area.horizontalScrollBar().isVisible(), name
        buttons = [b for b in tab.findChildren(QAbstractButton) if b.isVisible()]
        for a in buttons:  # side by side, never on top of each other
            for b in buttons:
                if a is not b and a.parentWidget() is b.parentWidget():
                    assert not a.geometry().intersects(b.geometry()), (name, a.text(), b.text())
    train = window.train_tab
    window.tabs.setCurrentWidget(train)
    qtbot.wait(50)
    for widget in (train.progress, train.speed_label):  # not scrolled out of sight
        assert widget.visibleRegion().boundingRect() == widget.rect()


def test_number_mode_at_the_minimum_size_overlaps_nothing(qtbot, make_window):
    """The digit buttons' row took its room from the bar chart below the chart's minimum, so
    at 960×660 the chart's axis ran over the 28×28 preview and its check box."""
    from tests.ui.conftest import draw_with_mouse
    from tests.ui.test_number_mode import number_strokes

    window = make_window()
    _at_minimum(qtbot, window)
    pad = window.pad
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton)
    strip_before = pad.number_strip.mapTo(pad, QPoint(0, 0)), pad.number_strip.height()
    draw_with_mouse(qtbot, pad.canvas, number_strokes([4, 2]))
    qtbot.waitUntil(lambda: pad.digit_label.text() == "42", timeout=10000)
    qtbot.wait(50)
    assert (pad.number_strip.mapTo(pad, QPoint(0, 0)), pad.number_strip.height()) == strip_before
    strip = pad.number_strip.geometry()
    assert all(b.height() >= b.sizeHint().height() for b in pad.number_strip.buttons)
    assert pad.number_strip.height() >= pad.number_strip.sizeHint().height()

    def top(widget):
        return widget.mapTo(pad, QPoint(0, 0)).y()

    bars_bottom = top(pad.bars) + pad.bars.height()
    assert top(pad.number_strip) + strip.height() <= top(pad.bars)
    assert bars_bottom <= top(pad.preview) and bars_bottom <= top(pad.preview_check)


def test_an_opened_run_checkpoint_is_named_by_its_folder(
    qtbot, make_window, monkeypatch, tmp_path, shipped_checkpoint
):
    """Every run writes best.pt: opened from File → Open checkpoint, "best.pt" alone in the
    model box (and the Network tab's compare list) does not say which run it is."""
    window = make_window()
    run = tmp_path / "tuesday_run"
    run.mkdir()
    best = run / "best.pt"
    shutil.copy(shipped_checkpoint, best)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(best), ""))
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.active_model_path == str(best), timeout=20000)
    combo = window.pad.model_combo
    assert combo.currentText() == "tuesday_run/best.pt"
    assert "tuesday_run/best.pt" in combo.toolTip() or str(best) in combo.toolTip()
