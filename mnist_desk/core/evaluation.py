"""Evaluate a checkpoint on the MNIST test set: the Mistakes tab's job (no Qt here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mnist_desk.core.errors import JobCancelled


def describe_checkpoint(checkpoint) -> dict[str, Any]:
    """What the window shows about a model: name, file, accuracy, and how it was trained."""
    metrics = checkpoint.metrics or {}
    return {
        "name": checkpoint.model_name,
        "path": str(checkpoint.path) if checkpoint.path else "",
        "test_acc": metrics.get("test_acc"),
        "epoch": metrics.get("epoch"),
        "description": checkpoint.describe(),
        "metrics": dict(metrics),
        "train_config": dict(checkpoint.train_config or {}),
        "created": checkpoint.created or "",
    }


def evaluate_checkpoint(
    checkpoint_path: str,
    data_root: str | None = None,
    subset: int | None = None,
    *,
    should_stop: Callable[[], bool],
    on_progress: Callable[[Any], None],
) -> dict[str, Any]:
    """Read the first ``subset`` test digits (all when None) and classify them.

    ``on_progress`` receives ``(done_batches, total_batches)``; ``should_stop`` is checked
    before each phase and each batch, so a cancel lands within one batch.
    """
    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.data import load_split, resolve_data_root
    from mnist_desk.core.device import select_device
    from mnist_desk.core.train import evaluate

    checkpoint = load_checkpoint(checkpoint_path)
    if should_stop():
        raise JobCancelled("evaluation cancelled")
    split = load_split(resolve_data_root(data_root), train=False).subset(subset)
    if should_stop():
        raise JobCancelled("evaluation cancelled")
    device = select_device("auto")
    result = evaluate(
        checkpoint.build().to(device),
        split,
        device,
        batch_size=64,  # small batches: a cancel (or quitting) waits for one of them
        normalization=checkpoint.normalization,
        should_stop=should_stop,
        on_batch=lambda done, total: on_progress((done, total)),
    )
    return {
        "result": result,
        "images": split.images.numpy(),
        "checkpoint": describe_checkpoint(checkpoint),
    }
