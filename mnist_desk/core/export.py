"""ONNX export and a check that onnxruntime gives what PyTorch gives on real digits."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from mnist_desk.core.checkpoint import Checkpoint


@dataclass
class ParityReport:
    count: int
    source: str
    max_abs_diff: float
    agreement: float


def _check_inputs(data: str | None, count: int) -> tuple[np.ndarray, str]:
    """Real MNIST test digits when the data is there, else random images (and we say so)."""
    from mnist_desk.core.data import DataError, load_mnist

    try:
        split = load_mnist(data, test_subset=count, download=False).test
        return split.images.numpy().astype(np.float32) / 255.0, "MNIST test"
    except DataError:
        rng = np.random.default_rng(0)
        return rng.random((count, 28, 28), dtype=np.float32), "random (MNIST not found)"


def export_onnx(
    checkpoint: Checkpoint, path: str | os.PathLike, data: str | None = None, count: int = 512
) -> ParityReport:
    """Write ``path`` (input "image": N×1×28×28 normalised) and verify it with onnxruntime."""
    import onnxruntime as ort

    model = checkpoint.build()
    mean, std = checkpoint.normalization
    dummy = torch.zeros(1, 1, 28, 28)
    torch.onnx.export(
        model,
        (dummy,),
        os.fspath(path),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        dynamo=True,
    )
    images, source = _check_inputs(data, count)
    x = ((images - mean) / std)[:, None].astype(np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    actual = session.run(["logits"], {"image": x})[0]
    diff = float(np.abs(actual - expected).max())
    agreement = float((actual.argmax(1) == expected.argmax(1)).mean())
    if diff > 1e-3 or agreement < 1.0:
        raise RuntimeError(
            f"ONNX export differs from PyTorch: max |diff| {diff:.2e}, top-1 agreement "
            f"{agreement * 100:.2f}%."
        )
    return ParityReport(len(x), source, diff, agreement)
