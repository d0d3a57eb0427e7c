import time

from PySide6.QtCore import Qt

from mnist_desk.core.config import TrainConfig
from mnist_desk.paths import runs_dir
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


def test_form_builds_a_config_and_greys_out_missing_devices(qtbot, make_window):
    window = make_window()
    tab = window.train_tab
    assert tab.model_combo.findText("lenet5") >= 0 and tab.model_combo.findText("desknet") >= 0
    cuda = tab.device.findText("cuda", Qt.MatchFlag.MatchStartsWith)
    import torch

    assert tab.device.model().item(cuda).isEnabled() == torch.cuda.is_available()
    tab.model_combo.setCurrentText("lenet5")
    tab.epochs.setValue(3)
    tab.optimizer.setCurrentText("sgd")
    config = tab.config()
    assert (config.model, config.epochs, config.optimizer) == ("lenet5", 3, "sgd")


def test_a_run_from_the_tab_finishes_and_its_checkpoint_predicts(qtbot, make_window, mnist_root):
    window = make_window()
    tab = window.train_tab
    with qtbot.waitSignal(tab.run_ended, timeout=180000):
        assert tab.start(_quick_config(mnist_root))
        assert not tab.start(_quick_config(mnist_root))  # only one run at a time
    assert "batch (smoothed)" in tab.loss_plot.data and "test" in tab.acc_plot.data
    assert tab.start_button.isEnabled() and tab.table.rowCount() == 1
    path = str(tab.last_result.best_path)
    assert window.pad.model_combo.findData(path) >= 0  # selectable on the pad
    tab.use_button.click()
    qtbot.waitUntil(lambda: window.active_model_path == path, timeout=20000)
    draw_digit(qtbot, window.pad.canvas, 1)
    qtbot.waitUntil(lambda: window.pad.last_probs is not None, timeout=10000)


def test_cancel_stops_within_a_second_and_keeps_a_checkpoint(qtbot, make_window, mnist_root):
    from mnist_desk.core.checkpoint import load_checkpoint

    window = make_window()
    tab = window.train_tab
    tab.start(_quick_config(mnist_root, epochs=50, train_subset=600, test_subset=200))
    qtbot.waitUntil(lambda: "test" in tab.acc_plot.data, timeout=120000)  # one epoch done
    with qtbot.waitSignal(tab.run_ended, timeout=5000):
        started = time.perf_counter()
        tab.cancel_button.click()
    assert time.perf_counter() - started < 1.0
    assert tab.last_result.cancelled and tab.start_button.isEnabled()
    assert load_checkpoint(tab.last_result.best_path).metrics["epoch"] >= 1


def test_a_failing_run_shows_the_error_and_reenables_start(qtbot, make_window, tmp_path):
    window = make_window()
    tab = window.train_tab
    with qtbot.waitSignal(tab.run_ended, timeout=30000):
        tab.start(
            TrainConfig(
                model="cnn",
                epochs=1,
                data=str(tmp_path / "nowhere"),
                out=str(tmp_path / "run"),
                device="cpu",
            )
        )
    assert not tab.error_label.isHidden() and "is missing" in tab.error_label.text()
    assert tab.start_button.isEnabled() and not tab.running
    assert window.isVisible()  # the app is still usable


def test_closing_during_a_run_asks_then_stops_cleanly(qtbot, make_window, mnist_root, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

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
    started = time.perf_counter()
    window.close()
    assert not window.isVisible()
    assert not tab.thread.isRunning()  # the worker thread was stopped, not abandoned
    assert time.perf_counter() - started < 5
