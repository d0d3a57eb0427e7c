"""The training engine shared by ``mnist-desk train`` and the Train tab.

``fit`` reads top to bottom like the classic MNIST example: ``build`` (data, model,
optimizer, schedule), then per epoch ``train_one_epoch``, ``evaluate_epoch`` and
``select_and_save``. It reports through ``on_progress`` and checks ``should_stop`` in every
phase (between data files, each training batch, each evaluation batch), so a GUI can draw
curves and cancel within one batch without knowing anything about torch.

Losses and accuracies are summed on the device and read (``.item()``, a sync point) only when
reported: per batch at most ``LOSS_READS_PER_S`` times a second, per epoch once.

A run folder holds::

    best.pt            the selected epoch's weights (checkpoint format, see checkpoint.py)
    last.pt            the latest epoch's weights plus a ``resume`` entry: optimizer,
                       scheduler, epoch, RNG states, history and best-so-far, so
                       ``fit(config, resume=True)`` continues exactly where it stopped
    history.json/.png  per-epoch metrics and their curves
    summary.json       config, device, time, best metrics
    epochs/epoch_000.pt  (only with ``keep_epochs``) the random initial weights, then
    epochs/epoch_001.pt  … each epoch's weights with that epoch's metrics: ordinary
                       checkpoints for the training timeline
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_desk.core.checkpoint import (
    Checkpoint,
    CheckpointError,
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
from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.core.models import build_model
from mnist_desk.core.runs import (
    RunFolderError,
    RunsTable,
    folders_to_make,
    holds_run,
    remove_empty_folders,
    resume_refusal,
    run_folder_lock,
    run_key,
    starting_record,
)

LOSS_READS_PER_S = 10  # how often a batch's loss is copied to the host for progress reports
LAST_NAME = "last.pt"
EPOCHS_DIR = "epochs"


class TrainingDiverged(UserError):
    """The loss or the weights stopped being finite numbers."""


class TrainingOutOfMemory(UserError):
    """A batch did not fit in memory: the person can choose a smaller one."""


def _out_of_memory(exc: BaseException) -> bool:
    """Whether torch failed to allocate (a CPU allocation fails as a plain RuntimeError)."""
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "can't allocate memory" in text or "out of memory" in text
    )


@dataclass
class Progress:
    """One report from the engine: ``kind`` is "start", "batch" or "epoch".

    For "batch", ``loss`` is the real loss of batch ``loss_batch`` (read at most
    ``LOSS_READS_PER_S`` times a second), not an estimate.
    """

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
    loss_batch: int = 0

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
    # One sentence when the runs table could not be updated at the end (the run is kept):
    # the caller shows it, since the run may then be missing from the runs list.
    runs_table_problem: str = ""


def _check(should_stop: Callable[[], bool] | None, what: str) -> None:
    if should_stop is not None and should_stop():
        raise JobCancelled(f"{what} was cancelled")


# ----- evaluation --------------------------------------------------------------------------
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
    """Every prediction and probability (for the confusion matrix and the Mistakes tab)."""
    model.eval()
    total_loss = torch.zeros((), device=device)
    probs, preds = [], []
    n_batches = batch_count(len(split), batch_size)
    batches = iterate_batches(split.to(device), batch_size, False, normalization=normalization)
    for i, (x, y) in enumerate(batches, start=1):
        _check(should_stop, "evaluation")
        logits = model(x).float()
        total_loss += F.cross_entropy(logits, y, reduction="sum")
        p = logits.softmax(dim=1)
        probs.append(p.cpu())
        preds.append(p.argmax(dim=1).cpu())
        if on_batch:
            on_batch(i, n_batches)
    labels = split.labels.cpu().numpy()
    predictions = torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)
    return EvalResult(
        loss=total_loss.item() / max(len(split), 1),
        accuracy=float((predictions == labels).mean()) if len(labels) else 0.0,
        predictions=predictions,
        probabilities=torch.cat(probs).numpy() if probs else np.zeros((0, 10), np.float32),
        labels=labels,
    )


@torch.no_grad()
def measure(
    model: nn.Module,
    split: MnistSplit,
    device: torch.device,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int = 1000,
) -> tuple[float, float]:
    """(mean loss, accuracy) with the sums kept on the device: one sync at the end."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.long, device=device)
    for x, y in iterate_batches(split.to(device), batch_size, shuffle=False):
        _check(should_stop, "evaluation")
        logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction="sum")
        correct += (logits.argmax(dim=1) == y).sum()
    n = max(len(split), 1)
    loss, right = torch.stack([loss_sum, correct.to(loss_sum.dtype)]).tolist()
    return loss / n, right / n


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


