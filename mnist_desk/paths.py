"""Where files live: shipped resources (checkout or bundle) and the per-user folders."""

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


HOME_ENV = "MNIST_DESK_HOME"  # one folder for settings and user data (tests, portable installs)


def user_data_dir() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "data"
    from platformdirs import user_data_dir as platform_data_dir

    return Path(platform_data_dir("mnist-desk", appauthor=False))


def settings_path() -> Path:
    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "settings.ini"
    from platformdirs import user_config_dir

    return Path(user_config_dir("mnist-desk", appauthor=False)) / "settings.ini"


def runs_dir() -> Path:
    """Where the Train tab writes its runs (each a folder with best.pt and history)."""
    return user_data_dir() / "runs"


def my_digits_dir() -> Path:
    return user_data_dir() / "my_digits"
