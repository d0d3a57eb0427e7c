"""QSettings in an INI file; a corrupt or unreadable file means defaults, never a crash."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings

from mnist_desk.core.files import is_regular_file, move_aside
from mnist_desk.paths import settings_path


def open_settings() -> QSettings:
    path = _usable(settings_path())
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(path), QSettings.Format.IniFormat)
    if settings.status() != QSettings.Status.NoError:
        settings.clear()  # unreadable: start from defaults
    return settings


def read(settings: QSettings, key: str, default, kind=None):
    """A typed read that falls back to ``default`` on a missing or mangled value."""
    kind = kind or type(default)
    try:
        value = settings.value(key, default)
        if value is None:
            return default
        if kind is bool:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        return kind(value)
    except (TypeError, ValueError):
        return default


def _usable(path: Path) -> Path:
    """``path``, unless something other than a plain file stands there: a FIFO would block
    QSettings (and the start-up) forever. It is moved aside, as a damaged runs.json is; if
    it cannot be moved, this session's settings live in a temporary file instead."""
    if not os.path.lexists(path) or is_regular_file(path):
        return path
    with contextlib.suppress(OSError):
        move_aside(path)
    if not os.path.lexists(path):
        return path
    return Path(tempfile.gettempdir()) / f"mnist-desk-settings-{os.getpid()}.ini"