@dataclass
class TrainingRun:
    """What ``build`` makes and the phases share; ``history`` and best-so-far grow per epoch."""

    config: TrainConfig
    device: torch.device
    data: MnistData
    train_split: MnistSplit
    model: nn.Module
    train_model: nn.Module  # ``model`` or its torch.compile wrapper
    model_args: dict[str, Any]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    per_batch_schedule: bool
    steps: int
    generator: torch.Generator  # the data-order (and augmentation) generator
    out_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float = -math.inf
    best_metrics: dict[str, Any] = field(default_factory=dict)
    best_path: Path | None = None
    first_epoch: int = 1


def _load_data(config: TrainConfig, should_stop) -> MnistData:
    return load_mnist(
        config.data,
        val_split=config.val_split,
        seed=config.seed,
        train_subset=config.train_subset,
        test_subset=config.test_subset,
        should_stop=should_stop,
    )


def _initial_model(config: TrainConfig, resume_from: Checkpoint | None):
    """(model, model_args): from the resumed run, the fine-tune start, or fresh weights."""
    start = resume_from
    if start is None and config.init_from:
        start = load_checkpoint(config.init_from)
    if start is None:
        return build_model(config.model), {}
    if start.model_name != config.model:
        raise UserError(
            f"Cannot train a {config.model} from {start.path}: it holds a {start.model_name}."
        )
    return start.build(), dict(start.model_args)


def build(
    config: TrainConfig,
    data: MnistData | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
    saved: tuple[Checkpoint, dict[str, Any]] | None = None,
) -> TrainingRun:
    """Seed, load data, make model, optimizer and schedule; restore ``last.pt`` on resume
    (``saved``: what ``read_resume_point`` returned, when the caller read it already)."""
    generator = seed_everything(config.seed)
    device = select_device(config.device)
    if resume and saved is None:
        saved = read_resume_point(config)
    if data is None:
        data = _load_data(config, should_stop)
    train_split = data.train
    if config.extra_train:
        train_split = _merge(
            train_split, load_extra_digits(config.extra_train), config.extra_repeat
        )
    _check(should_stop, "building the model")
    model, model_args = _initial_model(config, saved[0] if saved else None)
    model = model.to(device)
    train_model = model
    if config.compile and device.type == "cuda":
        train_model = torch.compile(model)
    optimizer = make_optimizer(config, model)
    steps = batch_count(len(train_split), config.batch_size)
    scheduler, per_batch = make_scheduler(config, optimizer, steps)
    run = TrainingRun(
        config,
        device,
        data,
        train_split.to(device),
        model,
        train_model,
        model_args,
        optimizer,
        scheduler,
        per_batch,
        steps,
        generator,
        Path(config.out),
    )
    if saved is not None:
        _restore(run, saved[1]["resume"])
    elif config.keep_epochs:
        _save_epoch_snapshot(run, {"epoch": 0})
    _check(should_stop, "building the model")
    return run


