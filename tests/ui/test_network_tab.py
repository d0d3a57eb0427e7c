"""The Network tab, driven as a person does: draw, open the tab, click maps and classes."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.ui.conftest import draw_digit


def open_tab(qtbot, window, widget):
    bar = window.tabs.tabBar()
    index = window.tabs.indexOf(widget)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentWidget() is widget


def hover(qtbot, grid, index):
    """Move the mouse onto a tile, then within it (a first move may only enter the window)."""
    centre = grid.tile_rect(index).center()
    qtbot.mouseMove(grid, pos=centre)
    qtbot.wait(50)
    qtbot.mouseMove(grid, pos=centre + QPoint(1, 0))


def wait_for_view(qtbot, tab, condition=lambda view: True, timeout=30000):
    qtbot.waitUntil(lambda: tab.view is not None and condition(tab.view), timeout=timeout)
    return tab.view


@pytest.fixture(autouse=True)
def small_index(monkeypatch):
    """The tab builds the nearest-digit index when it is shown: a small one keeps tests short."""
    from mnist_desk.ui.network_tab import NetworkTab

    monkeypatch.setattr(NetworkTab, "index_limit", 400)


@pytest.fixture
def network_window(make_window, qtbot, monkeypatch, mnist_root):
    monkeypatch.setenv("MNIST_DESK_DATA", str(mnist_root))
    window = make_window()
    yield window
    window.close()


def test_network_tab_shows_every_layer_and_explains_a_clicked_class(
    qtbot, network_window, tmp_path
):
    window = network_window
    tab = window.network_tab
    draw_digit(qtbot, window.pad.canvas, 7)
    qtbot.waitUntil(lambda: window.pad.predicted_digit() == 7, timeout=20000)
    open_tab(qtbot, window, tab)
    view = wait_for_view(qtbot, tab)
    names = [row.layer.name for row in tab.layer_rows]
    assert names[0] == "input" and "conv 1" in names and names[-1].startswith("dense")
    assert "reads a <b>7</b>" in tab.heading.text()

    conv = tab.layer_row("conv 1")
    qtbot.mouseClick(conv.view, Qt.MouseButton.LeftButton, pos=conv.view.tile_rect(3).center())
    assert "conv 1 #3" in tab.detail_title.text()
    assert tab.kernels.isVisibleTo(tab) and len(tab.kernels.maps) == 1  # one 3×3 input kernel
    assert "(1 kernel)" in tab.detail_title.text()  # not "1 kernels"
    assert tab.kernels.maps[0].shape == view.weights[conv.layer.module].shape[2:]

    before = view.inspection.explanations[view.target].heat.copy()
    assert view.target == 7 and tab.why_legend.explained == "7"
    qtbot.mouseClick(tab.softmax, Qt.MouseButton.LeftButton, pos=tab.softmax.bar_center(1))
    view = wait_for_view(qtbot, tab, lambda v: v.target == 1)
    assert tab.why_legend.explained == "1"
    assert np.abs(view.inspection.explanations[1].heat - before).mean() > 0.01

    saved = tab.export_png(str(tmp_path / "net.png"))
    assert saved and (tmp_path / "net.png").stat().st_size > 1000


def test_nearest_training_digits_are_built_in_the_background(qtbot, network_window):
    window = network_window
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    assert tab.timeline_hint.isVisibleTo(tab) and not tab.timeline.isVisibleTo(tab)
    checkbox = window.train_tab.keep_epochs.text()  # the hint names the control it means
    assert checkbox in " ".join(tab.timeline_hint.text().split())
    draw_digit(qtbot, window.pad.canvas, 0)
    wait_for_view(qtbot, tab, lambda v: v.index_state == "ready", timeout=60000)
    labels = [n[1] for n in tab.view.neighbours]
    assert len(labels) == 8 and labels.count(0) >= 5
    assert tab.neighbour_labels[0].pixmap() is not None
    assert "It looks like" in tab.neighbour_status.text()
    compare = tab.view.compare
    assert compare and compare[0].probabilities is not None


def test_pad_highlight_explains_the_top_class_with_a_legend(qtbot, network_window):
    window = network_window
    pad = window.pad
    qtbot.mouseClick(pad.saliency_check, Qt.MouseButton.LeftButton)
    assert pad.saliency_check.isChecked()
    draw_digit(qtbot, pad.canvas, 3)
    qtbot.waitUntil(lambda: pad.last_saliency is not None, timeout=20000)
    assert pad.saliency_legend.isVisibleTo(pad)
    top = pad.predicted_digit()
    assert pad.saliency_legend.explained == str(top)
    assert pad.last_saliency.target == top and np.abs(pad.last_saliency.heat).max() == 1.0


def test_timeline_slider_shows_the_drawing_through_the_epochs(qtbot, make_window, tmp_path):
    from tests.core.test_network import save_tiny_run

    best = save_tiny_run(tmp_path / "run", epochs=2)
    window = make_window(model_path=str(best))
    tab = window.network_tab
    draw_digit(qtbot, window.pad.canvas, 4)
    open_tab(qtbot, window, tab)
    view = wait_for_view(qtbot, tab, lambda v: v.model == "lenet5")
    assert tab.timeline.isVisibleTo(tab) and not tab.timeline_hint.isVisibleTo(tab)
    assert tab.timeline.maximum() == 3 and tab.timeline_label.text() == "trained"
    final = view.inspection.layers[1].values.copy()

    tab.timeline.setFocus()
    qtbot.keyClick(tab.timeline, Qt.Key.Key_Home)  # back to epoch 0: the random init
    view = wait_for_view(qtbot, tab, lambda v: v.epoch_label.startswith("epoch 0"))
    assert "random init" in tab.timeline_label.text() and "epoch 0" in tab.heading.text()
    assert not np.allclose(view.inspection.layers[1].values, final)

    conv = tab.layer_row("conv 1")
    hover(qtbot, conv.view, 2)
    qtbot.waitUntil(lambda: conv.view.toolTip().startswith("conv 1 #2"), timeout=5000)
    window.close()


def test_drawing_on_the_network_tab_is_read_live_and_mirrored_on_the_pad(qtbot, make_window):
    window = make_window()
    tab = window.network_tab
    draw_digit(qtbot, window.pad.canvas, 5)
    open_tab(qtbot, window, tab)
    assert tab.canvas.strokes() == window.pad.canvas.strokes()  # the pad's drawing came along
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    assert window.pad.canvas.is_empty()
    draw_digit(qtbot, tab.canvas, 2)
    view = wait_for_view(qtbot, tab, lambda v: int(v.inspection.probabilities[:10].argmax()) == 2)
    assert window.pad.canvas.strokes() == tab.canvas.strokes()
    assert window.pad.predicted_digit() == 2 and view.model == "desknet"
    window.close()


def test_clearing_the_pad_clears_the_view_and_it_stays_clear(qtbot, make_window):
    window = make_window()
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 6)
    wait_for_view(qtbot, tab)
    assert tab.layer_rows
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    assert tab.view is None and not tab.layer_rows and window.pad.canvas.is_empty()
    open_tab(qtbot, window, window.pad)
    open_tab(qtbot, window, tab)  # the worker's last drawing must not come back
    qtbot.wait(300)
    assert tab.view is None
    window.close()


def test_an_mlp_shows_hidden_units_and_their_28x28_templates(qtbot, make_window, tmp_path):
    from tests.core.test_network import save_tiny_run

    best = save_tiny_run(tmp_path / "run", epochs=0, model_name="mlp")
    window = make_window(model_path=str(best))
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 0)
    view = wait_for_view(qtbot, tab, lambda v: v.model == "mlp")
    assert [r.layer.name for r in tab.layer_rows] == ["input", "dense 1", "dense 2", "dense 3"]
    assert view.inspection.explanations[view.target].method == "input gradient"
    hidden = tab.layer_row("dense 1")
    assert len(hidden.view.maps) == 120
    qtbot.mouseClick(hidden.view, Qt.MouseButton.LeftButton, pos=hidden.view.tile_rect(70).center())
    assert "dense 1 #70" in tab.detail_title.text() and "28×28 template" in tab.detail_title.text()
    np.testing.assert_array_equal(tab.kernels.maps[0], view.weights["1"][70])
    hover(qtbot, hidden.view, 5)
    qtbot.waitUntil(lambda: "dense 1 #5" in tab.detail_title.text(), timeout=5000)
    window.close()


def test_a_view_overtaken_by_a_newer_drawing_is_not_drawn(qtbot, make_window):
    """The GUI thread spends no time on a view whose drawing is already out of date."""
    import threading

    from PySide6.QtCore import Qt as QtNS

    window = make_window()
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 1)
    first = wait_for_view(qtbot, tab)
    computed, shown = threading.Event(), []
    window.inference_worker.network_result.connect(
        lambda *_: computed.set(),
        QtNS.ConnectionType.DirectConnection,  # in the worker
    )
    tab.view_shown.connect(shown.append)
    qtbot.mouseClick(tab.softmax, Qt.MouseButton.LeftButton, pos=tab.softmax.bar_center(4))
    assert computed.wait(20)  # the view explaining 4 waits in the GUI's queue, not drawn yet
    draw_digit(qtbot, tab.canvas, 7)  # meanwhile the person draws on
    newest = window.pad._request_id
    qtbot.waitUntil(lambda: newest in shown, timeout=30000)
    assert all(i == newest for i in shown), "the overtaken view of the 1 was drawn"
    assert tab.view is not first
    np.testing.assert_array_equal(tab.view.inspection.layers[0].values, window.pad.last_image)
    window.close()


def test_compare_shows_a_long_run_name_in_full_on_hover(qtbot):
    """The name column elides; resting the mouse on a row gives the whole name and file."""
    from PySide6.QtWidgets import QToolTip

    from mnist_desk.core.network import CompareRow
    from mnist_desk.ui.network_tab import CompareView

    long_name = "desknet-augmented-label-smoothing-0.1-cosine-schedule-run-42"
    probs = np.full(11, 0.01, np.float32)
    probs[3] = 0.9
    view = CompareView()
    qtbot.addWidget(view)
    view.set_rows(
        [
            CompareRow("shipped", "", "desknet", probs),
            CompareRow(long_name, f"/runs/{long_name}/best.pt", "desknet", probs),
        ]
    )
    view.show()
    qtbot.waitExposed(view)
    row = QPoint(40, view.ROW + view.ROW // 2)
    qtbot.mouseMove(view, pos=row)
    qtbot.wait(50)
    qtbot.mouseMove(view, pos=row + QPoint(1, 0))
    qtbot.waitUntil(lambda: QToolTip.isVisible() and long_name in QToolTip.text(), timeout=5000)
    assert QToolTip.text().startswith(f"{long_name} (desknet): 3 at 90")
    assert f"/runs/{long_name}/best.pt" in QToolTip.text()


def test_the_bars_are_shown_before_the_network_view_of_each_drawing(qtbot, make_window):
    """The pad's answer never waits for the view: for every stroke drawn on the tab, the
    bars of that drawing are up before its layers (the view is started after them)."""
    window = make_window()
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    events = []
    window.pad.answer_shown.connect(lambda i, *_: events.append(("bars", i)))
    tab.view_shown.connect(lambda i: events.append(("view", i)))
    for digit in (3, 8):
        draw_digit(qtbot, tab.canvas, digit)
        newest = window.pad._request_id
        qtbot.waitUntil(lambda newest=newest: ("view", newest) in events, timeout=30000)
    views = [i for kind, i in events if kind == "view"]
    assert len(views) >= 2
    for i in views:
        assert ("bars", i) in events, f"view {i} was shown for a drawing without bars"
        assert events.index(("bars", i)) < events.index(("view", i))
    assert window.pad.predicted_digit() == 8
    assert int(tab.view.inspection.probabilities[:10].argmax()) == 8
    window.close()


def test_at_the_minimum_size_the_layer_maps_wrap_instead_of_scrolling_sideways(qtbot, make_window):
    window = make_window()
    window.resize(window.MINIMUM_SIZE)
    qtbot.waitUntil(lambda: window.size() == window.MINIMUM_SIZE)
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 2)
    wait_for_view(qtbot, tab)
    qtbot.wait(100)  # let the layouts settle
    assert not tab.scroll.horizontalScrollBar().isVisible()
    room = tab.scroll.viewport().width()
    conv = tab.layer_row("conv 1")
    assert len(conv.view.maps) > conv.view.columns > 1  # wrapped onto more rows, not cut
    for row in tab.layer_rows:
        assert row.view.width() <= room, row.layer.name
        assert row.scale.isVisible() and row.scale.width() >= 100, row.layer.name
    # Clicking the last tile of a wrapped layer selects that map.
    last = len(conv.view.maps) - 1
    tab.scroll.ensureWidgetVisible(conv.view)
    qtbot.mouseClick(conv.view, Qt.MouseButton.LeftButton, pos=conv.view.tile_rect(last).center())
    assert f"conv 1 #{last}" in tab.detail_title.text()

    window.resize(1500, 900)  # wider: more maps a row again
    qtbot.waitUntil(lambda: conv.view.columns > 8, timeout=5000)
    window.close()


def test_the_draw_tab_shows_the_latest_answer_after_drawing_on_the_network_tab(qtbot, make_window):
    """The hidden Draw tab's chart is redrawn only when it is shown again, and then with the
    answer to the last drawing made on the Network tab (and its empty state after a clear)."""
    window = make_window()
    pad, tab = window.pad, window.network_tab
    draw_digit(qtbot, pad.canvas, 1)
    qtbot.waitUntil(lambda: pad.predicted_digit() == 1, timeout=20000)

    def ticks() -> list[str]:
        return [name for _, name in pad.bars.getAxis("left")._tickLevels[0]]

    def percentages() -> list[str]:
        return [label.textItem.toPlainText() for label in pad.bars._labels if label.isVisible()]

    assert ticks()[0] == "1"
    open_tab(qtbot, window, tab)
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    draw_digit(qtbot, tab.canvas, 8)
    wait_for_view(qtbot, tab, lambda v: int(v.inspection.probabilities[:10].argmax()) == 8)
    assert pad.predicted_digit() == 8
    assert ticks()[0] == "1"  # not drawn while nobody can see it
    open_tab(qtbot, window, pad)
    expected = [(d, p) for d, p in pad.bars.values]
    assert expected[0][0] == 8 and len(expected) == pad.k_spin.value()
    assert ticks() == [str(d) for d, _ in expected]
    assert percentages() == [f"{p * 100:.1f}%" for _, p in expected]
    assert pad.bars.empty_message() == ""

    open_tab(qtbot, window, tab)
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pad.last_probs is None, timeout=5000)
    open_tab(qtbot, window, pad)
    assert ticks() == [] and percentages() == []
    assert "Draw a digit" in pad.bars.empty_message() and pad.bars._empty_text.isVisible()
    window.close()


def test_a_newer_drawing_stops_the_view_being_computed(qtbot, make_window, monkeypatch):
    """The pad's answer never waits for the rest of an older view: a stroke made while the
    compared models read the previous drawing stops them after the models in hand."""
    import time

    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
    from mnist_desk.core.models import build_model
    from mnist_desk.core.network import NetworkSession
    from mnist_desk.paths import runs_dir

    for name in ("mlp", "lenet5", "cnn", "cnn5"):  # five models to compare, with the shipped
        checkpoint = Checkpoint(name, clean_state_dict(build_model(name)))
        save_checkpoint(checkpoint, runs_dir() / name / "best.pt")
    window = make_window()
    pad, tab = window.pad, window.network_tab
    assert len(tab._entries) == 5
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 1)
    wait_for_view(qtbot, tab)  # the compared models are loaded
    read = []
    original = NetworkSession._compare_row

    def slow_row(self, *args):
        read.append(np.array(args[4]))  # the drawing this model reads
        time.sleep(0.25)
        return original(self, *args)

    monkeypatch.setattr(NetworkSession, "_compare_row", slow_row)
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    draw_digit(qtbot, tab.canvas, 3)
    three = pad._request_id
    qtbot.waitUntil(lambda: pad._shown_id == three, timeout=20000)
    image = pad.last_image

    def reads_of_three() -> int:
        return sum(np.array_equal(r, image) for r in read)

    qtbot.waitUntil(lambda: reads_of_three() > 0, timeout=20000)  # its view is under way
    shown = []
    tab.view_shown.connect(shown.append)
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    draw_digit(qtbot, tab.canvas, 7)
    seven = pad._request_id
    view = wait_for_view(qtbot, tab, lambda v: int(v.inspection.probabilities[:10].argmax()) == 7)
    assert pad._shown_id == seven and pad.predicted_digit() == 7
    assert reads_of_three() < len(tab._entries), "the view of the 3 read every model first"
    assert three not in shown and len(view.compare) == len(tab._entries)
    window.close()


def test_in_number_mode_a_drawing_here_says_why_no_view_comes(qtbot, make_window):
    """Number mode sends drawings to the number reader: the tab says so, not a blank view."""
    window = make_window()
    pad, tab = window.pad, window.network_tab
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    assert pad.number_mode
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 7)
    qtbot.waitUntil(lambda: pad.last_number is not None, timeout=30000)
    assert tab.view is None
    assert "untick “Number”" in tab.heading.text()
    open_tab(qtbot, window, pad)
    qtbot.mouseClick(pad.number_check, Qt.MouseButton.LeftButton, pos=QPoint(6, 6))
    open_tab(qtbot, window, tab)
    view = wait_for_view(qtbot, tab)
    assert int(view.inspection.probabilities[:10].argmax()) == 7
    assert "Number" not in tab.heading.text()
    window.close()


def test_the_index_build_says_it_is_building_and_can_be_cancelled(
    qtbot, network_window, monkeypatch
):
    """The build starts by itself and takes minutes over 60,000 digits: while it runs each
    new drawing's view says it is building (not "not built yet"), and Cancel stops it."""
    from mnist_desk.ui.network_tab import NetworkTab

    monkeypatch.setattr(NetworkTab, "index_limit", None)  # all of them: slow enough to cancel
    window = network_window
    tab = window.network_tab
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 1)
    wait_for_view(qtbot, tab, lambda v: v.index_state == "missing")
    assert tab.cancel_index_button.isVisible() and tab.index_progress.isVisible()
    qtbot.mouseClick(tab.clear_button, Qt.MouseButton.LeftButton)
    shown = []
    tab.view_shown.connect(shown.append)
    draw_digit(qtbot, tab.canvas, 7)
    qtbot.waitUntil(lambda: bool(shown) and tab.view is not None, timeout=30000)
    assert tab.view.index_state == "missing" and tab._index_job is not None
    assert tab.neighbour_status.text().startswith("Building the feature index")

    # another model while the shipped one's index is built: its own is not being built
    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
    from mnist_desk.core.models import build_model
    from mnist_desk.paths import runs_dir

    other = runs_dir() / "other" / "best.pt"
    save_checkpoint(Checkpoint("mlp", clean_state_dict(build_model("mlp"))), other)
    tab._index_tried.add(str(other))  # as after an earlier, cancelled build
    window.load_model(str(other))
    qtbot.waitUntil(lambda: tab.view is not None and tab.view.source == str(other), timeout=30000)
    assert "another model's index is being built" in tab.neighbour_status.text()
    window.load_model("")  # back to the shipped model, whose index is being built
    qtbot.waitUntil(lambda: tab.view is not None and tab.view.source != str(other), timeout=30000)
    assert tab.neighbour_status.text().startswith("Building the feature index")

    qtbot.mouseClick(tab.cancel_index_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.build_button.isVisible(), timeout=30000)
    assert "cancelled" in tab.neighbour_status.text()
    assert not tab.cancel_index_button.isVisible() and not tab.index_progress.isVisible()


