import dataclasses
import json
import shutil
import time

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from mnist_desk.core.config import TrainConfig
from mnist_desk.core.runs import RunRecord, default_runs_table
from mnist_desk.paths import runs_dir
from mnist_desk.ui.train_tab import TABLE_COLUMNS
from tests.ui.conftest import draw_digit


def _quick_config(mnist_root, **overrides):
    values = dict(
        model="cnn",
        epochs=1,
        batch_size=64,
        lr=3e-3,
        device="cpu",
        seed=0,
        data=str(mnist_root),
        train_subset=1500,
        test_subset=300,
        out=str(runs_dir() / "quick"),
    )
    values.update(overrides)
    return TrainConfig(**values)


def _click_row(qtbot, table, row, double=False):
    """A person's click on the row's first cell, in the table's viewport."""
    item = table.item(row, 0)
    pos = table.visualItemRect(item).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    if double:  # press, release, then the double-click event, as a real double-click
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def test_the_form_covers_every_training_option(qtbot):
    """A TrainConfig field must be in the form or listed, with a reason, in NOT_IN_FORM."""
    from mnist_desk.ui.settings import open_settings
    from mnist_desk.ui.train_tab import NOT_IN_FORM, TrainTab

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    tab = TrainTab(open_settings(), jobs=None)
    qtbot.addWidget(tab)
    in_form = set(tab.fields)
    assert not (in_form & set(NOT_IN_FORM)), "a field is both in the form and excused from it"
    assert names - in_form - set(NOT_IN_FORM) == set(), "options missing from the Train tab"
    assert set(NOT_IN_FORM) <= names and in_form <= names, "stale names in the form's lists"
    assert all(reason.strip() for reason in NOT_IN_FORM.values())
    for name, widget in tab.fields.items():  # every field widget is really in the tab
        assert tab.isAncestorOf(widget), name


def test_form_builds_a_config_and_greys_out_missing_devices(qtbot, make_window):
    import torch

    window = make_window()
    tab = window.train_tab
    model = tab.fields["model"]
    assert model.findText("lenet5") >= 0 and model.findText("desknet") >= 0
    device = tab.fields["device"]
    cuda = device.findText("cuda", Qt.MatchFlag.MatchStartsWith)
    assert device.model().item(cuda).isEnabled() == torch.cuda.is_available()
    model.setCurrentText("lenet5")
    tab.fields["epochs"].setValue(3)
    tab.fields["optimizer"].setCurrentText("sgd")
    tab.fields["label_smoothing"].setValue(0.1)
    config = tab.config()
    assert (config.model, config.epochs, config.optimizer) == ("lenet5", 3, "sgd")
    assert config.label_smoothing == 0.1 and config.train_subset is None
    assert tab.keep_epochs.isChecked()  # per-epoch snapshots are on by default


def test_a_run_from_the_tab_finishes_and_its_checkpoint_predicts(qtbot, make_window, mnist_root):
    window = make_window()
    tab = window.train_tab
    with qtbot.waitSignal(tab.run_ended, timeout=180000):
        assert tab.start(_quick_config(mnist_root))
        assert not tab.start(_quick_config(mnist_root))  # only one run at a time
        assert tab.acc_plot.empty_message() == "Accuracies appear as each epoch ends."
    assert "batch (smoothed)" in tab.loss_plot.data and "test" in tab.acc_plot.data
    assert tab.start_button.isEnabled() and tab.table.rowCount() == 1
    assert tab.table.item(0, 2).text() == "done"
    scored = tab.table.item(0, TABLE_COLUMNS.index("test acc")).toolTip()
    assert scored == "Scored on the first 300 MNIST test digits."  # not all 10,000
    path = str(tab.last_result.best_path)
    assert window.pad.model_combo.findData(path) >= 0  # selectable on the pad
    qtbot.mouseClick(tab.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == path, timeout=20000)
    draw_digit(qtbot, window.pad.canvas, 1)
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)


