"""Writing output files so that a full disk or a read-only folder is one sentence, not a trace.

Every file mnist-desk writes (checkpoints, histories, images, ONNX exports) goes through a
temporary file in the target folder and a rename, so a failed write never leaves half a file
and never destroys the previous one.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from mnist_desk.core.errors import UserError


class OutputError(UserError, OSError):
    """A file or folder that cannot be written; the message names it.

    Still an ``OSError``, so callers that already catch one (the GUI's save actions) keep working.
    """


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is used up"
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, NotADirectoryError):
        return "a part of its path is a file, not a folder"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    return exc.strerror or type(exc).__name__


def output_error(path: str | os.PathLike, exc: OSError) -> OutputError:
    return OutputError(f"Could not write {os.fspath(path)}: {_reason(exc)}.")


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turn an ``OSError`` raised while writing ``path`` into an ``OutputError`` naming it."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(path, exc) from None


def make_folder(path: str | os.PathLike) -> Path:
    """``mkdir -p`` whose failure (a file in the way, no permission) is one sentence."""
    folder = Path(path)
    with writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_folder_writable(path: str | os.PathLike) -> None:
    """Refuse an output folder that cannot be made or written, before any work starts.

    Creates nothing: the nearest existing ancestor must be a folder we may write into.
    """
    folder = Path(path).expanduser().absolute()
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        reason = (
            "is a file" if probe == folder else f"needs {probe} to be a folder, but it is a file"
        )
        raise OutputError(f"Cannot write into {folder}: it {reason}.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write into {folder}: permission denied on {probe}.")


def atomic_write_bytes(path: str | os.PathLike, write: Callable[[IO[bytes]], object]) -> None:
    """Write via a temporary file in the same folder, fsync, then rename over ``path``.

    ``write`` gets an in-memory buffer: the serialiser (torch.save, Pillow) never sees a full
    disk, so the error is the operating system's plain "no space left", named with the file.
    """
    path = Path(path)
    buffer = io.BytesIO()
    write(buffer)
    data = buffer.getbuffer()
    make_folder(path.parent)
    tmp_name = None
    try:
        with writing(path):
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_name, 0o666 & ~umask)  # mkstemp's 0600 would hide files from others
            os.replace(tmp_name, path)
    except BaseException:
        if tmp_name and os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise


def image_format(path: str | os.PathLike) -> str:
    """Pillow's format name for the file's extension; refuse one it cannot write."""
    from PIL import Image

    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise OutputError(f"Cannot write {path}: give an image name ending in .png or .jpg.")
    return fmt


def check_image_target(path: str | os.PathLike) -> None:
    """Before the work: the name has an image extension and its folder can be written."""
    image_format(path)
    if Path(path).is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder; give an image file name.")
    check_folder_writable(Path(path).parent)


def save_image(image, path: str | os.PathLike) -> Path:
    """Save a Pillow image atomically, its format chosen by the file's extension."""
    path = Path(path)
    fmt = image_format(path)
    atomic_write_bytes(path, lambda handle: image.save(handle, format=fmt))
    return path


def is_regular_file(path: str | os.PathLike) -> bool:
    """True for a plain file; a FIFO or device would block or stream forever when opened."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def move_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged user file to ``NAME.damaged-<ns>`` beside it, so a new one can be
    written without destroying the only copy of the old; ``OSError`` when it cannot move."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.damaged-{time.time_ns()}")
    os.replace(path, aside)
    return aside


def read_json_file(path: str | os.PathLike):
    """The JSON in a plain file; ``ValueError`` for a pipe (it would block) or a bad document.

    Deeply nested brackets make ``json`` recurse until ``RecursionError``: a bad file too.
    """
    path = Path(path)
    if path.exists() and not is_regular_file(path):
        raise ValueError("it is not a regular file")
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("it is nested too deeply to be read") from None
