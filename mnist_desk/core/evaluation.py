"""Evaluate a checkpoint file on (part of) the MNIST test set: one job for the CLI and GUI."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from mnist_desk.core.calibration import calibrate_probabilities
from mnist_desk.core.errors import JobCancelled


def _never() -> bool:
    return False


def evaluate_checkpoint(
    checkpoint_path: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    subset: int | None = None,
    *,
    should_stop: Callable[[], bool] = _never,
    on_progress: Callable[[int, int], None] | None = None,
    device: str = "auto",
    batch_size: int = 500,
) -> dict[str, Any]:
    """Load, check and evaluate; returns ``{"result", "images", "checkpoint"}``.

    ``subset`` keeps the first N test digits (tests and quick looks need not read all
    10,000). ``should_stop`` is checked between data files and before every batch and ends
    the job with ``JobCancelled``; ``on_progress(done_batches, total_batches)`` follows each
    batch. ``images`` is the uint8 (N, 28, 28) array the result's rows refer to;
    ``checkpoint`` is ``Checkpoint.summary()`` (name, path, accuracy, epoch, description).
    """
    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.data import load_mnist
    from mnist_desk.core.device import select_device
    from mnist_desk.core.train import evaluate

    def stop() -> bool:
        if should_stop():
            raise JobCancelled("evaluation cancelled")
        return False

    checkpoint = load_checkpoint(checkpoint_path)
    split = load_mnist(data_root, test_subset=subset, train=False, should_stop=stop).test
    target = select_device(device)
    model = checkpoint.build().to(target)
    stop()
    result = evaluate(
        model,
        split,
        target,
        batch_size=batch_size,
        normalization=checkpoint.normalization,
        should_stop=stop,
        on_batch=on_progress,
    )
    if checkpoint.calibration and len(result.probabilities):
        # the pad shows calibrated probabilities and answers; so must the gallery and the score
        result.probabilities = calibrate_probabilities(result.probabilities, checkpoint.calibration)
        result.predictions = result.probabilities.argmax(axis=1)
        result.accuracy = float((result.predictions == result.labels).mean())
    return {"result": result, "images": split.images.numpy(), "checkpoint": checkpoint.summary()}
