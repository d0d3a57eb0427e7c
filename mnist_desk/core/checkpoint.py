"""One versioned checkpoint format, written atomically and read with ``weights_only=True``.

Keys: format, model, model_args, state_dict, normalization, train_config, metrics,
created, versions. See README "Checkpoint format".
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnist_desk import __version__
from mnist_desk.core.errors import UserError
from mnist_desk.core.files import atomic_write_bytes, is_regular_file
from mnist_desk.core.models import MODELS, build_model, model_args_problems

__all__ = ["atomic_write_bytes"]  # kept importable from here for older callers

FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "model", "state_dict", "normalization")


class CheckpointError(UserError):
    """A checkpoint that cannot be used; the message says why in one sentence."""


@dataclass
class Checkpoint:
    model_name: str
    state_dict: dict[str, torch.Tensor]
    model_args: dict[str, Any] = field(default_factory=dict)
    normalization: tuple[float, float] = (0.1307, 0.3081)
    train_config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    # {"temperature": T} fitted on a validation split (core/calibration.py); absent means T = 1.
    calibration: dict[str, float] = field(default_factory=dict)
    path: Path | None = None

    def build(self) -> nn.Module:
        """Instantiate the registered model and load the weights, in eval mode."""
        model = build_model(self.model_name, **self.model_args)
        try:
            model.load_state_dict(self.state_dict)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(
                f"{self._where()}has weights that do not fit model {self.model_name!r} ({first})."
            ) from None
        return model.eval()

    def _where(self) -> str:
        return f"{self.path.name} " if self.path else "The checkpoint "

    def accuracy_text(self) -> str:
        """The stored test accuracy, named for what it is ("" when none is stored).

        ``metrics["test_acc"]`` is measured at training time on the raw outputs. A calibrated
        checkpoint's answers can differ ("not a digit" may win or lose after the shift), so
        its own figure, which the model card re-measures after calibration, is not this one;
        and a run on ``--test-subset`` was scored on that many digits, not all 10,000.
        """
        acc = self.metrics.get("test_acc")
        if not (isinstance(acc, float) and math.isfinite(acc)):
            return ""
        subset = (self.train_config or {}).get("test_subset")
        where = f"MNIST test ({subset:,} digits)" if isinstance(subset, int) else "MNIST test"
        raw = " (raw, before calibration)" if self.calibration else ""
        return f"{where} {acc * 100:.2f}%{raw}"

    def describe(self) -> str:
        acc_text = self.accuracy_text()
        return f"{self.model_name}, {acc_text}" if acc_text else self.model_name

    def summary(self) -> dict[str, Any]:
        """What a window shows about a checkpoint: name, file, accuracy, epoch."""
        return {
            "name": self.model_name,
            "path": str(self.path) if self.path else "",
            "test_acc": self.metrics.get("test_acc"),
            "epoch": self.metrics.get("epoch"),
            "description": self.describe(),
            "accuracy_text": self.accuracy_text(),
            "calibrated": bool(self.calibration),
            "metrics": dict(self.metrics),
            "train_config": dict(self.train_config or {}),
            "created": self.created or "",
        }

    def to_payload(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "model": self.model_name,
            "model_args": dict(self.model_args),
            "state_dict": {k: v.detach().cpu() for k, v in self.state_dict.items()},
            "normalization": [float(self.normalization[0]), float(self.normalization[1])],
            "train_config": dict(self.train_config),
            "metrics": dict(self.metrics),
            "created": self.created or time.strftime("%Y-%m-%dT%H:%M:%S"),
            "versions": self.versions
            or {"torch": str(torch.__version__), "mnist-desk": __version__},
            "calibration": {k: float(v) for k, v in self.calibration.items()},
        }


def clean_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """State dict without the ``_orig_mod.`` prefix that ``torch.compile`` adds."""
    state = model.state_dict()
    return {k.removeprefix("_orig_mod."): v.detach().cpu().clone() for k, v in state.items()}


def save_checkpoint(checkpoint: Checkpoint, path: str | os.PathLike) -> Path:
    path = Path(path)
    payload = checkpoint.to_payload()
    atomic_write_bytes(path, lambda handle: torch.save(payload, handle))
    checkpoint.path = path
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and validate; every failure becomes a one-sentence ``CheckpointError``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist.")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    if not is_regular_file(path):
        raise CheckpointError(f"{path} is not a regular file (a pipe or a device?).")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes); it is not a checkpoint.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = _explain_load_error(str(exc)) or type(exc).__name__
        raise CheckpointError(
            f"{path.name} is not a readable mnist-desk checkpoint (corrupt, truncated or another "
            f"kind of file: {reason})."
        ) from None
    return checkpoint_from_payload(payload, path)


def _explain_load_error(text: str) -> str:
    """Torch's load errors are long; say in a few words what they mean for a person."""
    if "Unsupported global" in text:
        return "it holds Python objects beyond plain weights, refused for safety"
    cut_short = ("central directory", "zip archive", "unexpected EOF", "Errno 22", "StreamReader")
    if any(k in text for k in cut_short):
        return "the file is cut short or damaged"
    if any(k in text for k in ("invalid load key", "Unsupported operand", "UnpicklingError")):
        return "it is not a PyTorch file"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:160] if lines else ""


