import os
import subprocess
import sys
import threading
import time


def _run(args, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "mnist_desk", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_display_is_one_clear_sentence():
    out = _run([], QT_QPA_PLATFORM="")
    assert out.returncode == 1
    assert "No display found" in out.stderr and "Traceback" not in out.stderr


def test_the_app_starts_and_reads_a_drawing_without_data_or_gpu(tmp_path):
    out = _run(
        ["gui", "--self-test"],
        QT_QPA_PLATFORM="offscreen",
        MNIST_DESK_DATA=str(tmp_path / "no-data"),
        CUDA_VISIBLE_DEVICES="",
        MNIST_DESK_HOME=str(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert "self-test: read 7" in out.stdout
    # the engine is named (the bundle's smoke test relies on it): onnxruntime where it and
    # onnx (its exporter's need) are installed, as the dev extras install them
    assert f") with {_engine()}; window shown" in out.stdout


def test_a_bad_model_option_fails_the_self_test_with_a_message(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"nope")
    out = _run(
        ["gui", "--self-test", "--model", str(bad)],
        QT_QPA_PLATFORM="offscreen",
        MNIST_DESK_HOME=str(tmp_path),
    )
    assert out.returncode == 1
    assert "bad.pt" in out.stdout


CLOSE_WHILE_BUSY = """
import sys, time
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from mnist_desk.core.config import TrainConfig
from mnist_desk.ui.main_window import MainWindow

app = QApplication(sys.argv[:1])
window = MainWindow()
window.show()
QMessageBox.question = lambda *a, **k: QMessageBox.StandardButton.Yes  # "stop and quit?"
data = sys.argv[1]
window.train_tab.fields["data"].setText(data)
app.aboutToQuit.connect(window.shutdown)

def busy():
    if not window.pad.model_ready:
        return QTimer.singleShot(100, busy)
    window.train_tab.start(TrainConfig(model="cnn", epochs=50, data=data, device="cpu",
                                       train_subset=3000, out=sys.argv[2]))
    QTimer.singleShot(100, evaluate)

def evaluate():
    # Both jobs are past their one-off start (a process's first optimizer imports
    # torch._dynamo, seconds that nothing can interrupt) and inside their batch loops.
    if window.train_tab.progress.value() == 0:
        return QTimer.singleShot(100, evaluate)
    window.mistakes_tab.evaluate(window.active_checkpoint_path())
    QTimer.singleShot(100, close)

def close():
    if window.mistakes_tab.progress.value() == 0:
        return QTimer.singleShot(50, close)
    assert len(window.jobs.jobs()) == 2, window.jobs.jobs()
    global started
    started = time.perf_counter()
    window.close()

QTimer.singleShot(0, busy)
code = app.exec()
print(f"closed in {time.perf_counter() - started:.2f}s", flush=True)
sys.exit(code)
"""


def test_quitting_with_jobs_running_exits_0_quickly(tmp_path, mnist_root):
    out = subprocess.run(
        [sys.executable, "-c", CLOSE_WHILE_BUSY, str(mnist_root), str(tmp_path / "run")],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "MNIST_DESK_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seconds = float(out.stdout.split("closed in ")[1].split("s")[0])
    # The target is 2 s, met in-process (test_train_tab) and here on a quiet machine (0.1 s);
    # a shared 2-core box at load 10 makes one batch take up to ~2.7 s, hence the margin.
    assert seconds < 5.0, out.stdout
    assert "Destroyed while thread" not in out.stderr


QUIT_WITH_CTRL_Q = """
import sys, time
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from mnist_desk.ui import main_window

shown = main_window.MainWindow.show

def show(window):  # the real app's window, as `mnist-desk gui` makes it
    shown(window)
    app = QApplication.instance()
    # Connected after the window's own shutdown: runs once every thread has stopped.
    app.aboutToQuit.connect(lambda: print(f"stopped at {time.perf_counter():.4f}", flush=True))
    tab = window.mistakes_tab

    def evaluate():
        if not window.pad.model_ready:
            return QTimer.singleShot(50, evaluate)
        window.tabs.setCurrentWidget(tab)
        QTest.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
        QTimer.singleShot(50, quit)

    def quit():
        if tab.progress.value() == 0:  # the evaluation is in its batches: a job to stop
            return QTimer.singleShot(50, quit)
        window.activateWindow()
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    QTimer.singleShot(0, evaluate)

main_window.MainWindow.show = show
from mnist_desk.cli import main
sys.exit(main(["gui"]))
"""


def test_ctrl_q_stops_the_jobs_then_the_process_ends_at_once(tmp_path, mnist_root):
    """After the threads stopped, the interpreter's teardown of torch & co. took 1-2 s."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MNIST_DESK_HOME": str(tmp_path),
        "MNIST_DESK_DATA": str(mnist_root),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", QUIT_WITH_CTRL_Q],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)  # a window that never quits fails, not hangs
    watchdog.start()
    try:
        line = process.stdout.readline()  # blocks until the app has stopped its threads
        stopped = time.perf_counter()
        code = process.wait(timeout=60)
        gone = time.perf_counter()
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert line.startswith("stopped at"), stderr[-2000:]
    assert code == 0, stderr[-2000:]
    assert "Destroyed while thread" not in stderr  # every thread ended before the exit
    saved = (tmp_path / "settings.ini").read_text()
    assert "[window]" in saved and "tab=2" in saved  # saved at close: it was on Mistakes
    # About 0.03 s now; the interpreter's teardown took 0.6 s here, 1-2 s after a training run.
    assert gone - stopped < 0.25, f"the process took {gone - stopped:.2f}s to end"


KEEP_EVERY_MOTION = """
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from mnist_desk.ui.app import run_app

app = QApplication([])
merge = Qt.ApplicationAttribute.AA_CompressHighFrequencyEvents
app.setAttribute(merge, True)  # what Qt's X11 (xcb) platform sets when the app starts
QTimer.singleShot(0, lambda: (print("merged", app.testAttribute(merge), flush=True), app.quit()))
run_app()
"""


def test_the_pen_keeps_every_motion_event_on_x11(tmp_path):
    """On X11 Qt merges the motion events queued while the GUI thread is busy: the first
    stroke on a window not yet active (the click repaints it all) came out as a straight
    line from its first points to its last under Xvfb. A drawing app needs every point."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MNIST_DESK_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", KEEP_EVERY_MOTION],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "merged False" in out.stdout, out.stdout


def _engine() -> str:
    """The engine the app reads drawings with here: core.onnx_reader's choice."""
    from importlib.util import find_spec

    return "onnxruntime" if find_spec("onnxruntime") and find_spec("onnx") else "PyTorch"
