"""Workers: ``QObject``s moved to ``QThread``s; the GUI talks to them only through signals.

Torch is imported inside the workers' threads, so the window can appear before it loads.
"""

from __future__ import annotations

import os
import threading
import time
import traceback

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a fresh, started ``QThread`` that deletes nothing on its own."""
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    return thread


def stop_thread(thread: QThread, timeout_ms: int = 5000) -> None:
    thread.quit()
    thread.wait(timeout_ms)


def use_torch_threads(count: int | None) -> None:
    """Set this thread's intra-op thread count; ``None`` means one per CPU (training).

    One drawing is a tiny batch: a single thread answers it faster than two that must wake
    and synchronise, and leaves the other core to the GUI. The setting is per thread in
    PyTorch's OpenMP backend but new threads may inherit it, so workers set it themselves.
    """
    import torch

    torch.set_num_threads(count or max(1, os.cpu_count() or 1))


def describe_checkpoint(checkpoint) -> dict:
    metrics = checkpoint.metrics or {}
    return {
        "name": checkpoint.model_name,
        "path": str(checkpoint.path) if checkpoint.path else "",
        "test_acc": metrics.get("test_acc"),
        "epoch": metrics.get("epoch"),
        "description": checkpoint.describe(),
    }


class InferenceWorker(QObject):
    """Holds the model; keeps only the newest drawing and answers it."""

    model_loaded = Signal(dict)
    model_failed = Signal(str)
    # request id, probabilities (10 digits, then P(not a digit) for 11-class models), 28×28,
    # saliency
    result = Signal(int, object, object, object)
    failed = Signal(int, str)
    batch_result = Signal(str, object)  # tag, (N, 10) probabilities
    image_loaded = Signal(str, object)  # path, 28×28 MNIST-style image
    image_failed = Signal(str)
    number_result = Signal(int, object)  # request id, NumberReading (or (file name, reading))
    network_result = Signal(int, object)  # request id, core.network.NetworkView (or None)

    def __init__(self) -> None:
        super().__init__()
        self._predictor = None
        self._pending: tuple | None = None  # only touched in the worker's own thread
        self._scheduled = False
        self.want_saliency = False
        self.timings: list[dict] = []  # filled only when ``record_timings`` is on
        self.record_timings = False
        self._number_cache = None  # core.grouping.ReadCache, made on the first number
        self.want_network = False  # only while the Network tab is on screen
        self._network = None  # core.network.NetworkSession, made on first use
        self._last_image: tuple[int, object] | None = None

    @Slot(str)
    def load_model(self, path: str) -> None:
        try:
            from mnist_desk.core.predict import Predictor
            from mnist_desk.paths import default_checkpoint_path

            use_torch_threads(1)
            predictor = Predictor.from_path(path or default_checkpoint_path())
        except Exception as exc:  # keep the previous model working
            self.model_failed.emit(str(exc) or type(exc).__name__)
            return
        self._predictor = predictor
        self.model_loaded.emit(describe_checkpoint(predictor.checkpoint))
        self._schedule()

    @Slot(int, object)
    def request(self, request_id: int, drawing: object) -> None:
        """Keep only the newest drawing; older ones that were not started are dropped.

        Queued requests all arrive before the zero-timer that computes, so a burst of
        drawings costs one computation, for the last of them.
        """
        self._pending = (request_id, drawing, time.perf_counter())
        self._schedule()

    @Slot(int, object)
    def request_number(self, request_id: int, source: object) -> None:
        """Number mode: a Drawing (or an image path) to read as a number; newest wins too."""
        self._pending = (request_id, NumberRequest(source), time.perf_counter())
        self._schedule()

    @Slot(str)
    def load_image(self, path: str) -> None:
        """Decode an image file here: a 10,000² photo takes a second, not the GUI's second."""
        from mnist_desk.core.preprocess import ImageError, load_image_as_mnist

        try:
            image = load_image_as_mnist(path)
        except ImageError as exc:
            self.image_failed.emit(str(exc))
            return
        self.image_loaded.emit(path, image)

    @Slot(str, object)
    def classify_batch(self, tag: str, images: object) -> None:
        """Probabilities for many 28×28 images at once (e.g. the person's own digits)."""
        if self._predictor is None or len(images) == 0:
            return
        self.batch_result.emit(tag, self._predictor.probabilities(images))

    @Slot(bool)
    def set_saliency(self, enabled: bool) -> None:
        self.want_saliency = enabled

    @Slot(bool)
    def set_network(self, enabled: bool) -> None:
        self.want_network = enabled
        if enabled:
            QTimer.singleShot(0, self._process_network)

    @Slot(dict)
    def set_network_options(self, options: dict) -> None:
        """Which class to explain, which epoch to view, which models to compare."""
        self._session().update(dict(options))
        QTimer.singleShot(0, self._process_network)

    @Slot()
    def _process_network(self) -> None:
        """The network view, after the bars' answer went out and only if no newer drawing waits."""
        if not self.want_network or self._pending is not None or self._last_image is None:
            return
        request_id, image = self._last_image
        if image is None or self._predictor is None:
            self.network_result.emit(request_id, None)
            return
        try:
            view = self._session().view(self._predictor, image)
        except Exception as exc:
            traceback.print_exc()
            self.failed.emit(request_id, f"Network view: {type(exc).__name__}: {exc}")
            return
        self.network_result.emit(request_id, view)

    def _session(self):
        if self._network is None:
            from mnist_desk.core.network import NetworkSession

            self._network = NetworkSession()
        return self._network

    def _schedule(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._process)

    @Slot()
    def _process(self) -> None:
        self._scheduled = False
        if self._predictor is None:
            return  # answered once the model is loaded
        pending, self._pending = self._pending, None
        if pending is None:
            return
        request_id, drawing, sent = pending
        if isinstance(drawing, NumberRequest):
            self._answer_number(request_id, drawing.source)
            return
        try:
            t0 = time.perf_counter()
            image = drawing.to_mnist()
            t1 = time.perf_counter()
            self._last_image = (request_id, image)
            if self.want_network:
                QTimer.singleShot(0, self._process_network)
            if image is None:
                self.result.emit(request_id, None, None, None)
                return
            probs = self._predictor.all_probabilities(image)  # 10 digits (+ "not a digit")
            t2 = time.perf_counter()
            saliency = self._predictor.explain(image) if self.want_saliency else None
            if self.record_timings:
                self.timings.append(
                    {
                        "id": request_id,
                        "queued": t0 - sent,
                        "preprocess": t1 - t0,
                        "inference": t2 - t1,
                        "emitted_at": time.perf_counter(),
                    }
                )
            self.result.emit(request_id, probs, image, saliency)
        except Exception as exc:
            self.failed.emit(request_id, f"{type(exc).__name__}: {exc}")

    def _answer_number(self, request_id: int, source) -> None:
        from mnist_desk.core.grouping import ReadCache, load_number_image, read_number
        from mnist_desk.core.preprocess import ImageError

        self._number_cache = self._number_cache or ReadCache()
        try:
            if isinstance(source, str):
                reading = load_number_image(source, self._predictor, k=10)
                self.number_result.emit(request_id, (os.path.basename(source), reading))
            else:
                reading = read_number(
                    source.strokes,
                    source.pen_width,
                    self._predictor,
                    k=10,
                    cache=self._number_cache,
                )
                self.number_result.emit(request_id, reading)
        except ImageError as exc:
            self.image_failed.emit(str(exc))
        except Exception as exc:
            self.failed.emit(request_id, f"{type(exc).__name__}: {exc}")


