"""The person's own labelled drawings: stored as strokes + 28×28 PNG in the user data folder.

One JSON file per digit (strokes, pen width, label) beside its 28×28 image, each written
atomically, so a full disk or a crash never leaves half a digit behind.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from mnist_desk.core.files import read_json_file
from mnist_desk.core.preprocess import strokes_to_mnist, to_uint8


@dataclass
class MyDigit:
    id: str
    label: int
    strokes: list
    pen_width: float
    created: str

    @cached_property
    def image(self) -> np.ndarray:
        """The 28×28 the model sees, rendered once (list, score and save all need it)."""
        image = strokes_to_mnist(self.strokes, self.pen_width)
        return np.zeros((28, 28), np.float32) if image is None else image


MAX_PEN_WIDTH = 200.0


def _finite(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_digit(values, expected_id: str | None = None) -> MyDigit:
    """A ``MyDigit`` from a file's JSON, or ``ValueError`` naming the first bad field."""
    if not isinstance(values, dict):
        raise ValueError("not a digit record")
    missing = {"id", "label", "strokes", "pen_width"} - values.keys()
    if missing:
        raise ValueError(f"missing {', '.join(sorted(missing))}")
    label, pen, strokes = values["label"], values["pen_width"], values["strokes"]
    if not isinstance(label, int) or isinstance(label, bool) or not 0 <= label <= 9:
        raise ValueError(f"label {label!r} is not a digit 0-9")
    if not _finite(pen) or not 0 < pen <= MAX_PEN_WIDTH:
        raise ValueError(f"pen width {pen!r} is not a number between 0 and {MAX_PEN_WIDTH:g}")
    if not isinstance(strokes, list) or not strokes:
        raise ValueError("strokes are not a list of strokes")
    for stroke in strokes:
        if not isinstance(stroke, list) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and all(_finite(v) for v in p)
            for p in stroke
        ):
            raise ValueError("strokes are not lists of finite (x, y) points")
    if not isinstance(values["id"], str) or (expected_id and values["id"] != expected_id):
        raise ValueError("its id does not match the file name")
    created = values.get("created", "")
    return MyDigit(
        id=values["id"],
        label=label,
        strokes=strokes,
        pen_width=float(pen),
        created=created if isinstance(created, str) else "",
    )


class MyDigitStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def add(self, strokes: list, pen_width: float, label: int) -> MyDigit:
        if not 0 <= int(label) <= 9:
            raise ValueError(f"A digit's label must be 0–9, not {label!r}.")
        if not any(strokes):
            raise ValueError("The drawing is empty: there is nothing to add.")
        digit = MyDigit(
            # sortable by time to the nanosecond, unique even for two digits in one instant
            id=f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}-{uuid.uuid4().hex[:4]}",
            label=int(label),
            strokes=[[list(map(float, p)) for p in s] for s in strokes if s],
            pen_width=float(pen_width),
            created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        self._write(digit)
        return digit

    def _write(self, digit: MyDigit) -> None:
        from mnist_desk.core.checkpoint import atomic_write_bytes

        self.folder.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(to_uint8(digit.image))
        atomic_write_bytes(self.folder / f"{digit.id}.png", lambda h: image.save(h, format="PNG"))
        text = json.dumps(asdict(digit)).encode()
        atomic_write_bytes(self.folder / f"{digit.id}.json", lambda h: h.write(text))

    def all(self) -> list[MyDigit]:
        """Every readable digit, oldest first; damaged files are skipped, not fatal."""
        return self.load()[0]

    def load(self) -> tuple[list[MyDigit], list[str]]:
        """(digits, problems): the good digits, and one phrase per file that was skipped."""
        digits, problems = [], []
        for path in sorted(self.folder.glob("*.json")):
            try:
                digits.append(self._read(path))
            except (OSError, ValueError, TypeError) as exc:
                problems.append(f"{path.name} ({exc})")
        return digits, problems

    @staticmethod
    def _read(path: Path) -> MyDigit:
        """One digit file, checked field by field: a bad file must fail here, not later."""
        values = read_json_file(path)
        return validate_digit(values, path.stem)

    def restore(self, digit: MyDigit) -> None:
        """Write a deleted digit back (the undo of ``delete``)."""
        self._write(digit)

    def find(self, digit_id: str) -> MyDigit:
        return self._read(self.folder / f"{digit_id}.json")

    def relabel(self, digit_id: str, label: int) -> MyDigit:
        digit = self._read(self.folder / f"{digit_id}.json")
        digit.label = int(label)
        self._write(digit)
        return digit

    def delete(self, digit_id: str) -> None:
        """Remove both files; read the digit first (``find``) to be able to ``restore`` it."""
        for suffix in (".json", ".png"):
            (self.folder / f"{digit_id}{suffix}").unlink(missing_ok=True)

    def arrays(self, digits: list[MyDigit] | None = None) -> tuple[np.ndarray, np.ndarray]:
        digits = self.all() if digits is None else digits
        if not digits:
            return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
        return np.stack([d.image for d in digits]), np.array([d.label for d in digits])

    def split(self, holdout: float = 0.3, seed: int = 0) -> tuple[list[MyDigit], list[MyDigit]]:
        """(train, held out): a seeded split per label, so every digit is in both when it can be."""
        rng = np.random.default_rng(seed)
        train, held = [], []
        by_label: dict[int, list[MyDigit]] = {}
        for digit in self.all():
            by_label.setdefault(digit.label, []).append(digit)
        for group in by_label.values():
            order = rng.permutation(len(group))
            n_held = int(round(len(group) * holdout)) if len(group) > 1 else 0
            held += [group[i] for i in order[:n_held]]
            train += [group[i] for i in order[n_held:]]
        return train, held

    def write_npz(self, path: str | Path, digits: list[MyDigit]) -> Path:
        images, labels = self.arrays(digits)
        np.savez(path, images=to_uint8(images), labels=labels)
        return Path(path)
