"""Everything the Network tab shows for one drawing, computed in the inference worker.

``NetworkSession`` keeps what is costly to make and cheap to reuse: loaded Predictors for
the comparison and the training timeline, the nearest-neighbour index of the active
checkpoint, and the training digits to show as neighbours. ``view`` is then a handful of
milliseconds per drawing.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_desk.core.errors import UserError
from mnist_desk.core.inspect import Inspection, class_names, display_weights, inspect
from mnist_desk.core.neighbours import FeatureIndex, file_md5, load_index
from mnist_desk.core.predict import Predictor

NEIGHBOURS = 8
_ACTIVE = np.empty(0, np.float32)  # a compare row of the inspected model: filled from it
_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _helper_thread() -> ThreadPoolExecutor:
    """One thread beside the inference worker for the compared models.

    Their forward passes release the GIL in every operator, so on a second core they run
    while the inspected model's pass runs here: the view waits for the longer of the two
    instead of their sum. It uses as many torch threads as the thread that first asks.
    """
    global _helper
    with _helper_lock:
        if _helper is None:
            import torch

            threads = torch.get_num_threads()
            _helper = ThreadPoolExecutor(
                1, "network-compare", initializer=torch.set_num_threads, initargs=(threads,)
            )
        return _helper


@dataclass
class CompareRow:
    label: str
    path: str
    model: str
    probabilities: np.ndarray | None  # all classes; None when it could not be read
    error: str = ""


@dataclass
class NetworkView:
    """One drawing as seen by the viewed model (the active one or a timeline epoch)."""

    model: str
    source: str  # the checkpoint shown: path, or "" for the shipped one
    epoch_label: str  # "" for the active model itself, "epoch 3 of 10" on the timeline
    inspection: Inspection
    classes: list[str]
    target: int  # the class the "why" panel explains
    weights: dict[str, np.ndarray]  # core.inspect.display_weights of the viewed model
    compare: list[CompareRow] = field(default_factory=list)
    neighbours: list[tuple[int, int, float, np.ndarray]] = field(default_factory=list)
    index_state: str = "none"  # "ready", "missing" (build it), "unavailable", "timeline"
    index_message: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class PredictorCache:
    """Loaded checkpoints by path, reloaded when the file changes on disk.

    Keeps the ``KEEP`` most recently used: the compared models and a stretch of the timeline.
    """

    KEEP = 16

    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Predictor]] = {}

    def get(self, path: str) -> Predictor:
        from mnist_desk.paths import default_checkpoint_path

        real = str(path or default_checkpoint_path())
        stamp = os.stat(real).st_mtime
        hit = self._items.get(real)
        if hit is None or hit[0] != stamp:
            hit = (stamp, Predictor.from_path(real))
        self._items.pop(real, None)
        self._items[real] = hit  # most recently used last
        while len(self._items) > self.KEEP:
            self._items.pop(next(iter(self._items)))
        return hit[1]


class NetworkSession:
    """Lives in the inference worker's thread; never touched by the GUI thread."""

    def __init__(self, data_root: str | None = None) -> None:
        self.options: dict = {"target": None, "timeline": "", "compare": []}
        self.predictors = PredictorCache()
        self.data_root = data_root
        self._index: FeatureIndex | None = None
        self._index_key: tuple[str, float] | None = None
        self._index_message = ""
        self._train_images: np.ndarray | None = None
        self._weights_of: tuple[Predictor, dict] | None = None
        # Answers that depend only on the drawing, kept while it stays the same: clicking a
        # class or moving the timeline slider re-reads neither the compared models nor the
        # index. Keys hold the predictor or index objects: a reloaded one misses.
        self._drawing: np.ndarray | None = None
        self._known: dict = {}

    def update(self, options: dict) -> None:
        if options.pop("reload_index", False):
            self._index_key = None
        self.options.update(options)

    def view(self, predictor: Predictor, image28: np.ndarray) -> NetworkView:
        t0 = time.perf_counter()
        if self._drawing is None or not np.array_equal(self._drawing, image28):
            self._drawing, self._known = np.array(image28, copy=True), {}
        active_path = str(predictor.checkpoint.path or "")
        timeline = self.options.get("timeline") or ""
        viewed = self.predictors.get(timeline) if timeline else predictor
        target = self.options.get("target")
        targets = (int(target),) if target is not None else ()
        # Without the timeline the inspected model is the active one: its row comes from the
        # inspection; the other models are read on the helper thread meanwhile.
        compare = _helper_thread().submit(
            _timed, self._compare, predictor, active_path, image28, not timeline
        )
        inspection = inspect(viewed, image28, targets)
        t1 = time.perf_counter()
        explained = target if target in inspection.explanations else None
        if explained is None:
            explained = next(iter(inspection.explanations), 0)
        result = NetworkView(
            model=viewed.name,
            source=active_path,
            epoch_label=self.options.get("timeline_label", "") if timeline else "",
            inspection=inspection,
            classes=class_names(len(inspection.probabilities)),
            target=int(explained),
            weights=self._weights(viewed),
        )
        result.compare, compare_s = compare.result()
        for row in result.compare:
            if row.probabilities is _ACTIVE:
                row.probabilities = inspection.probabilities
        t2 = time.perf_counter()
        if timeline:
            result.index_state = "timeline"
            result.index_message = "Nearest digits are shown for the trained model, not an epoch."
        else:
            self._neighbours(active_path, inspection, result)
        t3 = time.perf_counter()
        result.timings = {
            "inspect": t1 - t0,
            "compare": compare_s,  # its own time on the helper thread
            "compare_wait": t2 - t1,  # what the view waited for it after the inspection
            "neighbours": t3 - t2,
        }
        return result

    def _weights(self, predictor: Predictor) -> dict[str, np.ndarray]:
        if self._weights_of is None or self._weights_of[0] is not predictor:
            self._weights_of = (predictor, display_weights(predictor.model))
        return self._weights_of[1]

    # ----- compare -----------------------------------------------------------------------
    def _compare(
        self, active: Predictor, active_path: str, image28, inspected: bool
    ) -> list[CompareRow]:
        """Runs on the helper thread; ``inspected``: the active model's row is filled later."""
        rows = []
        for label, path in self.options.get("compare") or []:
            probs = None
            try:
                predictor = self.predictors.get(path)
                if str(predictor.checkpoint.path) == active_path:
                    predictor = active
                    probs = _ACTIVE if inspected else None
                if probs is None:
                    key = ("compare", predictor)
                    if key not in self._known:
                        self._known[key] = predictor.all_probabilities(image28)
                    probs = self._known[key]
                rows.append(CompareRow(label, path, predictor.name, probs))
            except (UserError, OSError) as exc:
                rows.append(CompareRow(label, path, "?", None, str(exc)))
        return rows

    # ----- neighbours --------------------------------------------------------------------
    def _neighbours(self, path: str, inspection: Inspection, result: NetworkView) -> None:
        if not path:
            result.index_state, result.index_message = "unavailable", "No checkpoint file."
            return
        key = (path, os.stat(path).st_mtime)
        if key != self._index_key:
            self._index_key = key
            self._index = load_index(path, file_md5(path))
            self._index_message = ""
        if self._index is None:
            result.index_state = "missing"
            return
        try:
            images = self._training_images()
        except UserError as exc:
            result.index_state, result.index_message = "unavailable", str(exc)
            return
        result.index_state = "ready"
        index, nearest = self._known.get("neighbours", (None, []))
        if index is not self._index:
            nearest = self._index.nearest(inspection.features[0], NEIGHBOURS)
            self._known["neighbours"] = (self._index, nearest)
        for row, label, score in nearest:
            result.neighbours.append((row, label, score, images[row]))

    def _training_images(self) -> np.ndarray:
        if self._train_images is None:
            from mnist_desk.core.data import load_split, resolve_data_root

            split = load_split(resolve_data_root(self.data_root), train=True, download=False)
            self._train_images = split.images.numpy()
        return self._train_images


def _timed(function, *args):
    start = time.perf_counter()
    return function(*args), time.perf_counter() - start


def epoch_snapshots(checkpoint: str | os.PathLike) -> list[Path]:
    """A run's per-epoch checkpoints (``RUN_DIR/epochs/epoch_000.pt`` …), in order."""
    if not checkpoint:
        return []
    folder = Path(checkpoint).parent / "epochs"
    return sorted(folder.glob("epoch_*.pt")) if folder.is_dir() else []