def test_undo_redo_and_clear_keys_work_on_the_tab_s_own_pad(qtbot, make_window):
    """The window's drawing actions are off away from the Draw tab; Ctrl+Z, Ctrl+Y and Esc
    still act on this pad, and the Draw tab's pad follows."""
    window = make_window()
    tab, pad_canvas = window.network_tab, window.pad.canvas
    open_tab(qtbot, window, tab)
    draw_digit(qtbot, tab.canvas, 4)  # two strokes
    assert len(tab.canvas.strokes()) == 2
    qtbot.keyClick(tab.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(tab.canvas.strokes()) == 1 and len(pad_canvas.strokes()) == 1
    qtbot.keyClick(tab.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert len(tab.canvas.strokes()) == 2 and len(pad_canvas.strokes()) == 2
    qtbot.keyClick(tab.canvas, Qt.Key.Key_Escape)
    assert tab.canvas.is_empty() and pad_canvas.is_empty()
    window.close()


def test_the_softmax_explains_a_class_chosen_with_the_keyboard(qtbot, network_window):
    """ "Click a class to explain it" left keyboard users out: Tab reaches the softmax, a
    digit key or ←/→ picks the class, and the digit key is not taken as "keep drawing as"."""
    window = network_window
    tab = window.network_tab
    draw_digit(qtbot, window.pad.canvas, 7)
    qtbot.waitUntil(lambda: window.pad.predicted_digit() == 7, timeout=20000)
    open_tab(qtbot, window, tab)
    wait_for_view(qtbot, tab, lambda v: v.target == 7)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tab.export_button.setFocus(Qt.FocusReason.TabFocusReason)
    for _ in range(10):
        if tab.softmax.hasFocus():
            break
        qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Tab)
    assert tab.softmax.hasFocus()
    kept = len(window.my_digits_tab.store.all())
    qtbot.keyClick(tab.softmax, Qt.Key.Key_3)
    wait_for_view(qtbot, tab, lambda v: v.target == 3)
    assert tab.why_legend.explained == "3"
    qtbot.keyClick(tab.softmax, Qt.Key.Key_Left)
    wait_for_view(qtbot, tab, lambda v: v.target == 2)
    assert len(window.my_digits_tab.store.all()) == kept