# ----- one epoch ---------------------------------------------------------------------------
class _FiniteWatch:
    """Remembers on the device the first batch whose loss was not finite.

    A few tiny tensor ops per batch and no sync; ``read`` syncs together with the loss that is
    being read anyway, and raises ``TrainingDiverged`` naming epoch and batch.
    """

    def __init__(self, device: torch.device, epoch: int) -> None:
        self.epoch = epoch
        self.first_bad = torch.zeros((), dtype=torch.float32, device=device)  # 0: none yet
        self.bad_value = torch.zeros((), dtype=torch.float32, device=device)

    def watch(self, loss: torch.Tensor, batch: int) -> None:
        newly = ~torch.isfinite(loss) & (self.first_bad == 0)
        self.first_bad = torch.where(newly, float(batch), self.first_bad)
        self.bad_value = torch.where(newly, loss, self.bad_value)

    def read(self, loss: torch.Tensor) -> float:
        value, first_bad, bad_value = torch.stack([loss, self.first_bad, self.bad_value]).tolist()
        if first_bad:
            kind = "NaN" if math.isnan(bad_value) else "infinite"
            raise TrainingDiverged(
                f"Training stopped: the loss became {kind} at epoch {self.epoch}, batch "
                f"{int(first_bad)}; lower the learning rate."
            )
        return value


def _step(run: TrainingRun, x: torch.Tensor, y: torch.Tensor):
    """One optimisation step; returns (loss, logits) still on the device."""
    use_amp = run.config.amp and run.device.type == "cuda"
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext()
    with autocast:
        logits = run.train_model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=run.config.label_smoothing)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    if run.scheduler is not None and run.per_batch_schedule:
        run.scheduler.step()
    return loss.detach(), logits.detach()


def train_one_epoch(
    run: TrainingRun,
    epoch: int,
    report: Callable[[Progress], None],
    should_stop: Callable[[], bool] | None = None,
    started: float | None = None,
) -> dict[str, float]:
    """Train one pass over the data; returns the epoch's training metrics."""
    run.model.train()
    epoch_start = time.perf_counter()
    started = epoch_start if started is None else started
    loss_sum = torch.zeros((), device=run.device)
    correct = torch.zeros((), device=run.device)
    finite = _FiniteWatch(run.device, epoch)
    seen, last_read, shown_loss, shown_batch = 0, -math.inf, math.nan, 0
    batches = iterate_batches(
        run.train_split, run.config.batch_size, True, run.generator, augment=run.config.augment
    )
    for i, (x, y) in enumerate(batches, start=1):
        _check(should_stop, "training")
        loss, logits = _step(run, x, y)
        seen += y.shape[0]
        loss_sum += loss * y.shape[0]
        correct += (logits.argmax(1) == y).sum()
        finite.watch(loss, i)
        now = time.perf_counter()
        if i == run.steps or now - last_read >= 1.0 / LOSS_READS_PER_S:
            shown_loss, shown_batch, last_read = finite.read(loss), i, now
        report(
            Progress(
                "batch",
                epoch,
                run.config.epochs,
                i,
                run.steps,
                loss=shown_loss,
                images_per_s=seen / max(now - epoch_start, 1e-9),
                elapsed_s=now - started,
                loss_batch=shown_batch,
            )
        )
    finite.read(loss_sum)  # covers the batches since the last read
    if run.scheduler is not None and not run.per_batch_schedule:
        run.scheduler.step()
    seconds = time.perf_counter() - epoch_start
    loss_total, right = torch.stack([loss_sum, correct]).tolist()
    return {
        "epoch": epoch,
        "train_loss": loss_total / max(seen, 1),
        "train_acc": right / max(seen, 1),
        "epoch_seconds": seconds,
        "images_per_s": seen / max(seconds, 1e-9),
        "lr": run.optimizer.param_groups[0]["lr"],
    }


def evaluate_epoch(run: TrainingRun, should_stop=None) -> dict[str, float]:
    """Validation (if any) and test loss and accuracy; cancellable within one batch."""
    metrics = {}
    if run.data.val is not None:
        metrics["val_loss"], metrics["val_acc"] = measure(
            run.model, run.data.val, run.device, should_stop
        )
    metrics["test_loss"], metrics["test_acc"] = measure(
        run.model, run.data.test, run.device, should_stop
    )
    return metrics


