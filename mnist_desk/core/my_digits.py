"""The person's own labelled drawings: stored as strokes + 28×28 PNG in the user data folder.

One JSON file per digit (strokes, pen width, label) beside its 28×28 image, each written
atomically, so a full disk or a crash never leaves half a digit behind.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

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
        """Every readable digit, oldest first; unreadable files are skipped, not fatal."""
        digits = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                digits.append(self._read(path))
            except (OSError, ValueError, TypeError):
                continue
        return digits

    @staticmethod
    def _read(path: Path) -> MyDigit:
        return MyDigit(**json.loads(path.read_text(encoding="utf-8")))

    def relabel(self, digit_id: str, label: int) -> MyDigit:
        digit = self._read(self.folder / f"{digit_id}.json")
        digit.label = int(label)
        self._write(digit)
        return digit

    def delete(self, digit_id: str) -> None:
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
