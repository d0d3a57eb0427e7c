"""One versioned checkpoint format, written atomically and read with ``weights_only=True``.

Keys: format, model, model_args, state_dict, normalization, train_config, metrics,
created, versions. See README "Checkpoint format".
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mnist_desk import __version__
from mnist_desk.core.errors import UserError
from mnist_desk.core.models import MODELS, build_model

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

    def describe(self) -> str:
        acc = self.metrics.get("test_acc")
        acc_text = f", test accuracy {acc * 100:.2f}%" if isinstance(acc, float) else ""
        return f"{self.model_name}{acc_text}"

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


def atomic_write_bytes(path: Path, write) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp's 0600 would hide files from other users
        os.replace(tmp_name, path)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


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
    return {"temperature": float(temperature)}


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
    if model_name not in MODELS:
        raise CheckpointError(
            f"{name} is for model {model_name!r}, which this version does not know "
            f"(known: {', '.join(MODELS)})."
        )
    mean, std = payload["normalization"]
    checkpoint = Checkpoint(
        model_name=model_name,
        state_dict=payload["state_dict"],
        model_args=dict(payload.get("model_args") or {}),
        normalization=(float(mean), float(std)),
        train_config=dict(payload.get("train_config") or {}),
        metrics=dict(payload.get("metrics") or {}),
        created=str(payload.get("created", "")),
        versions=dict(payload.get("versions") or {}),
        calibration=_calibration(payload.get("calibration"), name),
        path=path,
    )
    checkpoint.build()  # fail now, not later, when weights do not fit the model
    return checkpoint
