"""Run folders and the runs table, shared by ``mnist-desk train`` and the Train tab.

A run folder belongs to one run: a second run into it is refused unless it resumes, and a
lock file (``.lock``, created with ``O_EXCL``, holding the writer's pid) keeps two processes
or threads from writing it at once; a lock left by a dead process is taken over.

``runs.json`` (in the per-user data folder) lists the runs so CLI runs show in the Train tab.
It is read defensively: a damaged entry is skipped and named, never fatal. Entries written by
older versions (``run``, ``path``, ``best test acc``) are still understood, and the keys the
older Train tab shows are still written next to the new ones.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mnist_desk.core.errors import UserError
from mnist_desk.core.files import is_regular_file, move_aside, read_json_file
from mnist_desk.paths import runs_dir

RUNS_TABLE = "runs.json"
LOCK_NAME = ".lock"
# Files whose presence means a folder already holds a run that a new one would overwrite.
RUN_FILES = ("best.pt", "last.pt", "history.json", "summary.json")
STATUSES = ("running", "finished", "cancelled", "failed")


class RunFolderError(UserError):
    """The run folder is taken, in use, or cannot be resumed."""


@dataclass
class RunRecord:
    out: str  # the run folder (key)
    model: str
    status: str = "running"  # "running" | "finished" | "cancelled" | "failed"
    best_path: str | None = None
    test_acc: float | None = None
    val_acc: float | None = None
    epochs_done: int = 0
    epochs: int = 0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))  # ISO
    config: dict = field(default_factory=dict)  # TrainConfig.to_dict()

    @property
    def name(self) -> str:
        return Path(self.out).name


def run_key(out: str | os.PathLike) -> str:
    """How the runs table names a run folder: resolved, so two spellings are one run."""
    return str(Path(out).resolve())


def starting_record(config: Any, previous: RunRecord | None = None) -> RunRecord:
    """The row of a run as it starts (``config``: a ``TrainConfig``): what ``fit`` writes,
    and what the Train tab shows until ``fit`` has written it. A resumed run (``previous``)
    keeps its start time and the epochs it had done."""
    record = RunRecord(run_key(config.out), config.model, "running", epochs=config.epochs)
    record.config = config.to_dict()
    if previous is not None:
        record.created = previous.created
        record.best_path, record.epochs_done = previous.best_path, previous.epochs_done
        record.test_acc, record.val_acc = previous.test_acc, previous.val_acc
    return record


FINE_TUNE_NO_RESUME = (
    "A fine-tune cannot be resumed (the copy of your digits it trained on was a one-off and is "
    "gone): use its best checkpoint, or start a new fine-tune."
)


def resume_refusal(config: dict) -> str:
    """Why the run with these saved settings cannot go on ("" when it can): the extra digits
    it trained on are gone. A fine-tune's always are (a temporary copy of the person's digits;
    the runs table and best.pt name them, not the file), so the CLI and the Train tab both
    refuse it here, before its row could be marked "failed"."""
    extra = config.get("extra_train")
    if not extra:
        return ""
    if isinstance(extra, str) and is_regular_file(Path(extra)):
        return ""
    if config.get("init_from") or not isinstance(extra, str):
        return FINE_TUNE_NO_RESUME
    return (
        f"This run trained on extra digits from {extra}, which is no longer there, so it "
        "cannot be resumed; start a new run instead."
    )


def _check_record(raw: Any) -> RunRecord:
    """Build a record from one JSON entry or raise ``ValueError`` saying what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"is a {type(raw).__name__}, not a run")
    if "out" not in raw and isinstance(raw.get("path"), str):
        raw = _from_legacy(raw)
    values = {}
    for f in fields(RunRecord):
        value = raw.get(f.name)
        kind = f.type if isinstance(f.type, str) else f.type.__name__
        optional = "None" in kind
        if value is None and optional:
            values[f.name] = None
            continue
        if kind.startswith("str"):
            ok = isinstance(value, str)
        elif kind.startswith("int"):
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif kind.startswith("float"):
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            ok = ok and math.isfinite(value) and 0.0 <= value <= 1.0
        else:
            ok = isinstance(value, dict)
        if not ok:
            raise ValueError(f"has an unusable {f.name} ({str(value)[:40]!r})")
        values[f.name] = float(value) if kind.startswith("float") else value
    if values["status"] not in STATUSES:
        raise ValueError(f"has an unknown status {values['status']!r}")
    if not values["out"].strip():
        raise ValueError("has an empty run folder")
    return RunRecord(**values)


