"""The fault table: every mistake a person can fix exits 2 with one line and no traceback.

Each row builds its bad input in a fresh folder, runs the CLI and names a phrase the one
line must hold. Rows that would touch the disk or devices for real (a full disk, a missing
GPU, a permission error that root would not see) simulate just that failure.
"""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_desk.cli import main
from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.models import build_model
from mnist_desk.core.preprocess import render_strokes


def _png(path, digit=7):
    strokes, pen = our_digit(digit, "plain")
    ink = np.pad(render_strokes(strokes, pen, longest_side_px=100), 20)
    Image.fromarray((ink * 255).astype(np.uint8)).save(path)
    return str(path)


def _model(path, **payload_changes):
    """A small untrained desknet checkpoint, optionally damaged."""
    checkpoint = Checkpoint(
        "desknet", clean_state_dict(build_model("desknet", width=4)), model_args={"width": 4}
    )
    path = save_checkpoint(checkpoint, path)
    if payload_changes:
        payload = torch.load(path, weights_only=True)
        for key, change in payload_changes.items():
            payload[key] = change(payload[key])
        torch.save(payload, path)
    return str(path)


def _nan_weights(state):
    state["classifier.1.weight"][0, 0] = float("nan")
    return state


def _npz(path, images, labels):
    np.savez(path, images=images, labels=labels)
    return str(path)


def _text(path, text):
    path.write_text(text)
    return str(path)


def _blocked(tmp):
    """A path under a plain file: no one, root included, can create it."""
    (tmp / "a-file").write_text("in the way")
    return tmp / "a-file" / "sub"


def _raw_copy(tmp, mnist_root, damage=None):
    raw = tmp / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in os.listdir(mnist_root / "MNIST" / "raw"):
        if name.endswith("ubyte"):
            (raw / name).symlink_to(mnist_root / "MNIST" / "raw" / name)
    if damage:
        target = raw / damage
        data = bytearray(target.read_bytes())
        target.unlink()
        data[:4] = (1234).to_bytes(4, "big")
        target.write_bytes(bytes(data))
    return str(tmp / "data")


def _train(t, m, *extra, device="cpu", out=None):
    small = ["--epochs", "1", "--train-subset", "100", "--test-subset", "50"]
    where = ["--data", str(m), "--out", str(out or t / "run")]
    return ["train", "--arch", "cnn", *small, "--device", device, *where, *extra]


def _full_disk(monkeypatch):
    from mnist_desk.core import files

    def no_space(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", no_space)


def _no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def _raw_denied(monkeypatch):
    """What ``chmod 000 raw`` does to anyone but root (the tests may run as root)."""
    from pathlib import Path

    original = Path.stat

    def stat(self, *args, **kwargs):
        if self.parent.name == "raw" and "data" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)


