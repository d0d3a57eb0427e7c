"""Bad files everywhere a model or data is loaded, and a training run killed mid-epoch."""

import signal
import subprocess
import sys
import time

import pytest
import torch

from mnist_desk.cli import main
from mnist_desk.core.checkpoint import load_checkpoint
from mnist_desk.core.models import build_model


def _bad_checkpoints(tmp_path, shipped):
    files = {}
    files["empty"] = tmp_path / "empty.pt"
    files["empty"].write_bytes(b"")
    files["truncated"] = tmp_path / "truncated.pt"
    files["truncated"].write_bytes(shipped.read_bytes()[:5000])
    files["not-a-checkpoint"] = tmp_path / "notes.pt"
    files["not-a-checkpoint"].write_text("just some text")
    files["bare-state-dict"] = tmp_path / "bare.pt"
    torch.save(build_model("cnn").state_dict(), files["bare-state-dict"])
    wrong = torch.load(shipped, weights_only=True)
    wrong["model"] = "lenet5"
    files["wrong-model"] = tmp_path / "wrong.pt"
    torch.save(wrong, files["wrong-model"])
    return files


@pytest.mark.parametrize("command", ["predict", "eval", "export"])
def test_every_cli_command_explains_bad_checkpoints(
    tmp_path, capsys, shipped_checkpoint, command, mnist_root
):
    from PIL import Image

    image = tmp_path / "x.png"
    Image.new("L", (40, 40), 0).save(image)
    for kind, path in _bad_checkpoints(tmp_path, shipped_checkpoint).items():
        args = {
            "predict": ["predict", str(image)],
            "eval": ["eval", "--data", str(mnist_root)],
            "export": ["export", "--onnx", str(tmp_path / "m.onnx")],
        }[command]
        assert main([*args, "--model", str(path)]) == 2, kind
        err = capsys.readouterr().err
        assert path.name in err and "Traceback" not in err, kind


def test_a_training_run_killed_mid_epoch_leaves_a_loadable_best(tmp_path, mnist_root):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mnist_desk",
            "train",
            "--arch",
            "cnn",
            "--epochs",
            "50",
            "--train-subset",
            "3000",
            "--test-subset",
            "300",
            "--device",
            "cpu",
            "--data",
            str(mnist_root),
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while not (out / "best.pt").exists():
            assert process.poll() is None and time.time() < deadline, "no checkpoint appeared"
            time.sleep(0.05)
        first = (out / "best.pt").stat().st_mtime_ns
        while (out / "best.pt").stat().st_mtime_ns == first and time.time() < deadline:
            time.sleep(0.01)  # wait for the second save, then kill in the middle of epoch 3
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    checkpoint = load_checkpoint(out / "best.pt")
    assert checkpoint.metrics["epoch"] >= 2