# ----- select and save ---------------------------------------------------------------------
def _check_weights(run: TrainingRun, epoch: int) -> None:
    """The last step of an epoch can break the weights while its loss was still finite."""
    finite = torch.stack([p.detach().isfinite().all() for p in run.model.parameters()]).all()
    if not finite.item():
        raise TrainingDiverged(
            f"Training stopped: the weights stopped being finite numbers in epoch {epoch}; "
            "lower the learning rate."
        )


def _checkpoint(run: TrainingRun, metrics: dict[str, Any]) -> Checkpoint:
    return Checkpoint(
        model_name=run.config.model,
        state_dict=clean_state_dict(run.model),
        model_args=run.model_args,
        normalization=NORMALIZATION,
        train_config=run.config.to_dict(),
        metrics=metrics,
    )


def _save_epoch_snapshot(run: TrainingRun, metrics: dict[str, Any]) -> None:
    path = run.out_dir / EPOCHS_DIR / f"epoch_{int(metrics['epoch']):03d}.pt"
    save_checkpoint(_checkpoint(run, metrics), path)


def select_and_save(run: TrainingRun, metrics: dict[str, float]) -> None:
    """Record the epoch, keep it as best.pt if it scores best, then write last.pt."""
    epoch = int(metrics["epoch"])
    _check_weights(run, epoch)
    run.history.append(metrics)
    has_val = run.data.val is not None
    criterion = run.config.select_by if has_val or run.config.select_by != "val" else "last"
    score = {"val": metrics.get("val_acc", 0.0), "test": metrics["test_acc"]}.get(
        criterion, float(epoch)
    )
    if score >= run.best_score:
        run.best_score, run.best_metrics = score, dict(metrics, selected_by=criterion)
        run.best_path = save_checkpoint(_checkpoint(run, run.best_metrics), run.out_dir / "best.pt")
    if run.config.keep_epochs:
        _save_epoch_snapshot(run, metrics)
    save_history(run.history, run.out_dir)
    _save_last(run, metrics)  # last, so a crash before it redoes this epoch on resume


def save_history(history: list[dict[str, float]], out_dir: Path) -> None:
    from mnist_desk.core.plots import plot_history

    text = json.dumps(history, indent=2).encode()
    atomic_write_bytes(out_dir / "history.json", lambda h: h.write(text))
    image = plot_history(history)
    atomic_write_bytes(out_dir / "history.png", lambda h: image.save(h, format="PNG"))


