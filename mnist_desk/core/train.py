"""The training engine shared by ``mnist-desk train`` and the Train tab.

``fit`` reports through ``on_progress`` and polls ``should_stop`` once per batch, so a GUI
can draw curves and cancel within one batch without knowing anything about torch.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_desk.core.checkpoint import (
    Checkpoint,
    atomic_write_bytes,
    clean_state_dict,
    load_checkpoint,
    save_checkpoint,
)
from mnist_desk.core.config import TrainConfig
from mnist_desk.core.data import (
    NORMALIZATION,
    MnistData,
    MnistSplit,
    batch_count,
    iterate_batches,
    load_extra_digits,
    load_mnist,
)
from mnist_desk.core.device import device_label, seed_everything, select_device
from mnist_desk.core.errors import UserError
from mnist_desk.core.models import build_model


@dataclass
class Progress:
    """One report from the engine: ``kind`` is "start", "batch" or "epoch"."""

    kind: str
    epoch: int
    epochs: int
    batch: int = 0
    batches: int = 0
    loss: float = float("nan")
    images_per_s: float = 0.0
    elapsed_s: float = 0.0
    epoch_metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def fraction(self) -> float:
        """How much of the whole run is done, 0..1."""
        if self.epochs <= 0 or self.batches <= 0:
            return 0.0
        return ((self.epoch - 1) + self.batch / self.batches) / self.epochs


@dataclass
class EvalResult:
    loss: float
    accuracy: float
    predictions: np.ndarray  # int (N,)
    probabilities: np.ndarray  # float32 (N, 10)
    labels: np.ndarray  # int (N,)

    def confusion_matrix(self) -> np.ndarray:
        """10×10 counts of (true, predicted digit); "not a digit" answers are in ``rejected``."""
        matrix = np.zeros((10, 10), dtype=np.int64)
        as_digit = self.predictions < 10
        np.add.at(matrix, (self.labels[as_digit], self.predictions[as_digit]), 1)
        return matrix

    def rejected(self) -> np.ndarray:
        """Per true digit, how many an 11-class model called "not a digit" (all errors)."""
        return np.bincount(self.labels[self.predictions >= 10], minlength=10)[:10]

    def per_class_accuracy(self) -> np.ndarray:
        matrix = self.confusion_matrix()
        totals = np.bincount(self.labels, minlength=10)[:10]
        return np.divide(np.diag(matrix), totals, out=np.zeros(10), where=totals > 0)

    def mistakes(self) -> np.ndarray:
        return np.flatnonzero(self.predictions != self.labels)


@dataclass
class FitResult:
    history: list[dict[str, float]]
    best_path: Path | None
    cancelled: bool
    device: str
    seconds: float
    best_metrics: dict[str, float]


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: MnistSplit,
    device: torch.device,
    batch_size: int = 1000,
    normalization=NORMALIZATION,
    should_stop: Callable[[], bool] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> EvalResult:
    model.eval()
    total_loss, probs, preds = 0.0, [], []
    n_batches = batch_count(len(split), batch_size)
    for i, (x, y) in enumerate(
        iterate_batches(split.to(device), batch_size, shuffle=False, normalization=normalization)
    ):
        if should_stop is not None and should_stop():
            raise InterruptedError("evaluation cancelled")
        logits = model(x).float()
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        p = logits.softmax(dim=1)
        probs.append(p.cpu())
        preds.append(p.argmax(dim=1).cpu())
        if on_batch:
            on_batch(i + 1, n_batches)
    labels = split.labels.cpu().numpy()
    predictions = torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)
    n = max(len(split), 1)
    return EvalResult(
        loss=total_loss / n,
        accuracy=float((predictions == labels).mean()) if len(labels) else 0.0,
        predictions=predictions,
        probabilities=torch.cat(probs).numpy() if probs else np.zeros((0, 10), np.float32),
        labels=labels,
    )


def make_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def make_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    """Return (scheduler, steps per batch?) — one-cycle steps per batch, the others per epoch."""
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, config.step_size, config.gamma), False
    if config.schedule == "cosine":
        total = config.epochs * steps_per_epoch
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total), True
    if config.schedule == "onecycle":
        return (
            torch.optim.lr_scheduler.OneCycleLR(
                optimizer,
                max_lr=config.lr,
                epochs=config.epochs,
                steps_per_epoch=steps_per_epoch,
                pct_start=0.2,
            ),
            True,
        )
    return None, False


def _merge(a: MnistSplit, b: MnistSplit, repeat: int = 1) -> MnistSplit:
    images = torch.cat([a.images] + [b.images] * repeat)
    labels = torch.cat([a.labels] + [b.labels] * repeat)
    return MnistSplit(images, labels)


def fit(
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: MnistData | None = None,
) -> FitResult:
    """Train ``config.model`` and keep the best checkpoint in ``config.out``/best.pt."""
    report = on_progress or (lambda _event: None)
    stop = should_stop or (lambda: False)
    started = time.perf_counter()
    generator = seed_everything(config.seed)
    device = select_device(config.device)
    if data is None:
        data = load_mnist(
            config.data,
            val_split=config.val_split,
            seed=config.seed,
            train_subset=config.train_subset,
            test_subset=config.test_subset,
        )
    train_split = data.train
    if config.extra_train:
        extra = load_extra_digits(config.extra_train)
        train_split = _merge(train_split, extra, repeat=config.extra_repeat)
    train_split = train_split.to(device)
    out_dir = Path(config.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    model_args: dict = {}
    if config.init_from:
        start = load_checkpoint(config.init_from)
        if start.model_name != config.model:
            raise UserError(
                f"Cannot fine-tune: {config.init_from} is a {start.model_name}, "
                f"not a {config.model}."
            )
        model_args = start.model_args
        model = start.build()
    else:
        model = build_model(config.model)
    model = model.to(device)
    train_model: nn.Module = model
    if config.compile and device.type == "cuda":
        train_model = torch.compile(model)
    optimizer = make_optimizer(config, model)
    steps = batch_count(len(train_split), config.batch_size)
    scheduler, per_batch = make_scheduler(config, optimizer, steps)
    use_amp = config.amp and device.type == "cuda"

    history: list[dict[str, float]] = []
    best_score, best_metrics, best_path = -math.inf, {}, None
    cancelled = False
    report(Progress("start", 0, config.epochs, 0, steps, message=device_label(device)))
    for epoch in range(1, config.epochs + 1):
        model.train()
        epoch_start = time.perf_counter()
        seen, loss_sum, correct = 0, 0.0, 0
        batches = iterate_batches(
            train_split, config.batch_size, True, generator, augment=config.augment
        )
        for i, (x, y) in enumerate(batches, start=1):
            if stop():
                cancelled = True
                break
            autocast = (
                torch.autocast("cuda", dtype=torch.bfloat16)
                if use_amp
                else contextlib.nullcontext()
            )
            with autocast:
                logits = train_model(x)
                loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None and per_batch:
                scheduler.step()
            batch_loss = loss.item()
            seen += y.shape[0]
            loss_sum += batch_loss * y.shape[0]
            correct += (logits.argmax(1) == y).sum().item()
            elapsed = time.perf_counter() - epoch_start
            report(
                Progress(
                    "batch",
                    epoch,
                    config.epochs,
                    i,
                    steps,
                    loss=batch_loss,
                    images_per_s=seen / max(elapsed, 1e-9),
                    elapsed_s=time.perf_counter() - started,
                )
            )
        if cancelled:
            break
        if scheduler is not None and not per_batch:
            scheduler.step()
        epoch_seconds = time.perf_counter() - epoch_start
        metrics = {
            "epoch": epoch,
            "train_loss": loss_sum / max(seen, 1),
            "train_acc": correct / max(seen, 1),
            "epoch_seconds": epoch_seconds,
            "images_per_s": seen / max(epoch_seconds, 1e-9),
            "lr": optimizer.param_groups[0]["lr"],
        }
        if data.val is not None:
            val = evaluate(model, data.val, device)
            metrics.update(val_loss=val.loss, val_acc=val.accuracy)
        test = evaluate(model, data.test, device)
        metrics.update(test_loss=test.loss, test_acc=test.accuracy)
        history.append(metrics)
        criterion = (
            config.select_by if data.val is not None or config.select_by != "val" else "last"
        )
        score = {"val": metrics.get("val_acc", 0.0), "test": metrics["test_acc"]}.get(
            criterion, float(epoch)
        )
        if score >= best_score:
            best_score, best_metrics = score, dict(metrics, selected_by=criterion)
            checkpoint = Checkpoint(
                model_name=config.model,
                state_dict=clean_state_dict(model),
                model_args=model_args,
                normalization=NORMALIZATION,
                train_config=config.to_dict(),
                metrics=best_metrics,
            )
            best_path = save_checkpoint(checkpoint, out_dir / "best.pt")
        save_history(history, out_dir)
        report(
            Progress(
                "epoch",
                epoch,
                config.epochs,
                steps,
                steps,
                loss=metrics["train_loss"],
                images_per_s=metrics["images_per_s"],
                elapsed_s=time.perf_counter() - started,
                epoch_metrics=metrics,
            )
        )
    seconds = time.perf_counter() - started
    summary = {
        "config": config.to_dict(),
        "device": device_label(device),
        "seconds": seconds,
        "cancelled": cancelled,
        "best": best_metrics,
        "best_path": str(best_path) if best_path else None,
    }
    atomic_write_bytes(
        out_dir / "summary.json", lambda h: h.write(json.dumps(summary, indent=2).encode())
    )
    return FitResult(history, best_path, cancelled, device_label(device), seconds, best_metrics)


def save_history(history: list[dict[str, float]], out_dir: Path) -> None:
    from mnist_desk.core.plots import plot_history

    text = json.dumps(history, indent=2).encode()
    atomic_write_bytes(out_dir / "history.json", lambda h: h.write(text))
    image = plot_history(history)
    atomic_write_bytes(out_dir / "history.png", lambda h: image.save(h, format="PNG"))