def test_cancel_stops_within_a_second_and_keeps_a_checkpoint(qtbot, make_window, mnist_root):
    from mnist_desk.core.checkpoint import load_checkpoint

    window = make_window()
    tab = window.train_tab
    tab.start(_quick_config(mnist_root, epochs=50, train_subset=600, test_subset=200))
    qtbot.waitUntil(lambda: "test" in tab.acc_plot.data, timeout=120000)  # one epoch done
    epochs = tab.table.item(0, TABLE_COLUMNS.index("epochs")).text()  # the row keeps count
    assert tab.table.rowCount() == 1 and epochs.endswith("/50") and epochs != "0/50"
    with qtbot.waitSignal(tab.run_ended, timeout=5000):
        started = time.perf_counter()
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert time.perf_counter() - started < 1.0
    assert tab.last_result.cancelled and tab.start_button.isEnabled()
    assert load_checkpoint(tab.last_result.best_path).metrics["epoch"] >= 1
    record = tab.selected_record()
    assert record.status == "cancelled" and record.epochs_done >= 1
    assert tab._resume_ok and tab.resume_button.isEnabled()

    # Resume continues where it stopped: the next epoch reported is the one after the last
    done_before = record.epochs_done
    qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.acc_plot.data.get("test", ([], []))[0]) >= 1, timeout=120000)
    assert list(tab.acc_plot.data["test"][0])[0] == done_before + 1
    with qtbot.waitSignal(tab.run_ended, timeout=10000):
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    resumed = tab.selected_record()
    assert resumed.out == record.out and resumed.epochs_done > done_before


def test_missing_data_names_the_data_field_and_wraps(qtbot, make_window, tmp_path):
    window = make_window()
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    data = tab.fields["data"]
    data.clear()
    qtbot.keyClicks(data, str(tmp_path / "a-folder-with-a-rather-long-name" / "nowhere" / "x"))
    tab.fields["train_subset"].setValue(500)
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    text = tab.error_label.text()
    assert tab.error_label.isVisible() and "Data field" in text and "is missing" in text
    assert "--data" not in text
    assert tab.start_button.isEnabled() and not tab.running
    # the line wraps inside the form's column instead of running past the window's edge
    column = tab.error_label.parentWidget()
    assert tab.error_label.minimumSizeHint().width() <= column.width()
    assert tab.error_label.geometry().right() <= column.width()


def test_training_digits_and_other_choices_are_remembered(qtbot, make_window):
    window = make_window()
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    spin = tab.fields["train_subset"]
    spin.selectAll()
    qtbot.keyClicks(spin, "2000")
    spin.editingFinished.emit()
    tab.fields["augment"].click()
    window.close()
    again = make_window(wait=False).train_tab
    assert again.fields["train_subset"].value() == 2000
    assert again.fields["augment"].isChecked()


def _fake_run(name: str, model_file, acc: float, status="finished") -> RunRecord:
    out = runs_dir() / name
    out.mkdir(parents=True)
    best = out / "best.pt"
    shutil.copy(model_file, best)
    history = [
        {"epoch": e, "train_loss": 1 / e, "train_acc": acc - 0.1 / e, "test_loss": 1.5 / e,
         "test_acc": acc - 0.05 / e}
        for e in (1, 2, 3)
    ]  # fmt: skip
    (out / "history.json").write_text(json.dumps(history))
    record = RunRecord(
        out=str(out), model="desknet", status=status, best_path=str(best), test_acc=acc,
        epochs_done=3, epochs=3,
    )  # fmt: skip
    default_runs_table().upsert(record)
    return record


