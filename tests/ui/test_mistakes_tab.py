import numpy as np
from PySide6.QtCore import QPointF, Qt

SUBSET = 1000


def _evaluated(qtbot, make_window, mnist_root, monkeypatch):
    # The Train tab's Data field is the one data folder: the environment points nowhere.
    monkeypatch.setenv("MNIST_DESK_DATA", "/nowhere")
    window = make_window()
    window.train_tab.fields["data"].setText(str(mnist_root))
    tab = window.mistakes_tab
    window.tabs.setCurrentWidget(tab)
    tab.subset.selectAll()
    qtbot.keyClicks(tab.subset, str(SUBSET))
    with qtbot.waitSignal(tab.evaluation_ended, timeout=120000) as ended:
        qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    assert ended.args == [True], tab.error_label.text()
    return window, tab


def test_matrix_gallery_and_open_on_pad(qtbot, make_window, mnist_root, monkeypatch):
    window, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    matrix = tab.heatmap.matrix
    assert matrix.sum() + tab.result.rejected().sum() == SUBSET
    wrong = SUBSET - np.trace(matrix)
    assert tab.model.rowCount() == wrong

    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, predicted = np.unravel_index(off.argmax(), off.shape)
    # a real click on the cell's centre
    view = tab.heatmap
    scene_point = view.plotItem.vb.mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: tab.true_filter.currentData() == true)
    assert tab.pred_filter.currentData() == predicted
    assert tab.model.rowCount() == matrix[true, predicted]
    rows = [tab.model.test_index(r) for r in range(tab.model.rowCount())]
    assert all(tab.model.labels[i] == true and tab.model.predictions[i] == predicted for i in rows)

    tab.gallery.setCurrentIndex(tab.model.index(0))
    i = tab.current_test_index()
    assert tab.open_button.isEnabled()
    qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.pad
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    assert window.pad.predicted_digit() == tab.model.predictions[i]
    np.testing.assert_allclose(window.pad.last_probs, tab.model.probabilities[i][:10], atol=1e-4)


def test_sorting_by_confidence(qtbot, make_window, mnist_root, monkeypatch):
    _, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    conf = lambda: [tab.model.probabilities[i, tab.model.predictions[i]] for i in tab.model.rows]  # noqa: E731
    assert conf() == sorted(conf(), reverse=True)
    tab.sort_combo.setCurrentIndex(1)
    assert conf() == sorted(conf())