# ----- resume ------------------------------------------------------------------------------
def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every generator the run draws from, as tensors and plain lists (weights_only-safe)."""
    _, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
        "data": generator.get_state(),
    }


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    n = state["numpy"]
    keys = n["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["gauss"]))
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    generator.set_state(state["data"])


def _save_last(run: TrainingRun, metrics: dict[str, Any]) -> None:
    payload = _checkpoint(run, metrics).to_payload()
    payload["resume"] = {
        "epoch": int(metrics["epoch"]),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
        "rng": _rng_state(run.generator),
        "history": run.history,
        "best_score": run.best_score,
        "best_metrics": run.best_metrics,
    }
    atomic_write_bytes(run.out_dir / LAST_NAME, lambda h: torch.save(payload, h))


def _read_last(run_dir: Path) -> tuple[Checkpoint, dict[str, Any]]:
    """(checkpoint, raw payload) of ``run_dir/last.pt``, or a one-sentence error."""
    path = Path(run_dir) / LAST_NAME
    if not path.exists():
        raise RunFolderError(
            f"{run_dir} has no {LAST_NAME} to resume from (the run ended before its first "
            "epoch, or an older version made it)."
        )
    checkpoint = load_checkpoint(path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    state = payload.get("resume")
    if not isinstance(state, dict) or not {"epoch", "optimizer", "rng"} <= state.keys():
        raise CheckpointError(f"{path} lacks the resume state; it cannot be continued.")
    problem = _resume_state_problem(state)
    if problem:
        raise CheckpointError(
            f"{path} has a damaged resume state ({problem}); it cannot be continued."
        )
    payload["train_config"] = checkpoint.train_config  # a damaged one is already dropped
    return checkpoint, payload


def _resume_state_problem(state: dict[str, Any]) -> str:
    """Why the saved state cannot restore a run ("" when it can); checked before any work."""
    epoch = state["epoch"]
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
        return f"epoch {epoch!r} is not a finished epoch count"
    history = state.get("history", [])
    if not isinstance(history, list) or not all(isinstance(m, dict) for m in history):
        return "its history is not a list of epoch metrics"
    score = state.get("best_score", -math.inf)
    if not isinstance(score, int | float) or isinstance(score, bool) or math.isnan(score):
        return f"best score {score!r} is not a number"
    if not isinstance(state.get("best_metrics") or {}, dict):
        return "its best metrics are not a dict"
    if not isinstance(state["optimizer"], dict) or not isinstance(state["rng"], dict):
        return "its optimizer or random state is not a dict"
    return ""


def read_resume_point(config: TrainConfig) -> tuple[Checkpoint, dict[str, Any]]:
    """``last.pt`` of the run in ``config.out``, checked: it can go on as ``config`` asks."""
    saved = _read_last(Path(config.out))
    _check_resumable(saved[1]["train_config"], saved[1]["resume"]["epoch"], config)
    return saved


def _check_resumable(saved_config: dict, done: int, config: TrainConfig) -> None:
    refusal = resume_refusal(saved_config)
    if refusal:
        raise RunFolderError(refusal)
    if done >= config.epochs:
        raise RunFolderError(
            f"The run in {config.out} already finished its {done} "
            f"epoch{'s' if done != 1 else ''}; ask for more epochs to train further."
        )
    planned = saved_config.get("epochs")
    if config.schedule in ("cosine", "onecycle") and planned != config.epochs:
        raise RunFolderError(
            f"The run in {config.out} uses the {config.schedule} schedule, planned for "
            f"{planned} epochs; it can only be resumed with that many."
        )


def _restore(run: TrainingRun, state: dict[str, Any]) -> None:
    try:
        _restore_states(run, state)
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        # Only the file's content reaches these calls; torch and random say what they lack.
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise CheckpointError(
            f"{run.out_dir / LAST_NAME} has a damaged resume state ({first}); "
            "it cannot be continued."
        ) from None


def _restore_states(run: TrainingRun, state: dict[str, Any]) -> None:
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scheduler is not None and state.get("scheduler") is not None:
        run.scheduler.load_state_dict(state["scheduler"])
    run.history = [dict(m) for m in state.get("history", [])]
    run.best_score = float(state.get("best_score", -math.inf))
    run.best_metrics = dict(state.get("best_metrics") or {})
    best = run.out_dir / "best.pt"
    run.best_path = best if best.exists() else None
    run.first_epoch = int(state["epoch"]) + 1
    _set_rng_state(state["rng"], run.generator)


def resume_config(run_dir: str | Path, **changes: Any) -> TrainConfig:
    """The saved settings of the run in ``run_dir`` (``out`` set to it), with ``changes``.

    Only ``epochs`` (to train further), ``device`` and ``data`` (where MNIST now is) should
    change; anything else would make the continued run a different one.
    """
    checkpoint, payload = _read_last(Path(run_dir))
    values = dict(checkpoint.train_config, out=str(run_dir))
    values.update({k: v for k, v in changes.items() if v is not None})
    config = TrainConfig.from_dict(values)
    _check_resumable(checkpoint.train_config, int(payload["resume"]["epoch"]), config)
    return config


# ----- the whole run -----------------------------------------------------------------------
class _RunRecorder:
    """Keeps the run's row in the runs table current; a table it cannot write never stops
    the training (the run folder itself is the record that matters), but ``problem`` keeps
    why the latest write failed, so the person can be told their runs list is stale."""

    def __init__(self, table: RunsTable | None, config: TrainConfig, resume: bool) -> None:
        self.table = table
        self.problem = ""
        previous = table.get(run_key(config.out)) if table is not None and resume else None
        self.record = starting_record(config, previous)
        self._write()

    def update(self, run: TrainingRun | None, status: str = "running") -> None:
        self.record.status = status
        if run is not None:
            best = run.best_metrics
            self.record.best_path = str(run.best_path.resolve()) if run.best_path else None
            self.record.test_acc = best.get("test_acc")
            self.record.val_acc = best.get("val_acc")
            self.record.epochs_done = len(run.history)
        self._write()

    def forget(self) -> None:
        if self.table is not None:
            with contextlib.suppress(OSError, UserError):
                self.table.remove(self.record.out)

    def _write(self) -> None:
        if self.table is None:
            return
        try:
            self.table.upsert(self.record)
            self.problem = ""  # a later write that works repairs the row
        except (OSError, UserError) as exc:
            self.problem = table_write_problem(self.table, exc)

    def tell(self, result: FitResult) -> FitResult:
        """Put the table's problem, if the last write failed, on the result with what holds."""
        if self.problem:
            result.runs_table_problem = runs_table_warning(self.problem, result, self.record.out)
        return result