class NumberRequest:
    """Marks a pending request as number mode's, so one slot keeps only the newest of both."""

    def __init__(self, source) -> None:
        self.source = source


class TrainWorker(QObject):
    """Runs ``core.train.fit``; ``cancel`` is a flag polled once per batch."""

    progress = Signal(object)  # core.train.Progress
    finished = Signal(object)  # core.train.FitResult
    fine_tuned = Signal(object)  # core.finetune.FineTuneReport (finished is emitted too)
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._last_batch_emit = 0.0

    def cancel(self) -> None:
        """Called from the GUI thread directly: setting an Event is thread-safe."""
        self._stop.set()

    @Slot(object)
    def run(self, config) -> None:
        from mnist_desk.core.train import fit

        self._guarded(
            lambda: fit(config, on_progress=self._on_progress, should_stop=self._stop.is_set)
        )

    @Slot(object, str, str)
    def run_fine_tune(self, config, checkpoint_path: str, store_folder: str) -> None:
        from mnist_desk.core.finetune import fine_tune
        from mnist_desk.core.my_digits import MyDigitStore

        def work():
            report = fine_tune(
                checkpoint_path,
                MyDigitStore(store_folder),
                config,
                on_progress=self._on_progress,
                should_stop=self._stop.is_set,
            )
            self.fine_tuned.emit(report)
            return report.result

        self._guarded(work)

    def _guarded(self, work) -> None:
        """Run ``work`` and turn every failure into one readable ``failed`` message."""
        self._stop.clear()
        try:
            use_torch_threads(None)
            result = work()
        except MemoryError:
            self.failed.emit("Training ran out of memory; try a smaller batch size or model.")
            return
        except Exception as exc:
            text = str(exc) or type(exc).__name__
            if "out of memory" in text.lower():
                text = "The GPU ran out of memory; try a smaller batch size. " + text
            if not _is_user_error(exc):
                traceback.print_exc()
            self.failed.emit(text)
            return
        self.finished.emit(result)

    def _on_progress(self, event) -> None:
        now = time.perf_counter()
        if event.kind == "batch" and now - self._last_batch_emit < 0.05:
            return  # at most 20 updates a second are plenty for a progress bar
        self._last_batch_emit = now
        self.progress.emit(event)


class EvalWorker(QObject):
    """Evaluates a checkpoint on the MNIST test set for the Mistakes tab."""

    progress = Signal(int, int)
    finished = Signal(object)  # dict with result, images, checkpoint info
    failed = Signal(str)

    @Slot(str, str)
    def run(self, checkpoint_path: str, data: str) -> None:
        try:
            from mnist_desk.core.checkpoint import load_checkpoint
            from mnist_desk.core.data import load_mnist
            from mnist_desk.core.device import select_device
            from mnist_desk.core.train import evaluate

            use_torch_threads(None)
            checkpoint = load_checkpoint(checkpoint_path)
            split = load_mnist(data or None, download=True).test
            device = select_device("auto")
            result = evaluate(
                checkpoint.build().to(device),
                split,
                device,
                batch_size=500,
                normalization=checkpoint.normalization,
                on_batch=lambda done, total: self.progress.emit(done, total),
            )
        except Exception as exc:
            self.failed.emit(str(exc) or type(exc).__name__)
            return
        self.finished.emit(
            {
                "result": result,
                "images": split.images.numpy(),
                "checkpoint": describe_checkpoint(checkpoint),
            }
        )


def _is_user_error(exc: Exception) -> bool:
    from mnist_desk.core.checkpoint import CheckpointError
    from mnist_desk.core.data import DataError

    return isinstance(exc, DataError | CheckpointError | ValueError)