def test_selecting_a_run_shows_its_curves_and_enables_use(qtbot, make_window, shipped_checkpoint):
    first = _fake_run("first", shipped_checkpoint, 0.9)
    second = _fake_run("second", shipped_checkpoint, 0.8)
    window = make_window()
    tab = window.train_tab
    window.tabs.setCurrentWidget(tab)
    assert tab.table.rowCount() == 2 and not tab.use_button.isEnabled()
    assert not tab.export_button.isEnabled()  # no curves yet: nothing to export
    row = next(r for r in range(2) if tab.table.item(r, 0).text() == "second")
    _click_row(qtbot, tab.table, row)
    assert tab.use_button.isEnabled() and tab.export_button.isEnabled()
    xs, ys = tab.acc_plot.data["test"]
    assert list(xs) == [1, 2, 3] and abs(ys[-1] - (0.8 - 0.05 / 3)) < 1e-9
    qtbot.mouseClick(tab.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == second.best_path, timeout=20000)
    _click_row(qtbot, tab.table, 1 - row, double=True)  # double-click still activates
    qtbot.waitUntil(lambda: window.active_model_path == first.best_path, timeout=20000)


def test_a_damaged_runs_table_is_skipped_and_named(qtbot, make_window, shipped_checkpoint):
    _fake_run("good", shipped_checkpoint, 0.9)
    table = default_runs_table().path
    rows = json.loads(table.read_text())
    table.write_text(json.dumps(["x", 1, *rows]))
    window = make_window()
    assert window.train_tab.table.rowCount() == 1
    assert window.problems_label.isVisible() and "runs.json" in window.problems_label.text()


def test_fine_tune_with_too_few_digits_says_so(qtbot, make_window, mnist_root):
    from mnist_desk.core.handwriting import our_digit

    window = make_window()
    store = window.my_digits_tab.store
    for digit in (1, 2, 3, 4, 5, 6):
        strokes, pen = our_digit(digit, "plain")
        store.add(strokes, pen, digit)
    tab = window.train_tab
    tab.fields["data"].setText(str(mnist_root))
    window.tabs.setCurrentWidget(tab)
    tab.loss_plot.append("train", 1.0, 0.5)  # a finished run's curves, still on screen
    log_before = tab.log.toPlainText()
    with qtbot.assertNotEmitted(tab.run_ended, wait=300):
        qtbot.mouseClick(tab.fine_tune_button, Qt.MouseButton.LeftButton)
        # Refused before anything starts: no job, no log line, the curves stay, no row.
        assert not tab.running
    text = tab.error_label.text()
    assert "at least 10" in text and "you have 6" in text and "0.0%" not in text
    assert tab.error_label.isVisible()
    assert tab.log.toPlainText() == log_before and "Starting" not in log_before
    assert list(tab.loss_plot.data) == ["train"]
    assert tab.table.rowCount() == 0 and default_runs_table().load() == ([], [])
    assert tab.fine_tune_button.isEnabled() and tab.fine_tune_label.text() == ""


def test_closing_during_a_run_asks_then_stops_cleanly(qtbot, make_window, mnist_root, monkeypatch):
    window = make_window()
    tab = window.train_tab
    tab.start(_quick_config(mnist_root, epochs=50, train_subset=3000))
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=60000)
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No
    )
    window.close()
    assert asked and window.isVisible() and tab.running  # "No" keeps it training
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    thread = tab.job.thread
    window.close()
    assert not window.isVisible()
    assert not thread.isRunning()  # the job's thread was stopped, not abandoned


def test_closing_with_training_and_evaluation_running_ends_every_thread_fast(
    qtbot, make_window, mnist_root, monkeypatch
):
    window = make_window()
    tab = window.train_tab
    tab.fields["data"].setText(str(mnist_root))
    tab.start(_quick_config(mnist_root, epochs=50, train_subset=3000))
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=60000)
    window.tabs.setCurrentWidget(window.mistakes_tab)
    qtbot.mouseClick(window.mistakes_tab.evaluate_button, Qt.MouseButton.LeftButton)
    threads = [job.thread for job in window.jobs.jobs()] + [window.inference_thread]
    assert len(threads) == 3 and all(t.isRunning() for t in threads)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    started = time.perf_counter()
    window.close()
    assert time.perf_counter() - started < 2.0
    assert not any(t.isRunning() for t in threads) and not window.jobs.busy()


