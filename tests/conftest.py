"""Shared fixtures: the local MNIST copy (or a clear skip), an isolated user folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["MNIST_DESK_OFFLINE"] = "1"  # a test must never download MNIST


def _mnist_root() -> Path | None:
    for candidate in (os.environ.get("MNIST_DESK_DATA"), ROOT.parent / "shared" / "mnist"):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    root = _mnist_root()
    if root is None:
        pytest.skip("MNIST not found: set MNIST_DESK_DATA or put it in ../shared/mnist")
    return root


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    """Settings, runs and my digits go to a temporary folder, never the real user's."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MNIST_DESK_HOME", str(home))
    return home


@pytest.fixture(scope="session", autouse=True)
def _torch_threads():
    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope="session")
def shipped_checkpoint() -> Path:
    from mnist_desk.paths import default_checkpoint_path

    path = default_checkpoint_path()
    assert path.exists(), f"the shipped checkpoint is missing: {path}"
    return path


@pytest.fixture(scope="session")
def small_data(mnist_root):
    """2,000 training and 500 test digits, loaded once."""
    from mnist_desk.core.data import load_mnist

    return load_mnist(mnist_root, train_subset=2000, test_subset=500, download=False)