def _calibration(value: Any, name: str) -> dict[str, float]:
    if not value:
        return {}
    temperature = value.get("temperature", 1.0) if isinstance(value, dict) else None
    if not isinstance(temperature, (int, float)) or not 0.05 <= float(temperature) <= 20:
        raise CheckpointError(f"{name} has an unusable calibration temperature {temperature!r}.")
    shift = value.get("not_a_digit_shift", 0.0)
    if not isinstance(shift, (int, float)) or not 0.0 <= float(shift) <= 20:
        raise CheckpointError(f"{name} has an unusable not-a-digit shift {shift!r}.")
    calibration = {"temperature": float(temperature)}
    if shift:
        calibration["not_a_digit_shift"] = float(shift)
    return calibration


def _normalization(value: Any, name: str) -> tuple[float, float]:
    """(mean, std): two finite numbers, std > 0; anything else would poison every input."""
    pair = value if isinstance(value, list | tuple) else ()
    numbers = len(pair) == 2 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in pair
    )
    if not numbers or not all(math.isfinite(v) for v in pair) or not pair[1] > 0:
        raise CheckpointError(
            f"{name} has an unusable normalization {value!r} (expected [mean, std], std > 0)."
        )
    return float(pair[0]), float(pair[1])


def check_weights(value: Any, name: str) -> dict[str, torch.Tensor]:
    """Tensors by name, all finite: a NaN model would answer "nan%" everywhere."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    ):
        raise CheckpointError(f"{name} has a state_dict that is not a dict of named tensors.")
    for key, tensor in value.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(
                f"{name} has non-finite weights (NaN or infinity in {key}); the training that "
                "wrote it diverged, so retrain with a smaller learning rate."
            )
    return value


def _dict(value: Any) -> dict:
    """Descriptive extras (config, metrics, versions): a damaged one is dropped, not fatal."""
    return dict(value) if isinstance(value, dict) else {}


def checkpoint_from_payload(payload: Any, path: Path | None = None) -> Checkpoint:
    name = path.name if path else "The checkpoint"
    if not isinstance(payload, dict):
        raise CheckpointError(f"{name} holds a {type(payload).__name__}, not a checkpoint dict.")
    missing = [k for k in REQUIRED_KEYS if k not in payload]
    if missing:
        hint = " (it looks like a bare state_dict)" if "format" in missing and payload else ""
        raise CheckpointError(f"{name} lacks {', '.join(missing)}{hint}; it is not ours.")
    if payload["format"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{name} has format {payload['format']!r}; this version reads format {FORMAT_VERSION}."
        )
    model_name = payload["model"]
    if not isinstance(model_name, str) or model_name not in MODELS:
        raise CheckpointError(
            f"{name} is for model {model_name!r}, which this version does not know "
            f"(known: {', '.join(MODELS)})."
        )
    model_args = payload.get("model_args") or {}
    problems = model_args_problems(model_name, model_args)
    if problems:
        raise CheckpointError(f"{name} has unusable model_args: {'; '.join(problems)}.")
    checkpoint = Checkpoint(
        model_name=model_name,
        state_dict=check_weights(payload["state_dict"], name),
        model_args=dict(model_args),
        normalization=_normalization(payload["normalization"], name),
        train_config=_dict(payload.get("train_config")),
        metrics=_dict(payload.get("metrics")),
        created=str(payload.get("created", "")),
        versions=_dict(payload.get("versions")),
        calibration=_calibration(payload.get("calibration"), name),
        path=path,
    )
    checkpoint.build()  # fail now, not later, when weights do not fit the model
    return checkpoint