def test_the_status_says_loading_from_the_start_click_until_the_first_batch(
    qtbot, make_window, mnist_root
):
    window = make_window()
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    tab.fields["data"].setText(str(mnist_root))
    tab.fields["model"].setCurrentText("cnn")
    tab.fields["epochs"].setValue(1)
    tab.fields["train_subset"].setValue(600)
    tab.fields["test_subset"].setValue(200)
    tab.fields["device"].setCurrentIndex(tab.fields["device"].findText("cpu"))
    assert tab.speed_label.text() == "Idle"
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert tab.running and tab.speed_label.text() == "Loading data…"
    phases = []
    tab.job.progress.connect(lambda event: phases.append((event.kind, tab.speed_label.text())))
    with qtbot.waitSignal(tab.run_ended, timeout=120000):
        pass
    assert phases[0] == ("start", "Epoch 1/1: first batch…")
    assert all(text.startswith("Epoch 1/1 · ") for kind, text in phases[1:] if kind == "batch")
    assert tab.speed_label.text() == "Finished"


def test_the_train_tab_fits_a_narrow_window_and_sorts_runs_by_value(
    qtbot, make_window, shipped_checkpoint
):
    """At the minimum width no column scrolls out of sight: the long name is cut in the
    middle, whole in its tooltip; the accuracy column sorts as numbers, not as text."""
    long_name = "desknet-a-rather-long-run-name-from-the-command-line-20261126-025859"
    _fake_run(long_name, shipped_checkpoint, 0.875)
    _fake_run("cnn-short", shipped_checkpoint, 1.0)
    window = make_window()
    window.resize(window.MINIMUM_SIZE)
    qtbot.waitUntil(lambda: window.size() == window.MINIMUM_SIZE)
    tab = window.train_tab
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    qtbot.wait(100)
    for button in (tab.start_button, tab.cancel_button, tab.use_button, tab.resume_button):
        assert button.visibleRegion().boundingRect() == button.rect(), button.text()  # whole
    table, header = tab.table, tab.table.horizontalHeader()
    last = table.columnCount() - 1
    assert header.sectionPosition(last) + header.sectionSize(last) <= table.viewport().width()
    assert header.sectionSize(0) >= 80  # the name keeps a readable share
    for column in range(1, table.columnCount()):  # the short columns are never cut
        assert header.sectionSize(column) >= header.sectionSizeHint(column) - 1
    row = next(r for r in range(2) if table.item(r, 0).text() == long_name)
    assert long_name in table.item(row, 0).toolTip()
    scored = table.item(row, TABLE_COLUMNS.index("test acc")).toolTip()
    assert scored == "Scored on all 10,000 MNIST test digits."
    assert table.fontMetrics().horizontalAdvance(long_name) > header.sectionSize(0)  # so: cut
    assert header.sortIndicatorSection() == TABLE_COLUMNS.index("created")  # newest first
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert tab.loss_plot.empty_message() == "Start a run, or select one below."
    _click_row(qtbot, table, 0)  # a run's curves replace the empty charts' sentence
    assert tab.loss_plot.empty_message() == "" and tab.loss_plot.data
    accuracy = TABLE_COLUMNS.index("test acc")
    qtbot.mouseClick(  # a person's click on the header sorts by it
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(accuracy) + 10, header.height() // 2),
    )
    shown = [table.item(r, accuracy).text() for r in range(2)]
    ascending = header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert shown == (["87.50%", "100.00%"] if ascending else ["100.00%", "87.50%"])


def test_a_run_that_fails_in_its_first_epoch_leaves_no_row_and_no_folder(
    qtbot, make_window, mnist_root
):
    window = make_window()
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    tab.fields["model"].setCurrentText("cnn")
    tab.fields["optimizer"].setCurrentText("sgd")
    tab.fields["epochs"].setValue(1)
    tab.fields["train_subset"].setValue(1000)
    tab.fields["test_subset"].setValue(100)
    tab.fields["data"].setText(str(mnist_root))
    lr = tab.fields["lr"]
    lr.lineEdit().selectAll()
    qtbot.keyClicks(lr, "10")  # far too large: the loss blows up within the first epoch
    with qtbot.waitSignal(tab.run_ended, timeout=120000) as ended:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert ended.args == [False] and "loss became" in tab.error_label.text()
    assert tab.table.rowCount() == 0 and default_runs_table().load() == ([], [])
    assert [p.name for p in runs_dir().iterdir()] == ["runs.json"]  # no empty run folder


