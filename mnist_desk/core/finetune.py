"""Fine-tune a checkpoint on MNIST plus the person's digits, and show before/after.

A held-out part of the person's digits is never trained on, so "after" measures whether
the model learned their handwriting, and the MNIST test accuracy shows it did not forget.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mnist_desk.core.checkpoint import load_checkpoint, save_checkpoint
from mnist_desk.core.config import TrainConfig
from mnist_desk.core.data import load_mnist
from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.core.files import atomic_write_bytes
from mnist_desk.core.my_digits import MyDigitStore
from mnist_desk.core.predict import Predictor
from mnist_desk.core.runs import RunsTable
from mnist_desk.core.train import FitResult, fit, runs_table_warning, table_write_problem

EVAL_BATCH = 500


@dataclass
class FineTuneReport:
    """``cancelled``: stopped after its first epoch (training or the "after" scores); its
    run is kept like a cancelled training run, and the "after" scores it skipped are None."""

    result: FitResult
    mnist_before: float
    mnist_after: float | None
    mine_before: float | None
    mine_after: float | None
    trained_on: int
    held_out: int
    cancelled: bool = False


def _accuracy(
    predictor: Predictor,
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray,
    stop: Callable[[], bool],
    batch_size: int = EVAL_BATCH,
) -> float | None:
    """Top-1 accuracy in batches: one forward pass over 10,000 digits costs gigabytes."""
    if len(labels) == 0:
        return None
    correct = 0
    for start in range(0, len(labels), batch_size):
        stop()
        batch = images[start : start + batch_size]
        if isinstance(batch, torch.Tensor):
            batch = batch.numpy().astype(np.float32) / 255.0
        probs = predictor.probabilities(batch)
        correct += int((probs.argmax(1) == labels[start : start + batch_size]).sum())
    return correct / len(labels)


def _record_source(
    result: FitResult, out_dir: Path, label: str, runs_table: RunsTable | None
) -> None:
    """Name the extra digits by what they are, not by a temporary file that is gone."""
    if runs_table is not None:
        try:  # as fit: a table it cannot write stops nothing, but the person is told
            record = runs_table.get(str(out_dir.resolve()))
            if record is not None:
                record.config["extra_train"] = label
                runs_table.upsert(record)
        except (OSError, UserError) as exc:
            if not result.runs_table_problem:
                problem = table_write_problem(runs_table, exc)
                result.runs_table_problem = runs_table_warning(problem, result, out_dir)
    if result.best_path is not None and Path(result.best_path).exists():
        checkpoint = load_checkpoint(result.best_path)
        checkpoint.train_config["extra_train"] = label
        save_checkpoint(checkpoint, result.best_path)
    summary_path = out_dir / "summary.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(summary, dict) and isinstance(summary.get("config"), dict):
        summary["config"]["extra_train"] = label
        text = json.dumps(summary, indent=2).encode()
        atomic_write_bytes(summary_path, lambda handle: handle.write(text))


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


def split_for_fine_tune(store: MyDigitStore, seed: int, holdout: float = 0.3) -> tuple[list, list]:
    """(train, held out), or the one-sentence reason a fine-tune on them would mean nothing.

    The window asks this before it starts a job, so a refusal clears and logs nothing.
    """
    train_digits, held_digits = store.split(holdout=holdout, seed=seed)
    if holdout > 0:  # before/after on held-out digits is promised: it must mean something
        check_enough_digits(train_digits, held_digits)
    elif not train_digits:
        raise UserError("Add a few of your own digits on the Draw tab first (keys 0–9).")
    return train_digits, held_digits


def fine_tune(
    checkpoint_path: str,
    store: MyDigitStore,
    config: TrainConfig,
    on_progress: Callable | None = None,
    should_stop: Callable[[], bool] | None = None,
    holdout: float = 0.3,
    runs_table: RunsTable | None = None,
) -> FineTuneReport:
    """Cancellable in every phase: loading, training, and both before/after evaluations.

    As ``fit``: a cancel before the first epoch is saved leaves nothing and raises
    ``JobCancelled``; a later one keeps the run (and its row in ``runs_table``) and returns a
    report with ``cancelled=True`` and no "after" scores.
    """
    asked = should_stop or (lambda: False)

    def stop() -> bool:
        if asked():
            raise JobCancelled("fine-tuning cancelled")
        return False

    train_digits, held_digits = split_for_fine_tune(store, config.seed, holdout)
    held_images, held_labels = store.arrays(held_digits)
    before = Predictor.from_path(checkpoint_path)
    data = load_mnist(
        config.data,
        train_subset=config.train_subset,
        test_subset=config.test_subset,
        should_stop=stop,
    )
    mnist_images, mnist_labels = data.test.images, data.test.labels.numpy()
    mnist_before = _accuracy(before, mnist_images, mnist_labels, stop)
    mine_before = _accuracy(before, held_images, held_labels, stop)
    count = len(train_digits)
    source = f"my digits ({count} digit{'' if count == 1 else 's'})"
    with tempfile.TemporaryDirectory() as folder:
        npz = store.write_npz(Path(folder) / "mine.npz", train_digits)
        config = dataclasses.replace(
            config,
            model=before.name,
            init_from=str(checkpoint_path),
            extra_train=str(npz),
        )
        result = fit(
            config,
            on_progress=on_progress,
            should_stop=should_stop,
            data=data,
            runs_table=runs_table,
        )
    if result.cancelled and result.best_path is None:  # before its first epoch: fit left nothing
        raise JobCancelled("fine-tuning cancelled")
    _record_source(result, Path(config.out), source, runs_table)
    report = FineTuneReport(
        result, mnist_before, None, mine_before, None, count, len(held_digits), result.cancelled
    )
    if result.cancelled:
        return report
    after = Predictor.from_path(result.best_path) if result.best_path else before
    try:
        report.mnist_after = _accuracy(after, mnist_images, mnist_labels, stop)
        report.mine_after = _accuracy(after, held_images, held_labels, stop)
    except JobCancelled:  # the run is done and kept; only its "after" scores are missing
        report.mnist_after = report.mine_after = None
        report.cancelled = True
    return report