def table_write_problem(table: RunsTable, exc: BaseException) -> str:
    """Half a sentence: which runs table could not be written, and why."""
    reason = getattr(exc, "strerror", None) or str(exc).rstrip(".") or type(exc).__name__
    return (
        f"The runs list {table.path} could not be updated ({reason}), so it may not show this run"
    )


def runs_table_warning(problem: str, result: FitResult, out: str | Path) -> str:
    """The whole sentence for ``FitResult.runs_table_problem``: fit and fine_tune both say,
    after what failed, what the person still has (so one missing row is not read as a lost run)."""
    kept = (
        f"the checkpoint {result.best_path} is saved"
        if result.best_path
        else f"the run folder {out} is kept"
    )
    return f"{problem}; {kept}."


def fit(
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    data: MnistData | None = None,
    resume: bool = False,
    runs_table: RunsTable | None = None,
) -> FitResult:
    """Train ``config.model`` into the run folder ``config.out``; see the module docstring.

    Cancelling returns a result with ``cancelled=True`` (best.pt and last.pt of the last
    finished epoch stay); a folder that already holds a run is refused unless ``resume``.
    A new run that fails, meets Ctrl+C or is cancelled before its first epoch is saved
    leaves nothing behind: no row in the runs table (there is nothing to use or resume;
    the caller says what happened) and not the folders or the snapshot it made.
    """
    out_dir = Path(config.out)
    made = folders_to_make(out_dir)
    result = None
    try:
        with run_folder_lock(out_dir):
            result = _fit_locked(config, on_progress, should_stop, data, resume, runs_table)
        return result
    except (MemoryError, RuntimeError) as exc:  # only allocation failures; others are bugs
        if not _out_of_memory(exc):
            raise
        where = "the GPU" if isinstance(exc, torch.OutOfMemoryError) else "memory"
        # A resumed run keeps its batch size (resume_config), so only a new run can shrink it.
        choose = "start a new run with a smaller one" if resume else "choose a smaller batch size"
        raise TrainingOutOfMemory(
            f"A batch of {config.batch_size:,} digits did not fit in {where}; "
            f"{choose} (or a smaller model)."
        ) from None
    finally:  # after the lock: its file was the last one inside
        ended_early = result is None or result.cancelled  # failed, Ctrl+C or cancelled
        if ended_early and _nothing_to_keep(out_dir, resume):
            remove_empty_folders(made)