def _cnn_form(window, mnist_root, **numbers):
    """The Train tab on screen with the cnn and the MNIST folder chosen, and these numbers."""
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    tab.fields["model"].setCurrentText("cnn")
    tab.fields["data"].setText(str(mnist_root))
    for name, value in numbers.items():
        tab.fields[name].setValue(value)
    return tab


def test_a_run_cancelled_before_its_first_epoch_leaves_no_row_and_no_folder(
    qtbot, make_window, mnist_root
):
    """As a run that fails there: nothing to use or resume, so nothing is left behind."""
    tab = _cnn_form(make_window(), mnist_root, epochs=3, batch_size=32, train_subset=20000)
    tab.fields["test_subset"].setValue(100)
    tab.fields["keep_epochs"].setChecked(True)  # its initial snapshot goes too
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "images/s" in tab.speed_label.text(), timeout=60000)  # batches run
    assert tab.table.rowCount() == 1  # the running run is listed while it runs
    with qtbot.waitSignal(tab.run_ended, timeout=10000):
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert tab.last_result.cancelled and tab.last_result.best_path is None
    assert "before the first epoch ended" in tab.log.toPlainText()
    assert tab.table.rowCount() == 0 and default_runs_table().load() == ([], [])
    assert [p.name for p in runs_dir().iterdir()] == ["runs.json"]  # no half-made folder
    assert tab.start_button.isEnabled() and tab.speed_label.text() == "Cancelled"


def test_an_old_row_cancelled_before_its_first_epoch_offers_no_resume(
    qtbot, make_window, shipped_checkpoint
):
    """Tables written before such runs left nothing can still hold a 'cancelled 0/N' row."""
    record = _fake_run("early", shipped_checkpoint, 0.5, status="cancelled")
    record.epochs_done, record.best_path = 0, None
    default_runs_table().upsert(record)
    window = make_window()
    window.tabs.setCurrentWidget(window.train_tab)
    tab = window.train_tab
    _click_row(qtbot, tab.table, 0)
    assert tab.selected_record().status == "cancelled"
    assert not tab.resume_button.isEnabled()  # no last.pt: resuming could only fail
    assert "nothing to resume" in tab.resume_button.toolTip()
    qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
    assert not tab.running and tab.selected_record().status == "cancelled"


def test_the_status_says_an_epoch_is_being_scored_not_zero_seconds_left(
    qtbot, make_window, mnist_root
):
    tab = _cnn_form(make_window(), mnist_root, epochs=1, train_subset=500)
    tab.fields["test_subset"].setValue(0)  # all 10,000: scoring takes a moment
    qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "measuring its accuracy" in tab.speed_label.text(), timeout=60000)
    assert "0s left" not in tab.speed_label.text() and "Epoch 1/1" in tab.speed_label.text()
    with qtbot.waitSignal(tab.run_ended, timeout=120000):
        pass
    assert tab.speed_label.text() == "Finished"


def _fine_tune_form(window, mnist_root):
    """Twenty of the person's digits kept, and a short, small fine-tune set in the form."""
    from mnist_desk.core.handwriting import our_digit

    for digit in range(10):
        for style in ("plain", "slanted"):
            window.my_digits_tab.store.add(*our_digit(digit, style), digit)
    tab = _cnn_form(window, mnist_root, epochs=50, batch_size=64, train_subset=256)
    tab.fields["test_subset"].setValue(200)
    tab.fields["device"].setCurrentIndex(tab.fields["device"].findText("cpu"))
    return tab