def _from_legacy(raw: dict) -> dict:
    """A row written by the Train tab before runs moved to core (always a finished run)."""
    acc = raw.get("best test acc")
    epoch = raw.get("epochs")
    return {
        "out": str(Path(raw["path"]).parent),
        "model": raw.get("model"),
        "status": "finished",
        "best_path": raw["path"],
        "test_acc": acc / 100
        if isinstance(acc, int | float) and not isinstance(acc, bool)
        else None,
        "val_acc": None,
        "epochs_done": epoch if isinstance(epoch, int) else 0,
        "epochs": epoch if isinstance(epoch, int) else 0,
        "created": str(raw.get("created", "")),
        "config": {},
    }


def _legacy_view(record: RunRecord) -> dict:
    """The keys the older Train tab displays, so it still shows new entries."""
    return {
        "run": Path(record.out).name,
        "path": record.best_path or "",
        "optimizer": record.config.get("optimizer", ""),
        "lr": record.config.get("lr", ""),
        "best test acc": round(record.test_acc * 100, 2) if record.test_acc is not None else "",
    }


def _describe(index: int, raw: Any) -> str:
    out = raw.get("out") or raw.get("run") if isinstance(raw, dict) else None
    return f"run {out!r}" if isinstance(out, str) and out else f"entry {index + 1}"


class RunsTable:
    """One ``runs.json`` file: a JSON list of run entries keyed by their folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _read_raw(self) -> tuple[list[Any], list[str]]:
        name = self.path.name
        if self.path.exists() and not is_regular_file(self.path):  # a FIFO would block forever
            return [], [f"{name} could not be read (not a regular file), so no runs are listed."]
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            return [], [f"{name} could not be read ({reason}), so no runs are listed."]
        try:
            rows = json.loads(text) if text.strip() else []
        except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
            return [], [f"{name} is not valid JSON, so no runs are listed."]
        if not isinstance(rows, list):
            return [], [f"{name} holds a {type(rows).__name__}, not a list of runs."]
        return rows, []

    def load(self) -> tuple[list[RunRecord], list[str]]:
        """Records and one sentence per skipped entry; never raises on bad content."""
        rows, problems = self._read_raw()
        records = []
        for index, raw in enumerate(rows):
            try:
                records.append(_check_record(raw))
            except (ValueError, TypeError, KeyError) as exc:
                problems.append(f"Skipped {_describe(index, raw)} in {self.path.name}: it {exc}.")
        return records, problems

    def upsert(self, record: RunRecord) -> None:
        """Replace the entry with the same folder, or append one; other entries stay as they are."""
        entry = {**_legacy_view(record), **asdict(record)}
        with self._locked():
            rows = self._rows_to_rewrite()
            rows = [r for r in rows if not (isinstance(r, dict) and r.get("out") == record.out)]
            self._write(rows + [entry])

    def _rows_to_rewrite(self) -> list[Any]:
        """The rows, after moving a table that cannot be read aside (``runs.json.damaged-…``):
        a new entry must not overwrite the only copy of the older ones."""
        rows, problems = self._read_raw()
        if problems:
            with suppress(FileNotFoundError):
                move_aside(self.path)
        return rows

    def remove(self, out: str) -> None:
        with self._locked():
            rows, problems = self._read_raw()
            if problems:
                return  # nothing can be removed from a table that cannot be read
            kept = [r for r in rows if not (isinstance(r, dict) and r.get("out") == out)]
            if len(kept) != len(rows):
                self._write(kept)

    def get(self, out: str) -> RunRecord | None:
        records, _ = self.load()
        return next((r for r in records if r.out == out), None)

    def _write(self, rows: list[Any]) -> None:
        from mnist_desk.core.checkpoint import atomic_write_bytes

        text = json.dumps(rows, indent=2).encode()
        atomic_write_bytes(self.path, lambda handle: handle.write(text))

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write between processes; a lock older than 10 s is stale."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        deadline = time.monotonic() + 5.0
        while True:
            try:
                os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                break
            except FileExistsError:
                try:
                    if time.time() - lock.stat().st_mtime > 10:
                        lock.unlink()
                        continue
                except FileNotFoundError:
                    continue
                if time.monotonic() > deadline:
                    raise RunFolderError(
                        f"{self.path} is locked by another mnist-desk (remove {lock.name} "
                        "if none is running)."
                    ) from None
                time.sleep(0.02)
        try:
            yield
        finally:
            lock.unlink(missing_ok=True)


def default_runs_table() -> RunsTable:
    """The table the Train tab shows; under ``$MNIST_DESK_HOME`` when that is set (tests)."""
    return RunsTable(runs_dir() / RUNS_TABLE)


# ----- run folders ------------------------------------------------------------------------
def new_run_dir(parent: str | os.PathLike, model: str) -> Path:
    """Create and return a fresh ``parent/<model>-<time>`` folder (``-2``, ``-3`` … if taken)."""
    parent = Path(parent)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = parent / (f"{model}-{stamp}" if n == 1 else f"{model}-{stamp}-{n}")
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder
        except FileExistsError:
            continue
    raise RunFolderError(f"{parent} has too many runs named {model}-{stamp}.")


def holds_run(folder: Path) -> bool:
    return any((Path(folder) / name).exists() for name in RUN_FILES)


def folders_to_make(folder: str | os.PathLike) -> list[Path]:
    """The folders missing on the way to ``folder``, deepest first: the ones a run that
    fails before writing anything may take away again (never one that existed before)."""
    missing = []
    path = Path(folder).absolute()
    while not path.exists() and path.parent != path:
        missing.append(path)
        path = path.parent
    return missing


def remove_empty_folders(folders: list[Path]) -> None:
    """``rmdir`` deepest first; the first folder that holds anything stops it."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else
    return True