# (row id, argv builder (tmp_path, mnist_root) -> argv, phrase in the one line, setup)
ROWS = [
    ("samples-count-negative", lambda t, m: ["samples", "--count", "-5"], "-5 is out of range"),
    ("samples-count-zero", lambda t, m: ["samples", "--count", "0"], "use between 1 and 1,024"),
    ("samples-count-huge", lambda t, m: ["samples", "--count", "60000"], "60,000 is out of range"),
    ("samples-count-text", lambda t, m: ["samples", "--count", "ten"], "'ten' is not a whole"),
    (
        "samples-out-unwritable",
        lambda t, m: ["samples", "--data", str(m), "--out", str(_blocked(t) / "s.png")],
        "it is a file",
    ),
    (
        "samples-out-unknown-extension",
        lambda t, m: ["samples", "--data", str(m), "--count", "4", "--out", str(t / "s.xyz")],
        "ending in .png or .jpg",
    ),
    (
        "extra-train-misaligned",
        lambda t, m: _train(
            t, m, "--extra-train", _npz(t / "e.npz", np.zeros((5, 28, 28), np.uint8), [1, 2])
        ),
        "5 images but 2 labels",
    ),
    (
        "extra-train-float-images",
        lambda t, m: _train(
            t, m, "--extra-train", _npz(t / "e.npz", np.zeros((2, 28, 28)), np.array([1, 2]))
        ),
        "images are float64, expected uint8",
    ),
    (
        "extra-train-wrong-shape",
        lambda t, m: _train(
            t, m, "--extra-train", _npz(t / "e.npz", np.zeros((2, 32, 32), np.uint8), [1, 2])
        ),
        "expected (N, 28, 28)",
    ),
    (
        "extra-train-label-out-of-range",
        lambda t, m: _train(
            t, m, "--extra-train", _npz(t / "e.npz", np.zeros((2, 28, 28), np.uint8), [3, 12])
        ),
        "labels run from 3 to 12, expected 0..10",
    ),
    (
        "extra-train-missing",
        lambda t, m: _train(t, m, "--extra-train", str(t / "nope.npz")),
        "nope.npz does not exist",
    ),
    ("train-out-unwritable", lambda t, m: _train(t, m, out=_blocked(t)), "is a file"),
    (
        "train-device-cuda-without-gpu",
        lambda t, m: _train(t, m, device="cuda"),
        "Device 'cuda' cannot be used: no CUDA GPU found",
        _no_gpu,
    ),
    (
        "eval-device-cuda-without-gpu",
        lambda t, m: ["eval", "--model", _model(t / "m.pt"), "--data", str(m), "--device", "cuda"],
        "no CUDA GPU found",
        _no_gpu,
    ),
    ("eval-subset-zero", lambda t, m: ["eval", "--subset", "0"], "0 is out of range"),
    (
        "eval-wrong-magic",
        lambda t, m: [
            "eval",
            "--model",
            _model(t / "m.pt"),
            "--data",
            _raw_copy(t, m, "t10k-images-idx3-ubyte"),
        ],
        "t10k-images-idx3-ubyte has magic 1234, expected 2051",
    ),  # fmt: skip
    (
        "eval-raw-permission-denied",
        lambda t, m: ["eval", "--model", _model(t / "m.pt"), "--data", _raw_copy(t, m)],
        "cannot be read (Permission denied)",
        _raw_denied,
    ),
    (
        "eval-mistakes-unwritable",
        lambda t, m: ["eval", "--model", _model(t / "m.pt"), "--mistakes", str(_blocked(t))],
        "is a file",
    ),
    (
        "eval-nan-model",
        lambda t, m: ["eval", "--model", _model(t / "nan.pt", state_dict=_nan_weights)],
        "nan.pt has non-finite weights (NaN or infinity in classifier.1.weight)",
    ),
    (
        "predict-huge-width-model",
        lambda t, m: [
            "predict",
            _png(t / "7.png"),
            "--model",
            _model(t / "wide.pt", model_args=lambda a: {**a, "width": 2500}),
        ],
        "width is 2500, outside 1..256",
    ),
    (
        "predict-zero-normalisation",
        lambda t, m: [
            "predict",
            _png(t / "7.png"),
            "--model",
            _model(t / "n.pt", normalization=lambda n: [0.1, 0.0]),
        ],
        "unusable normalization [0.1, 0.0]",
    ),
    (
        "predict-fifo-image",
        lambda t, m: ["predict", (os.mkfifo(t / "pipe.png"), str(t / "pipe.png"))[1]],
        "pipe.png is not a regular file",
    ),
    ("predict-missing-image", lambda t, m: ["predict", str(t / "no.png")], "no.png does not exist"),
    ("predict-top-k-zero", lambda t, m: ["predict", "x.png", "-k", "0"], "0 is out of range"),
    (
        "predict-save-28-unwritable",
        lambda t, m: ["predict", _png(t / "7.png"), "--save-28", str(_blocked(t))],
        "is a file",
    ),
    (
        "predict-save-28-disk-full",
        lambda t, m: ["predict", _png(t / "7.png"), "--save-28", str(t / "out")],
        "Could not write {t}/out/7_28.png: the disk is full.",
        _full_disk,
    ),
    (
        "export-onto-its-own-checkpoint",
        lambda t, m: ["export", "--model", _model(t / "m.onnx"), "--onnx", str(t / "m.onnx")],
        "is the checkpoint being exported",
    ),
    (
        "export-onto-a-checkpoint-named-pt",
        lambda t, m: ["export", "--model", _model(t / "m.pt"), "--onnx", str(t / "m.pt")],
        "name ending in .onnx, not 'm.pt'",
    ),
    (
        "export-onto-a-file-that-is-not-an-export",
        lambda t, m: [
            "export",
            "--model",
            _model(t / "m.pt"),
            "--onnx",
            _text(t / "notes.onnx", "my notes"),
        ],
        "notes.onnx exists and is not an ONNX export; it is kept",
    ),
    (
        "export-unwritable",
        lambda t, m: [
            "export",
            "--model",
            _model(t / "m.pt"),
            "--onnx",
            str(_blocked(t) / "m.onnx"),
        ],
        "is a file",
    ),  # fmt: skip
]


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_a_fixable_mistake_is_one_line_and_exit_2(row, tmp_path, mnist_root, monkeypatch, capsys):
    _, argv_of, phrase, *setup = row
    argv = argv_of(tmp_path, mnist_root)
    given = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    protected = {p: p.read_bytes() for p in given if p.suffix in (".pt", ".onnx", ".npz")}
    for prepare in setup:
        prepare(monkeypatch)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert err.count("\n") == 1 and err.startswith("mnist-desk"), err
    assert "Traceback" not in err
    assert phrase.format(t=tmp_path) in err
    for path, content in protected.items():  # nothing the person gave us was changed
        assert path.read_bytes() == content, path
