from PySide6.QtCore import Qt

from mnist_desk.core.config import TrainConfig
from mnist_desk.paths import runs_dir
from tests.ui.conftest import draw_digit


def test_keys_keep_digits_which_can_be_relabelled_and_deleted(qtbot, make_window):
    window = make_window()
    tab = window.my_digits_tab
    for digit in (7, 1):
        draw_digit(qtbot, window.pad.canvas, digit)
        qtbot.keyClick(window.pad.canvas, getattr(Qt.Key, f"Key_{digit}"))
        assert window.pad.canvas.is_empty()  # kept, and the pad is ready for the next one
    assert [d.label for d in tab.digits] == [7, 1]
    qtbot.waitUntil(lambda: tab.accuracy() is not None, timeout=10000)
    assert tab.accuracy() == 1.0
    assert "2/2" in tab.summary.text()

    tab.list.item(1).setSelected(True)
    tab.relabel_selected(4)
    assert sorted(d.label for d in tab.store.all()) == [4, 7]
    qtbot.waitUntil(lambda: tab.accuracy() == 0.5, timeout=10000)
    tab.list.clearSelection()
    tab.list.item(0).setSelected(True)
    tab.delete_selected()
    assert len(tab.store.all()) == 1


def test_an_empty_pad_is_not_kept(qtbot, make_window):
    window = make_window()
    qtbot.keyClick(window.pad.canvas, Qt.Key.Key_3)
    assert "Draw a digit first" in window.pad.error_label.text()
    assert window.my_digits_tab.digits == []


def test_double_click_puts_a_digit_back_on_the_pad(qtbot, make_window):
    window = make_window()
    draw_digit(qtbot, window.pad.canvas, 2)
    strokes = window.pad.canvas.strokes()
    window.add_my_digit(2)
    window.tabs.setCurrentWidget(window.my_digits_tab)
    item = window.my_digits_tab.list.item(0)
    window.my_digits_tab._open_item(item)
    assert window.tabs.currentWidget() is window.pad
    assert window.pad.canvas.strokes() == [[tuple(p) for p in s] for s in strokes]


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
