"""Device choice and seeding, shared by the CLI, the GUI and the benchmarks."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from mnist_desk.core.errors import UserError


class DeviceError(UserError):
    """An explicitly chosen device that this machine cannot use."""


def available_devices() -> dict[str, str | None]:
    """Map each device name to ``None`` when usable, else the reason it is not."""
    reasons: dict[str, str | None] = {"cpu": None}
    reasons["cuda"] = None if torch.cuda.is_available() else "no CUDA GPU found"
    mps = getattr(torch.backends, "mps", None)
    reasons["mps"] = (
        None if mps is not None and mps.is_available() else "Apple MPS is not available"
    )
    return reasons


def select_device(preference: str = "auto") -> torch.device:
    """CUDA, then MPS, then CPU; an explicit choice that cannot work is an error, not a fallback."""
    reasons = available_devices()
    if preference == "auto":
        for name in ("cuda", "mps", "cpu"):
            if reasons[name] is None:
                return torch.device(name)
    if preference not in reasons:
        raise DeviceError(f"Unknown device {preference!r}; use auto, cuda, mps or cpu.")
    if reasons[preference] is not None:
        raise DeviceError(
            f"Device {preference!r} cannot be used: {reasons[preference]}; "
            "use --device auto or cpu."
        )
    return torch.device(preference)


def device_label(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def seed_everything(seed: int) -> torch.Generator:
    """Seed every generator we touch and return a torch generator for data order."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator
