"""Everything the Network tab shows for one drawing, computed in the inference worker.

``NetworkSession`` keeps what is costly to make and cheap to reuse: loaded Predictors for
the comparison and the training timeline, the nearest-neighbour index of the active
checkpoint, and the training digits to show as neighbours. ``view`` is then a handful of
milliseconds per drawing.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
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
    """One thread beside the inference worker's, for the view's neighbours and compared models.

    Torch operators release the GIL, so on a second core this work runs while the inspected
    model's pass runs in the worker. It uses as many torch threads as the thread that first
    asks (one, in the app: a drawing is too small a batch to split).
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


class ViewOutdated(Exception):
    """A newer drawing was sent while this view was computed: its answer comes first."""


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
        self._lock = threading.Lock()  # the view's two threads both read compared models

    def get(self, path: str) -> Predictor:
        with self._lock:
            return self._get(path)

    def _get(self, path: str) -> Predictor:
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

    def view(
        self,
        predictor: Predictor,
        image28: np.ndarray,
        features: np.ndarray | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> NetworkView:
        """The view of one drawing. ``features``: its penultimate features from the pad's own
        forward pass (core.inspect.probabilities_and_features), so that the neighbour lookup
        need not wait for the inspection.

        Two threads share the work: this one inspects the viewed model while the helper looks
        up the neighbours (matrix products that hold no GIL), then both read the
        compared models, whichever is free taking the next.

        ``should_stop`` (a newer drawing is waiting for its answer) is asked between the
        compared models; when it says yes the view ends with ``ViewOutdated``, so the newer
        drawing's bars wait for one model's pass at most, not for the rest of this view.
        """
        t0 = time.perf_counter()
        if self._drawing is None or not np.array_equal(self._drawing, image28):
            self._drawing, self._known = np.array(image28, copy=True), {}
        active_path = str(predictor.checkpoint.path or "")
        timeline = self.options.get("timeline") or ""
        viewed = self.predictors.get(timeline) if timeline else predictor
        target = self.options.get("target")
        targets = (int(target),) if target is not None else ()
        # Without the timeline the inspected model is the active one: its row comes from the
        # inspection.
        rows = _Shared(
            [
                functools.partial(
                    self._compare_row, label, path, predictor, active_path, image28, not timeline
                )
                for label, path in self.options.get("compare") or []
            ],
            should_stop,
        )
        early = None if timeline or features is None else (active_path, features)
        helper = _helper_thread().submit(self._helper_part, early, rows)
        inspection = None if should_stop() else inspect(viewed, image28, targets)
        t1 = time.perf_counter()
        rows.run()
        found, neighbours_s = helper.result()  # the helper is done with this view's state
        if inspection is None or should_stop():
            raise ViewOutdated()
        t2 = time.perf_counter()
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
        result.compare = rows.results
        for row in result.compare:
            if row.probabilities is _ACTIVE:
                row.probabilities = inspection.probabilities
        if timeline:
            result.index_state = "timeline"
            result.index_message = "Nearest digits are shown for the trained model, not an epoch."
        else:
            if found is None:
                start = time.perf_counter()
                found = self._nearest(active_path, inspection.features[0])
                neighbours_s = time.perf_counter() - start
            self._show_nearest(found, result)
        t3 = time.perf_counter()
        result.timings = {
            "inspect": t1 - t0,
            "compare": rows.seconds,  # its own time, on either thread
            "neighbours": neighbours_s,  # its own time
            "shared": t2 - t1,  # after the inspection, until both threads were done
            "total": t3 - t0,
        }
        return result

    def _helper_part(self, early, rows: _Shared):
        """On the helper thread: the neighbours (when the features came early), then rows."""
        found, seconds = None, 0.0
        if early is not None:
            start = time.perf_counter()
            found = self._nearest(*early)
            seconds = time.perf_counter() - start
        rows.run()
        return found, seconds

    def _weights(self, predictor: Predictor) -> dict[str, np.ndarray]:
        if self._weights_of is None or self._weights_of[0] is not predictor:
            self._weights_of = (predictor, display_weights(predictor.model))
        return self._weights_of[1]

    # ----- compare -----------------------------------------------------------------------
    def _compare_row(
        self, label: str, path: str, active: Predictor, active_path: str, image28, inspected: bool
    ) -> CompareRow:
        """One model's reading (on either thread); ``inspected``: the active model's row is
        filled from the inspection afterwards."""
        try:
            if _same_path(path, active_path):  # not loaded a second time
                predictor, probs = active, (_ACTIVE if inspected else None)
            else:
                predictor, probs = self.predictors.get(path), None
                # One plain pass per drawing: onnxruntime, exported on the row's first use
                # (timeline epochs are only inspected, with PyTorch, and are not exported).
                predictor.use_onnxruntime()
            if probs is None:
                key = ("compare", predictor)
                if key not in self._known:
                    self._known[key] = predictor.all_probabilities(image28)
                probs = self._known[key]
            return CompareRow(label, path, predictor.name, probs)
        except (UserError, OSError) as exc:
            return CompareRow(label, path, "?", None, str(exc))

    # ----- neighbours --------------------------------------------------------------------
    def _nearest(self, path: str, features: np.ndarray) -> tuple[str, str, list]:
        """(index state, message, [(training row, label, cosine)]) for the active checkpoint."""
        if not path:
            return "unavailable", "No checkpoint file.", []
        key = (path, os.stat(path).st_mtime)
        if key != self._index_key:
            self._index_key = key
            self._index = load_index(path, file_md5(path))
            self._index_message = ""
        if self._index is None:
            return "missing", "", []
        try:
            self._training_images()
        except UserError as exc:
            return "unavailable", str(exc), []
        index, nearest = self._known.get("neighbours", (None, []))
        if index is not self._index:
            nearest = self._index.nearest(features, NEIGHBOURS)
            self._known["neighbours"] = (self._index, nearest)
        return "ready", "", nearest

    def _show_nearest(self, found: tuple[str, str, list], result: NetworkView) -> None:
        result.index_state, result.index_message, nearest = found
        images = self._train_images
        for row, label, score in nearest:
            result.neighbours.append((row, label, score, images[row]))

    def _training_images(self) -> np.ndarray:
        if self._train_images is None:
            from mnist_desk.core.data import load_split, resolve_data_root

            split = load_split(resolve_data_root(self.data_root), train=True, download=False)
            self._train_images = split.images.numpy()
        return self._train_images


def _same_path(path: str, active_path: str) -> bool:
    """Whether a compare row's checkpoint ("" for the shipped one) is the active model's."""
    from mnist_desk.paths import default_checkpoint_path

    if not active_path:
        return False
    real = str(path or default_checkpoint_path())
    try:
        return real == active_path or os.path.samefile(real, active_path)
    except OSError:
        return False


class _Shared:
    """Tasks that two threads work through together: whichever is free takes the next one."""

    def __init__(self, tasks: list, should_stop: Callable[[], bool] = lambda: False) -> None:
        self._tasks = tasks
        self._should_stop = should_stop
        self._next = 0
        self._lock = threading.Lock()
        self.results: list = [None] * len(tasks)
        self.seconds = 0.0

    def run(self) -> None:
        while not self._should_stop():
            with self._lock:
                i = self._next
                if i >= len(self._tasks):
                    return
                self._next += 1
            start = time.perf_counter()
            self.results[i] = self._tasks[i]()
            with self._lock:
                self.seconds += time.perf_counter() - start


def epoch_snapshots(checkpoint: str | os.PathLike) -> list[Path]:
    """A run's per-epoch checkpoints (``RUN_DIR/epochs/epoch_000.pt`` …), in order."""
    if not checkpoint:
        return []
    folder = Path(checkpoint).parent / "epochs"
    return sorted(folder.glob("epoch_*.pt")) if folder.is_dir() else []
