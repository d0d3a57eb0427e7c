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