def test_missing_data_is_explained(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    window.train_tab.fields["data"].setText(str(tmp_path / "none"))
    tab = window.mistakes_tab
    with qtbot.waitSignal(tab.evaluation_ended, timeout=30000):
        qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    text = tab.error_label.text()
    assert "is missing" in text and "Data field on the Train tab" in text
    assert tab.evaluate_button.isEnabled()


def test_the_detail_panel_follows_the_gallery_and_clears_when_filters_change(
    qtbot, make_window, mnist_root, monkeypatch
):
    from mnist_desk.ui.mistakes_tab import DETAIL_HINT

    _, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    first = tab.model.index(0)
    qtbot.mouseClick(
        tab.gallery.viewport(),
        Qt.MouseButton.LeftButton,
        pos=tab.gallery.visualRect(first).center(),
    )
    i = tab.model.test_index(0)
    assert tab.detail_label.text().startswith(f"Test digit #{i}:")
    assert tab.detail_bars.values and tab.open_button.isEnabled()

    tab.true_filter.setFocus()
    qtbot.keyClick(tab.true_filter, Qt.Key.Key_Down)  # a new filter: the gallery is rebuilt
    assert tab.true_filter.currentData() == 0
    assert tab.detail_label.text() == DETAIL_HINT
    assert tab.detail_bars.values == [] and tab.detail_bars.empty_message()
    assert not tab.open_button.isEnabled()


def test_before_an_evaluation_the_tab_says_what_to_press(qtbot, make_window):
    window = make_window()
    tab = window.mistakes_tab
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    assert tab.isVisible() and not tab.gallery.isVisible()
    assert (
        tab.empty_label.isVisible() and "Evaluate on the MNIST test set" in tab.empty_label.text()
    )
    assert not tab.clear_filter_button.isVisible()
    assert tab.detail_bars.empty_message() == "No digit selected."
    assert not tab.progress.isVisible()  # no empty bar that looks like a text field
    qtbot.keyClick(tab.true_filter, Qt.Key.Key_Down)  # a filter before any result: still said
    assert "Evaluate on the MNIST test set" in tab.empty_label.text()


def test_a_filter_chosen_before_an_evaluation_counts_nothing(qtbot, make_window):
    """Choosing "True 3" with the keyboard before evaluating showed "0 digits": as if the
    model made no mistakes on 3s. Until there is a result there is no count."""
    window = make_window()
    tab = window.mistakes_tab
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    for _ in range(4):
        qtbot.keyClick(tab.true_filter, Qt.Key.Key_Down)
    assert tab.true_filter.currentData() == 3
    assert "digit" not in tab.count_label.text()
    assert "Evaluate on the MNIST test set" in tab.empty_label.text()


def test_an_evaluation_can_be_cancelled(qtbot, make_window, mnist_root):
    window = make_window()
    window.train_tab.fields["data"].setText(str(mnist_root))
    tab = window.mistakes_tab
    window.tabs.setCurrentWidget(tab)
    with qtbot.waitSignal(tab.evaluation_ended, timeout=60000) as ended:
        qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert ended.args == [False] and "cancelled" in tab.summary.text()
    assert tab.evaluate_button.isEnabled()
    qtbot.waitUntil(lambda: not window.jobs.busy(), timeout=5000)


def test_a_cell_with_no_mistakes_says_so_and_the_filter_can_be_cleared(
    qtbot, make_window, mnist_root, monkeypatch
):
    _, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    matrix = tab.heatmap.matrix
    wrong = tab.model.rowCount()
    empty = [(t, p) for t in range(10) for p in range(10) if t != p and matrix[t, p] == 0]
    true, predicted = empty[0]
    view = tab.heatmap
    scene_point = view.plotItem.vb.mapViewToScene(QPointF(predicted + 0.5, true + 0.5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_point))
    qtbot.waitUntil(lambda: tab.model.rowCount() == 0)
    assert not tab.gallery.isVisible() and tab.empty_label.isVisible()
    text = tab.empty_label.text()
    assert f"No misclassified {true}s read as {predicted}" in text and "clear the filter" in text
    assert tab.count_label.text() == "0 digits"

    qtbot.mouseClick(tab.clear_filter_button, Qt.MouseButton.LeftButton)
    assert tab.true_filter.currentData() is None and tab.pred_filter.currentData() is None
    assert tab.model.rowCount() == wrong
    assert tab.gallery.isVisible() and not tab.empty_label.isVisible()
    # The shipped model can answer "not a digit" (class 10): said as "?", never as "10".
    texts = [tab.model.data(tab.model.index(r)) for r in range(wrong)]
    assert not any("→ 10" in text for text in texts)
    rejected = [r for r in range(wrong) if tab.model.predictions[tab.model.test_index(r)] == 10]
    for r in rejected:
        assert "→ ?" in texts[r]
        assert "not a digit" in tab.model.data(tab.model.index(r), Qt.ItemDataRole.ToolTipRole)
    if rejected:
        index = tab.model.index(rejected[0])
        qtbot.mouseClick(
            tab.gallery.viewport(),
            Qt.MouseButton.LeftButton,
            pos=tab.gallery.visualRect(index).center(),
        )
        assert tab.detail_label.text().endswith("read as not a digit.")
        names = [name for _, name in tab.detail_bars.getAxis("left")._tickLevels[0]]
        assert "?" in names and "10" not in names


def test_while_it_evaluates_the_gallery_says_so_not_press_evaluate(qtbot, make_window, mnist_root):
    window = make_window()
    window.train_tab.fields["data"].setText(str(mnist_root))
    tab = window.mistakes_tab
    window.tabs.setCurrentWidget(tab)
    assert "Press" in tab.empty_label.text()
    qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)  # all 10,000: seconds
    assert tab.empty_label.isVisible() and "Evaluating" in tab.empty_label.text()
    qtbot.mouseClick(tab.true_filter, Qt.MouseButton.LeftButton)  # a filter changed meanwhile
    qtbot.keyClick(tab.true_filter.view(), Qt.Key.Key_Down)
    qtbot.keyClick(tab.true_filter.view(), Qt.Key.Key_Return)
    assert tab.true_filter.currentData() == 0 and "Evaluating" in tab.empty_label.text()
    with qtbot.waitSignal(tab.evaluation_ended, timeout=10000):
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert "Press" in tab.empty_label.text()  # cancelled: nothing evaluated yet


