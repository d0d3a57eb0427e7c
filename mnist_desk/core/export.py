"""ONNX export and a check that onnxruntime gives what PyTorch gives on real digits."""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mnist_desk.core.checkpoint import Checkpoint, check_weights
from mnist_desk.core.errors import MnistDeskError
from mnist_desk.core.files import (
    OutputError,
    check_folder_writable,
    is_regular_file,
    make_folder,
    writing,
)

ONNX_MAGIC = b"\x08"  # a ModelProto starts with field 1 (ir_version), a varint


class ExportError(MnistDeskError):
    """The exported model does not compute what PyTorch computes: a bug, not a user mistake."""


@dataclass
class ParityReport:
    count: int
    source: str
    max_abs_diff: float
    agreement: float
    path: Path | None = None
    # An older export's external weights file left beside ``path``; the new export is a
    # single file and no longer reads it.
    stale_data: Path | None = None


def check_onnx_target(target: str | os.PathLike, checkpoint_path: Path | None = None) -> Path:
    """Refuse a target that would destroy something: the checkpoint itself, or any file that
    is not a previous ONNX export."""
    path = Path(target)
    if path.suffix.lower() != ".onnx":
        raise OutputError(f"Give the export a name ending in .onnx, not {path.name!r}.")
    if not path.exists():
        check_folder_writable(path.parent)
        return path
    if checkpoint_path is not None and _same_file(path, checkpoint_path):
        raise OutputError(f"{path} is the checkpoint being exported; choose another file name.")
    if not is_regular_file(path):
        raise OutputError(f"{path} exists and is not a regular file; choose another file name.")
    with writing(path), open(path, "rb") as handle:
        head = handle.read(1)
    if head and head != ONNX_MAGIC:
        raise OutputError(
            f"{path} exists and is not an ONNX export; it is kept, choose another file name."
        )
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_inputs(data: str | None, count: int) -> tuple[np.ndarray, str]:
    """Real MNIST test digits when the data is there, else random images (and we say so)."""
    from mnist_desk.core.data import DataError, load_mnist

    try:
        split = load_mnist(data, test_subset=count, download=False, train=False).test
        return split.images.numpy().astype(np.float32) / 255.0, "MNIST test"
    except DataError:
        rng = np.random.default_rng(0)
        return rng.random((count, 28, 28), dtype=np.float32), "random (MNIST not found)"


def export_onnx(
    checkpoint: Checkpoint, path: str | os.PathLike, data: str | None = None, count: int = 512
) -> ParityReport:
    """Write ``path`` (input "image": N×1×28×28 normalised) as one file, verified first.

    The model goes to a temporary file beside ``path`` and replaces it only once
    onnxruntime agrees with PyTorch, so a failed export never costs the previous one.
    """
    import onnxruntime as ort

    target = check_onnx_target(path, checkpoint.path)
    check_weights(checkpoint.state_dict, checkpoint.path.name if checkpoint.path else "The model")
    model = checkpoint.build()
    mean, std = checkpoint.normalization
    make_folder(target.parent)
    with writing(target):
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".onnx", dir=target.parent
        )
    os.close(fd)
    try:
        with writing(target):
            torch.onnx.export(
                model,
                (torch.zeros(1, 1, 28, 28),),
                tmp_name,
                input_names=["image"],
                output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                dynamo=True,
                external_data=False,  # one file: nothing to forget when copying it
            )
        images, source = _check_inputs(data, count)
        x = ((images - mean) / std)[:, None].astype(np.float32)
        with torch.inference_mode():
            expected = model(torch.from_numpy(x)).numpy()
        session = ort.InferenceSession(tmp_name, providers=["CPUExecutionProvider"])
        actual = session.run(["logits"], {"image": x})[0]
        diff, agreement = _parity(expected, actual)
        with writing(target):
            os.replace(tmp_name, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    stale = Path(f"{target}.data")
    return ParityReport(len(x), source, diff, agreement, target, stale if stale.exists() else None)


def _parity(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """Max |diff| and top-1 agreement; non-finite outputs never count as agreeing."""
    if not (np.isfinite(expected).all() and np.isfinite(actual).all()):
        raise ExportError("The model's outputs are not finite (NaN or infinity); not exported.")
    diff = float(np.abs(actual - expected).max())
    agreement = float((actual.argmax(1) == expected.argmax(1)).mean())
    if not diff <= 1e-3 or agreement < 1.0:
        raise ExportError(
            f"ONNX export differs from PyTorch: max |diff| {diff:.2e}, top-1 agreement "
            f"{agreement * 100:.2f}%; not exported."
        )
    return diff, agreement
