"""Where the shipped files live: beside the package in a checkout, or inside a bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

RESOURCES_ENV = "MNIST_DESK_RESOURCES"
DEFAULT_CHECKPOINT = "desknet.pt"


def resources_dir() -> Path:
    if os.environ.get(RESOURCES_ENV):
        return Path(os.environ[RESOURCES_ENV])
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def default_checkpoint_path() -> Path:
    return resources_dir() / DEFAULT_CHECKPOINT