def test_after_the_active_model_changes_the_old_mistakes_say_whose_they_are(
    qtbot, make_window, mnist_root, monkeypatch, tmp_path, shipped_checkpoint
):
    import shutil

    from PySide6.QtWidgets import QFileDialog

    window, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    scores = tab.summary.text()
    assert "These are the mistakes of" not in scores
    other = tmp_path / "another-run" / "best.pt"
    other.parent.mkdir()
    shutil.copy(shipped_checkpoint, other)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(other), ""))
    window.tabs.setCurrentWidget(window.pad)
    qtbot.mouseClick(window.pad.open_model_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == str(other), timeout=20000)
    window.tabs.setCurrentWidget(tab)
    text = tab.summary.text()
    assert "These are the mistakes of" in text and "press Evaluate" in text
    assert scores in text  # the old scores stay readable, under the warning

    with qtbot.waitSignal(tab.evaluation_ended, timeout=120000):
        qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    assert "These are the mistakes of" not in tab.summary.text()


def test_export_waits_for_a_matrix(qtbot, make_window, mnist_root, monkeypatch):
    """Before an evaluation there is no matrix to save: the button is off."""
    import mnist_desk.ui.mistakes_tab as mistakes_tab

    asked = []
    monkeypatch.setattr(mistakes_tab, "ask_save_path", lambda *a, **k: asked.append(a) or "")
    window = make_window()
    tab = window.mistakes_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    assert not tab.export_button.isEnabled() and asked == []
    window.close()

    window, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    assert tab.export_button.isEnabled()
    assert tab.progress.isVisible() and tab.progress.value() == 100
    qtbot.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    assert len(asked) == 1  # the save dialog was asked for (and cancelled)


def test_a_double_click_on_a_mistake_opens_it_on_the_pad(
    qtbot, make_window, mnist_root, monkeypatch
):
    """As in My digits: no need to find the Open on pad button."""
    window, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    assert tab.model.rowCount() > 0
    first = tab.model.index(0)
    i = tab.model.test_index(0)
    qtbot.waitUntil(lambda: tab.gallery.visualRect(first).isValid())  # laid out in batches
    point = tab.gallery.visualRect(first).center()
    # A real double-click: press and release, then the double-click event on the same item.
    qtbot.mouseClick(tab.gallery.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.mouseDClick(tab.gallery.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.tabs.currentWidget() is window.pad
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    assert window.pad.predicted_digit() == tab.model.predictions[i]


def test_enter_on_a_gallery_digit_opens_it_on_the_pad(qtbot, make_window, mnist_root, monkeypatch):
    """Double-click was the only way from the gallery to the pad besides a button Tab must
    travel to: Enter on the current digit does it, as in My digits."""
    window, tab = _evaluated(qtbot, make_window, mnist_root, monkeypatch)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    tab.gallery.setFocus(Qt.FocusReason.TabFocusReason)
    tab.gallery.setCurrentIndex(tab.model.index(0))
    qtbot.keyClick(tab.gallery, Qt.Key.Key_Right)
    i = tab.current_test_index()
    assert i == tab.model.test_index(1)
    qtbot.keyClick(tab.gallery, Qt.Key.Key_Return)
    assert window.tabs.currentWidget() is window.pad
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)
    assert window.pad.predicted_digit() == tab.model.predictions[i]