def _nothing_to_keep(out_dir: Path, resume: bool) -> bool:
    """A new run that ended before its first epoch was saved: nothing to use or resume."""
    return not resume and not holds_run(out_dir)


def _fit_locked(config, on_progress, should_stop, data, resume, runs_table) -> FitResult:
    report = on_progress or (lambda _event: None)
    started = time.perf_counter()
    out_dir = Path(config.out)
    if holds_run(out_dir) and not resume:
        raise RunFolderError(
            f"{out_dir} already holds a training run; resume it or choose another folder."
        )
    # A run that cannot go on is refused before its row is touched: it keeps its status.
    saved = read_resume_point(config) if resume else None
    recorder = _RunRecorder(runs_table, config, resume)
    there = {p for p in (out_dir / EPOCHS_DIR, out_dir / EPOCHS_DIR / "epoch_000.pt") if p.exists()}
    run, cancelled = None, False
    try:
        run = build(config, data, should_stop, resume, saved)
        recorder.update(run)  # a resumed run shows its epochs so far
        report(
            Progress(
                "start",
                run.first_epoch - 1,
                config.epochs,
                0,
                run.steps,
                message=device_label(run.device),
            )
        )
        for epoch in range(run.first_epoch, config.epochs + 1):
            metrics = train_one_epoch(run, epoch, report, should_stop, started)
            metrics.update(evaluate_epoch(run, should_stop))
            select_and_save(run, metrics)
            report(_epoch_event(run, metrics, started))
            recorder.update(run)
    except JobCancelled:
        cancelled = True
        if _nothing_to_keep(out_dir, resume):  # as a failure there
            _leave_nothing(recorder, config, there)
            return _finish(None, config, True, started)
    except BaseException as exc:  # Ctrl+C (KeyboardInterrupt) or a failure
        if _nothing_to_keep(out_dir, resume):  # a row would only be clutter
            _leave_nothing(recorder, config, there)
        else:
            recorder.update(run, "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    result = _finish(run, config, cancelled, started)
    recorder.update(run, "cancelled" if cancelled else "finished")
    return recorder.tell(result)


def _leave_nothing(recorder: _RunRecorder, config: TrainConfig, there: set[Path]) -> None:
    """Take back the row and the initial snapshot of a new run that ended before its first
    epoch; what was in the folder before the run (``there``) is not its to remove. From the
    config, not the run: a cancel while the run is being built comes after the snapshot."""
    recorder.forget()
    if not config.keep_epochs:
        return
    snapshots = Path(config.out) / EPOCHS_DIR
    if snapshots / "epoch_000.pt" not in there:
        (snapshots / "epoch_000.pt").unlink(missing_ok=True)
    if snapshots not in there:
        with contextlib.suppress(OSError):
            snapshots.rmdir()


def _epoch_event(run: TrainingRun, metrics: dict[str, float], started: float) -> Progress:
    return Progress(
        "epoch",
        int(metrics["epoch"]),
        run.config.epochs,
        run.steps,
        run.steps,
        loss=metrics["train_loss"],
        images_per_s=metrics["images_per_s"],
        elapsed_s=time.perf_counter() - started,
        epoch_metrics=metrics,
    )


def _finish(
    run: TrainingRun | None, config: TrainConfig, cancelled: bool, started: float
) -> FitResult:
    seconds = time.perf_counter() - started
    if run is None:  # cancelled before its first epoch: nothing was kept
        return FitResult([], None, True, config.device, seconds, {})
    summary = {
        "config": config.to_dict(),
        "device": device_label(run.device),
        "seconds": seconds,
        "cancelled": cancelled,
        "best": run.best_metrics,
        "best_path": str(run.best_path) if run.best_path else None,
    }
    atomic_write_bytes(
        run.out_dir / "summary.json", lambda h: h.write(json.dumps(summary, indent=2).encode())
    )
    return FitResult(
        run.history,
        run.best_path,
        cancelled,
        device_label(run.device),
        seconds,
        run.best_metrics,
    )