def test_a_fine_tune_cancelled_after_an_epoch_keeps_a_usable_row(qtbot, make_window, mnist_root):
    """Like a cancelled training run: its epochs and best.pt are listed, and it can be used."""
    window = make_window()
    tab = _fine_tune_form(window, mnist_root)
    qtbot.mouseClick(tab.fine_tune_button, Qt.MouseButton.LeftButton)
    assert tab.running and tab.table.rowCount() == 1  # the running run is listed at once
    out = tab.selected_record().out
    qtbot.waitUntil(lambda: "test" in tab.acc_plot.data, timeout=120000)  # one epoch done
    # runs.json follows the run epoch by epoch, not only when it ends (one writer: core)
    qtbot.waitUntil(lambda: default_runs_table().get(out).epochs_done >= 1, timeout=10000)
    with qtbot.waitSignal(tab.run_ended, timeout=10000):
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    record = tab.selected_record()
    assert record.out == out and record.status == "cancelled" and record.epochs_done >= 1
    row = tab.table.currentRow()
    epochs = tab.table.item(row, TABLE_COLUMNS.index("epochs")).text()
    assert epochs == f"{record.epochs_done}/50" and epochs != "0/50"
    assert tab.table.item(row, TABLE_COLUMNS.index("test acc")).text().endswith("%")
    assert "Fine-tuning cancelled after" in tab.fine_tune_label.text()
    assert tab.speed_label.text() == "Cancelled"
    assert not tab.resume_button.isEnabled() and "fine-tune" in tab.resume_button.toolTip()
    qtbot.mouseClick(tab.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.active_model_path == record.best_path, timeout=20000)


def test_a_fine_tune_cancelled_in_its_first_epoch_leaves_no_row(qtbot, make_window, mnist_root):
    tab = _fine_tune_form(make_window(), mnist_root)
    tab.fields["train_subset"].setValue(20000)  # a long first epoch
    qtbot.mouseClick(tab.fine_tune_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "images/s" in tab.speed_label.text(), timeout=60000)  # batches run
    assert tab.table.rowCount() == 1
    with qtbot.waitSignal(tab.run_ended, timeout=10000):
        qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    assert tab.table.rowCount() == 0 and default_runs_table().load() == ([], [])
    assert [p.name for p in runs_dir().iterdir()] == ["runs.json"]  # no half-made folder
    assert tab.start_button.isEnabled() and tab.speed_label.text() == "Cancelled"


def test_a_runs_list_that_cannot_be_written_is_said_in_the_window(
    qtbot, make_window, mnist_root, monkeypatch
):
    """The run is kept, but the table may not show it: the person is told, with where it is."""
    from tests.core.test_train_cli import make_runs_table_unwritable

    make_runs_table_unwritable(monkeypatch)
    tab = _cnn_form(make_window(), mnist_root, epochs=1, train_subset=300)
    tab.fields["model"].setCurrentText("mlp")
    tab.fields["test_subset"].setValue(100)
    with qtbot.waitSignal(tab.run_ended, timeout=120000) as ended:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
    assert ended.args == [True] and tab.speed_label.text() == "Finished"
    best = tab.last_result.best_path
    assert best is not None and best.exists()
    shown = tab.error_label.text().replace("\u200b", "")  # break points let paths wrap
    assert tab.error_label.isVisible()
    assert "could not be updated (No space left on device)" in shown
    assert f"the checkpoint {best} is saved." in shown
    assert "could not be updated" in tab.log.toPlainText()


def test_the_form_stays_where_it_was_when_a_run_starts_and_ends(qtbot, make_window, mnist_root):
    """Start turns itself off while it has the focus: the focus goes to Cancel (and back to
    Start at the end) without the scroll area scrolling the form to another widget."""
    window = make_window()
    window.resize(900, 560)  # the form needs its scroll bar
    tab = _cnn_form(window, mnist_root, epochs=1, train_subset=300)
    tab.fields["model"].setCurrentText("mlp")
    tab.fields["test_subset"].setValue(100)
    bar = tab.form_scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    tab.form_scroll.ensureWidgetVisible(tab.start_button, 0, 0)
    where = bar.value()
    with qtbot.waitSignal(tab.run_ended, timeout=120000):
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)
        assert tab.cancel_button.hasFocus() and bar.value() == where
    assert tab.start_button.hasFocus() and bar.value() == where
