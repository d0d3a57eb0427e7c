"""QSettings in an INI file; a corrupt or unreadable file means defaults, never a crash."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QSettings

from mnist_desk.paths import settings_path


def open_settings() -> QSettings:
    path = settings_path()
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