def _read_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip() or "-1")
    except (OSError, ValueError):
        return None


@contextmanager
def run_folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.lock`` for the duration; refuse when a live process holds it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(
            f"Cannot create the run folder {folder} ({exc.strerror or type(exc).__name__})."
        ) from None
    lock = folder / LOCK_NAME
    for _attempt in range(5):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _read_pid(lock)
            if pid is None or _pid_alive(pid):
                if pid is None and _lock_age(lock) > 5:
                    _take_over(lock, pid)  # an empty lock nobody finished writing long ago
                    continue
                raise RunFolderError(
                    f"Another training run (process {pid or '?'}) is writing to {folder}; "
                    "wait for it or choose another folder."
                ) from None
            _take_over(lock, pid)
            continue
        except OSError as exc:
            raise RunFolderError(
                f"Cannot write to the run folder {folder} ({exc.strerror or type(exc).__name__})."
            ) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(str(os.getpid()))
        break
    else:
        raise RunFolderError(f"Could not take the lock on {folder}; try again.")
    try:
        yield folder
    finally:
        if _read_pid(lock) == os.getpid():
            lock.unlink(missing_ok=True)


def _lock_age(lock: Path) -> float:
    try:
        return time.time() - lock.stat().st_mtime
    except OSError:
        return 0.0


def _take_over(lock: Path, stale_pid: int | None) -> None:
    """Move a stale lock aside; if another taker got there first and we moved its fresh
    lock instead, put that one back (``link`` fails rather than overwrite)."""
    aside = lock.with_name(f"{lock.name}.stale.{os.getpid()}.{time.monotonic_ns()}")
    try:
        os.replace(lock, aside)
    except FileNotFoundError:
        return
    if _read_pid(aside) != stale_pid:
        with suppress(OSError):
            os.link(aside, lock)
    aside.unlink(missing_ok=True)


def load_history(out: str | Path) -> list[dict[str, float]]:
    """A run's per-epoch metrics (``history.json``), or [] when it has none readable."""
    try:
        rows = read_json_file(Path(out) / "history.json")
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
