"""The table of training runs (``runs.json``), shared by the CLI and the Train tab.

Each row describes one run folder. The file is the person's history, so a damaged row is
skipped and named, never fatal: ``load`` returns the good records and a list of problems.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

RUNS_TABLE = "runs.json"
STATUSES = ("running", "done", "cancelled", "failed")


@dataclass
class RunRecord:
    out: str  # the run folder; the key of the table
    model: str
    status: str = "running"
    best_path: str | None = None
    test_acc: float | None = None
    val_acc: float | None = None
    epochs_done: int = 0
    epochs: int = 0
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.out).name

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """Build a record from one JSON row; ``ValueError`` says what is wrong with it."""
        if not isinstance(row, dict):
            raise ValueError(f"a {type(row).__name__} instead of a run")
        if "out" not in row and "path" in row:  # rows written before the table moved to core
            row = {
                "out": str(Path(str(row["path"])).parent),
                "model": row.get("model", "?"),
                "status": "done",
                "best_path": row["path"],
                "test_acc": _percent_to_fraction(row.get("best test acc")),
                "epochs_done": row.get("epochs") or 0,
                "epochs": row.get("epochs") or 0,
                "created": "",
            }
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        if not isinstance(values.get("out"), str) or not values["out"]:
            raise ValueError("no run folder")
        if not isinstance(values.get("model"), str):
            raise ValueError(f"{values['out']}: no model name")
        if values.get("status", "running") not in STATUSES:
            raise ValueError(f"{values['out']}: unknown status {values.get('status')!r}")
        for key in ("test_acc", "val_acc"):
            value = values.get(key)
            if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
                raise ValueError(f"{values['out']}: {key} {value!r} is not a fraction")
        for key in ("epochs_done", "epochs"):
            if not isinstance(values.get(key, 0), int) or values.get(key, 0) < 0:
                raise ValueError(f"{values['out']}: {key} is not a count")
        if values.get("best_path") is not None and not isinstance(values["best_path"], str):
            raise ValueError(f"{values['out']}: best_path is not a path")
        if not isinstance(values.get("config", {}), dict):
            raise ValueError(f"{values['out']}: config is not a table")
        return cls(**values)


def _percent_to_fraction(value: Any) -> float | None:
    return value / 100 if isinstance(value, int | float) and 0 <= value <= 100 else None


class RunsTable:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> tuple[list[RunRecord], list[str]]:
        """(records, problems): every readable run, and one phrase per row that was skipped."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            return [], [f"{self.path.name} could not be read ({exc.strerror or exc})"]
        try:
            rows = json.loads(text)
        except ValueError:
            return [], [f"{self.path.name} is not valid JSON"]
        if not isinstance(rows, list):
            return [], [f"{self.path.name} does not hold a list of runs"]
        records, problems = [], []
        for i, row in enumerate(rows, start=1):
            try:
                records.append(RunRecord.from_row(row))
            except (ValueError, TypeError) as exc:
                problems.append(f"run {i} of {self.path.name} ({exc})")
        return records, problems

    def upsert(self, record: RunRecord) -> None:
        """Add the run, or replace the row with the same folder; damaged rows are dropped."""
        records = [r for r in self.load()[0] if r.out != record.out] + [record]
        self._save(records)

    def remove(self, out: str) -> None:
        self._save([r for r in self.load()[0] if r.out != out])

    def _save(self, records: list[RunRecord]) -> None:
        from mnist_desk.core.checkpoint import atomic_write_bytes

        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps([asdict(r) for r in records], indent=2).encode()
        atomic_write_bytes(self.path, lambda h: h.write(text))


def default_runs_table() -> RunsTable:
    from mnist_desk.paths import runs_dir

    return RunsTable(runs_dir() / RUNS_TABLE)


def load_history(out: str | Path) -> list[dict[str, float]]:
    """A run's per-epoch metrics (``history.json``), or [] when it has none readable."""
    try:
        rows = json.loads((Path(out) / "history.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
