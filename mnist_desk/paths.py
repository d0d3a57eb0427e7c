"""Where files live: shipped resources (checkout or bundle) and the per-user folders."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

RESOURCES_ENV = "MNIST_DESK_RESOURCES"
DEFAULT_CHECKPOINT = "desknet.pt"


def resources_dir() -> Path:
    """The shipped checkpoint, model card and icon.

    Installed (wheel or bundle) they are package data, ``mnist_desk/resources``; in a checkout
    (editable install or ``PYTHONPATH``) they stay in the top-level ``resources/`` folder that
    the wheel build maps into the package.
    """
    if os.environ.get(RESOURCES_ENV):
        return Path(os.environ[RESOURCES_ENV])
    packaged = files("mnist_desk") / "resources"
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
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
