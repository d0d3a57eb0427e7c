"""Where the save, export and open-image dialogs start.

In the folder the person used last (remembered in the settings), the first time in their
Pictures folder (every export is a PNG), else Documents, else home; never the working
directory the app happened to be started from.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QFileDialog, QWidget

from mnist_desk.ui import settings as settings_io

LAST_FOLDER = "files/last_folder"
FIRST_FOLDERS = (
    QStandardPaths.StandardLocation.PicturesLocation,
    QStandardPaths.StandardLocation.DocumentsLocation,
    QStandardPaths.StandardLocation.HomeLocation,
)


def start_folder(settings: QSettings) -> Path:
    last = settings_io.read(settings, LAST_FOLDER, "", str)
    candidates = [last, *(QStandardPaths.writableLocation(place) for place in FIRST_FOLDERS)]
    for folder in candidates:
        if folder and Path(folder).is_dir():
            return Path(folder)
    return Path.home()


def _remember(settings: QSettings, path: str) -> str:
    if path:
        settings.setValue(LAST_FOLDER, str(Path(path).parent))
    return path


def ask_save_path(
    parent: QWidget | None, title: str, file_name: str, filter_text: str, settings=None
) -> str:
    """The chosen file ("" when cancelled); its folder is where the next dialog starts."""
    settings = settings if settings is not None else settings_io.open_settings()
    start = str(start_folder(settings) / file_name)
    path, _ = QFileDialog.getSaveFileName(parent, title, start, filter_text)
    return _remember(settings, path)


def ask_open_path(parent: QWidget | None, title: str, filter_text: str, settings=None) -> str:
    settings = settings if settings is not None else settings_io.open_settings()
    path, _ = QFileDialog.getOpenFileName(parent, title, str(start_folder(settings)), filter_text)
    return _remember(settings, path)
