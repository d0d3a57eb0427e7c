"""Fine-tune a checkpoint on MNIST plus the person's digits, and show before/after.

A held-out part of the person's digits is never trained on, so "after" measures whether
the model learned their handwriting, and the MNIST test accuracy shows it did not forget.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_desk.core.config import TrainConfig
from mnist_desk.core.data import load_mnist
from mnist_desk.core.errors import UserError
from mnist_desk.core.my_digits import MyDigitStore
from mnist_desk.core.predict import Predictor
from mnist_desk.core.train import FitResult, fit


@dataclass
class FineTuneReport:
    result: FitResult
    mnist_before: float
    mnist_after: float
    mine_before: float | None
    mine_after: float | None
    trained_on: int
    held_out: int


def _accuracy(predictor: Predictor, images: np.ndarray, labels: np.ndarray) -> float | None:
    if len(labels) == 0:
        return None
    return float((predictor.probabilities(images).argmax(1) == labels).mean())


MIN_DIGITS = 10


def check_enough_digits(train_digits: list, held_digits: list) -> None:
    """Refuse a fine-tune whose before/after numbers would mean nothing.

    With fewer than ten digits, or a digit kept only once (so none of it is held out), the
    held-out accuracy is measured on almost nothing: "0.0% → 0.0%" teaches the person nothing.
    """
    total = len(train_digits) + len(held_digits)
    if total < MIN_DIGITS:
        raise UserError(
            f"Fine-tuning needs at least {MIN_DIGITS} of your digits and you have {total}; "
            "keep more on the Draw tab (draw one, press its key 0–9)."
        )
    seen = {d.label for d in train_digits} | {d.label for d in held_digits}
    short = sorted(seen - {d.label for d in held_digits})
    if short:
        raise UserError(
            "Too few of your digits to measure the fine-tune: keep at least 2 of each digit "
            f"you use (one is held out to test), but {', '.join(map(str, short))} "
            f"{'has' if len(short) == 1 else 'have'} only one."
        )


def fine_tune(
    checkpoint_path: str,
    store: MyDigitStore,
    config: TrainConfig,
    on_progress: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
    holdout: float = 0.3,
) -> FineTuneReport:
    train_digits, held_digits = store.split(holdout=holdout, seed=config.seed)
    check_enough_digits(train_digits, held_digits)
    held_images, held_labels = store.arrays(held_digits)
    before = Predictor.from_path(checkpoint_path)
    data = load_mnist(config.data, train_subset=config.train_subset, test_subset=config.test_subset)
    mnist_images = data.test.images.numpy().astype(np.float32) / 255.0
    mnist_labels = data.test.labels.numpy()
    with tempfile.TemporaryDirectory() as folder:
        npz = store.write_npz(Path(folder) / "mine.npz", train_digits)
        config = dataclasses.replace(
            config,
            model=before.name,
            init_from=str(checkpoint_path),
            extra_train=str(npz),
        )
        result = fit(config, on_progress=on_progress, should_stop=should_stop, data=data)
    after = Predictor.from_path(result.best_path) if result.best_path else before
    return FineTuneReport(
        result=result,
        mnist_before=_accuracy(before, mnist_images, mnist_labels),
        mnist_after=_accuracy(after, mnist_images, mnist_labels),
        mine_before=_accuracy(before, held_images, held_labels),
        mine_after=_accuracy(after, held_images, held_labels),
        trained_on=len(train_digits),
        held_out=len(held_digits),
    )
