import os
import subprocess
import sys


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
