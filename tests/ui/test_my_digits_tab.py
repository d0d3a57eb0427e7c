import json

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QSpinBox

from mnist_desk.core.config import TrainConfig
from mnist_desk.paths import runs_dir
from tests.ui.conftest import draw_digit


def _keep(qtbot, window, digit):
    draw_digit(qtbot, window.pad.canvas, digit)
    qtbot.keyClick(window.pad.canvas, getattr(Qt.Key, f"Key_{digit}"))


def _item_pos(view, item):
    return view.visualItemRect(item).center()


def _click_item(qtbot, view, item, double=False):
    view.scrollToItem(item)
    qtbot.waitUntil(lambda: view.visualItemRect(item).isValid(), timeout=5000)  # laid out
    pos = _item_pos(view, item)
    # A real double-click is press, release, then a double-click event: the view only
    # reports a double-click on the item the first press landed on.
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    if double:
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _answer_dialog(qtbot, text: str | None, seen: list):
    """Once the input dialog is up, type ``text`` and press Enter (or Escape when None)."""

    def answer():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog):
            QTimer.singleShot(50, answer)
            return
        seen.append(dialog.labelText())
        spin = dialog.findChild(QSpinBox)
        if text is None:
            qtbot.keyClick(spin, Qt.Key.Key_Escape)
            return
        spin.selectAll()
        qtbot.keyClicks(spin, text)
        qtbot.keyClick(spin, Qt.Key.Key_Return)

    QTimer.singleShot(50, answer)


def test_keys_keep_digits_which_can_be_relabelled_and_deleted(qtbot, make_window):
    window = make_window()
    tab = window.my_digits_tab
    for digit in (7, 1):
        _keep(qtbot, window, digit)
        assert window.pad.canvas.is_empty()  # kept, and the pad is ready for the next one
    assert [d.label for d in tab.digits] == [7, 1]
    qtbot.waitUntil(lambda: tab.accuracy() is not None, timeout=10000)
    assert tab.accuracy() == 1.0
    assert "2/2" in tab.summary.text()
    window.tabs.setCurrentWidget(tab)

    _click_item(qtbot, tab.list, tab.list.item(1))
    seen = []
    _answer_dialog(qtbot, "4", seen)
    qtbot.mouseClick(tab.relabel_button, Qt.MouseButton.LeftButton)
    assert seen and "0–9" in seen[0]  # it asked
    assert sorted(d.label for d in tab.store.all()) == [4, 7]
    qtbot.waitUntil(lambda: tab.accuracy() == 0.5, timeout=10000)

    # Escape leaves the label as it was (the old bug set it to 0 without asking)
    _click_item(qtbot, tab.list, tab.list.item(0))
    _answer_dialog(qtbot, None, seen)
    qtbot.mouseClick(tab.relabel_button, Qt.MouseButton.LeftButton)
    assert len(seen) == 2 and sorted(d.label for d in tab.store.all()) == [4, 7]

    _click_item(qtbot, tab.list, tab.list.item(0))
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert [d.label for d in tab.store.all()] == [4]


def test_delete_key_then_undo_brings_the_digit_back(qtbot, make_window):
    window = make_window()
    tab = window.my_digits_tab
    for digit in (3, 8):
        _keep(qtbot, window, digit)
    qtbot.waitUntil(lambda: tab.accuracy() is not None, timeout=10000)  # the list is final
    window.tabs.setCurrentWidget(tab)
    before = {d.id: (d.label, d.strokes) for d in tab.store.all()}
    _click_item(qtbot, tab.list, tab.list.item(1))
    qtbot.keyClick(tab.list, Qt.Key.Key_Delete)
    assert len(tab.store.all()) == 1 and tab.undo_button.isEnabled()
    assert window.pad.canvas.strokes() == []  # the pad's own Delete did not fire
    qtbot.keyClick(tab.list, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    after = {d.id: (d.label, d.strokes) for d in tab.store.all()}
    assert (
        after == before
        and (tab.store.folder / f"{tab.list.item(1).data(Qt.ItemDataRole.UserRole)}.png").exists()
    )
    assert not tab.undo_button.isEnabled()
    # the button does the same
    _click_item(qtbot, tab.list, tab.list.item(0))
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(tab.undo_button, Qt.MouseButton.LeftButton)
    assert {d.id for d in tab.store.all()} == set(before)


def test_relabel_and_delete_wait_for_a_selection(qtbot, make_window):
    window = make_window()
    tab = window.my_digits_tab
    _keep(qtbot, window, 7)
    window.tabs.setCurrentWidget(tab)
    assert tab.list.count() == 1 and not tab.list.selectedItems()
    assert not tab.relabel_button.isEnabled() and not tab.delete_button.isEnabled()
    _click_item(qtbot, tab.list, tab.list.item(0))
    assert tab.relabel_button.isEnabled() and tab.delete_button.isEnabled()
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert tab.list.count() == 0 and not tab.delete_button.isEnabled()
    qtbot.mouseClick(tab.undo_button, Qt.MouseButton.LeftButton)
    assert tab.list.count() == 1 and not tab.relabel_button.isEnabled()  # nothing selected


def test_an_empty_pad_is_not_kept(qtbot, make_window):
    window = make_window()
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_3)
    assert "Draw a digit first" in window.pad.error_label.text()
    assert window.my_digits_tab.digits == []


def test_double_click_puts_a_digit_back_on_a_clean_pad(qtbot, make_window):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 2)
    strokes = window.pad.canvas.strokes()
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_2)
    # an opened digit (as from the Mistakes tab or Open image) is on the pad
    opened = np.zeros((28, 28), np.float32)
    opened[4:24, 12:16] = 1.0
    window._open_on_pad(opened)
    assert window.pad.canvas.background() is not None
    tab = window.my_digits_tab
    qtbot.waitUntil(lambda: tab.accuracy() is not None, timeout=10000)  # the list is final
    window.tabs.setCurrentWidget(tab)
    _click_item(qtbot, tab.list, tab.list.item(0), double=True)
    assert window.tabs.currentWidget() is window.pad
    assert window.pad.canvas.strokes() == [[tuple(p) for p in s] for s in strokes]
    assert window.pad.canvas.background() is None  # nothing left over from the opened digit
    qtbot.waitUntil(lambda: window.pad.digit_label.text() == "2", timeout=10000)


def test_damaged_digit_files_are_skipped_and_named(qtbot, make_window):
    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.my_digits import MyDigitStore
    from mnist_desk.paths import my_digits_dir

    store = MyDigitStore(my_digits_dir())
    strokes, pen = our_digit(5, "plain")
    good = store.add(strokes, pen, 5)
    bad = {
        "nan-pen": {"pen_width": float("nan")},
        "thick-pen": {"pen_width": "thick"},
        "abc-strokes": {"strokes": "abc"},
    }
    for name, change in bad.items():
        values = {"id": name, "label": 3, "strokes": strokes, "pen_width": pen, "created": ""}
        values.update(change)
        (store.folder / f"{name}.json").write_text(json.dumps(values))
    window = make_window()
    tab = window.my_digits_tab
    assert [d.id for d in tab.digits] == [good.id]
    text = window.problems_label.text() + window.problems_label.toolTip()
    assert all(name in text for name in bad) and window.problems_label.isVisible()


def test_fine_tune_from_the_train_tab_reports_before_and_after(qtbot, make_window, mnist_root):
    window = make_window()
    for digit in range(10):
        for style in ("plain", "slanted"):
            from mnist_desk.core.handwriting import our_digit

            strokes, pen = our_digit(digit, style)
            window.my_digits_tab.store.add(strokes, pen, digit)
    config = TrainConfig(
        model="desknet",
        epochs=1,
        batch_size=64,
        lr=1e-4,
        device="cpu",
        data=str(mnist_root),
        train_subset=256,
        test_subset=300,
        out=str(runs_dir() / "finetune-test"),
    )
    with qtbot.waitSignal(window.train_tab.run_ended, timeout=180000) as ended:
        window.train_tab.start_fine_tune(
            window.active_checkpoint_path(),
            str(window.my_digits_tab.store.folder),
            "desknet",
            config,
        )
    assert ended.args == [True]
    report = window.train_tab.last_fine_tune
    assert report.trained_on + report.held_out == 20
    assert "held-out digits" in window.train_tab.fine_tune_label.text()
    assert report.mnist_after > 0.9


def test_enter_puts_the_current_digit_back_on_the_pad(qtbot, make_window):
    """Double-click was the only way back to the pad: a keyboard user Tabs to the list,
    moves with the arrows and presses Enter."""
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    _keep(qtbot, window, 1)
    draw_digit(qtbot, window.pad.canvas, 7)
    strokes = window.pad.canvas.strokes()
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_7)
    tab = window.my_digits_tab
    qtbot.waitUntil(lambda: tab.list.count() == 2 and tab.accuracy() is not None, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is tab
    tab.list.setFocus(Qt.FocusReason.TabFocusReason)
    labels = [tab.list.item(i).text() for i in range(tab.list.count())]
    target = next(i for i, text in enumerate(labels) if "label 7" in text)
    tab.list.setCurrentRow(0)
    for _ in range(target):
        qtbot.keyClick(tab.list, Qt.Key.Key_Right)
    qtbot.keyClick(tab.list, Qt.Key.Key_Return)
    assert window.tabs.currentWidget() is window.pad
    assert window.pad.canvas.strokes() == [[tuple(p) for p in s] for s in strokes]


def test_tabbing_into_the_list_selects_a_digit_to_relabel_or_delete(qtbot, make_window):
    """Qt makes the first digit current, not selected, when the list gets the focus by Tab:
    Relabel and Delete stayed grey until Space. A keyboard user can now Tab in and press
    Delete."""
    from PySide6.QtWidgets import QApplication

    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    _keep(qtbot, window, 1)
    _keep(qtbot, window, 7)
    tab = window.my_digits_tab
    qtbot.waitUntil(lambda: tab.list.count() == 2, timeout=10000)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    assert window.tabs.currentWidget() is tab
    tab.list.clearSelection()
    assert not tab.delete_button.isEnabled()
    window.tabs.tabBar().setFocus()  # then Tab, as a person does, until the list has it
    for _ in range(12):
        if tab.list.hasFocus():
            break
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert tab.list.hasFocus()
    assert len(tab.list.selectedItems()) == 1
    assert tab.delete_button.isEnabled() and tab.relabel_button.isEnabled()
    qtbot.keyClick(tab.list, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: tab.list.count() == 1, timeout=10000)
