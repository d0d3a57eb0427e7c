"""The long-lived inference worker (a ``QObject`` in a thread the job runner hosts).

Other background work is a job (``ui/jobs.py``); the GUI talks to workers only through signals.

Torch is imported inside the workers' threads, so the window can appear before it loads.
"""

from __future__ import annotations

import os
import time
import traceback

from PySide6.QtCore import QObject, QTimer, Signal, Slot


def use_torch_threads(count: int | None) -> None:
    """Set this thread's intra-op thread count; ``None`` means one per CPU (training).

    One drawing is a tiny batch: a single thread answers it faster than two that must wake
    and synchronise, and leaves the other core to the GUI. The setting is per thread in
    PyTorch's OpenMP backend but new threads may inherit it, so workers set it themselves.
    """
    import torch

    torch.set_num_threads(count or max(1, os.cpu_count() or 1))


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
        self._network_scheduled = False
        self._last_image: tuple[int, object] | None = None
        # The last drawing's penultimate features and the predictor that made them: the
        # view's neighbour lookup starts from them at once, beside the inspection.
        self._last_features: tuple[object, object] | None = None
        # The newest drawing the pad has sent, written by the GUI thread the moment it sends
        # it (see ``drawing_sent``): a view in progress stops for it between two models.
        self._newest_sent = 0

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
        predictor.use_onnxruntime()  # about 3× faster per drawing when installed
        self._predictor = predictor
        summary = predictor.checkpoint.summary()
        summary["engine"] = "onnxruntime" if predictor.onnx is not None else "PyTorch"
        self.model_loaded.emit(summary)
        self._schedule()

    @Slot(int, object)
    def request(self, request_id: int, drawing: object) -> None:
        """Keep only the newest drawing; older ones that were not started are dropped.

        Queued requests all arrive before the zero-timer that computes, so a burst of
        drawings costs one computation, for the last of them.
        """
        self._pending = (request_id, drawing, time.perf_counter())
        self._schedule()

    def drawing_sent(self, request_id: int, _drawing: object = None) -> None:
        """Connected directly (it runs in the GUI thread): the queued ``request`` cannot
        reach this thread while a network view is being computed, this flag can."""
        self._newest_sent = max(self._newest_sent, request_id)

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
            self._schedule_network()

    @Slot(dict)
    def set_network_options(self, options: dict) -> None:
        """Which class to explain, which epoch to view, which models to compare."""
        self._session().update(dict(options))
        self._schedule_network()

    @Slot(int)
    def answer_shown(self, request_id: int) -> None:
        """The pad has shown this drawing's answer: now the network view may take the CPU.

        Started any earlier, the view's Python would compete with the GUI thread for the
        GIL while it updates the bars, and the bars would wait for the view after all.
        """
        if self.want_network and self._last_image and self._last_image[0] == request_id:
            self._schedule_network()

    def _schedule_network(self) -> None:
        """Once per burst: a dragged timeline slider or a queue of answers costs one view."""
        if not self._network_scheduled:
            self._network_scheduled = True
            QTimer.singleShot(0, self._process_network)

    @Slot()
    def _process_network(self) -> None:
        """The network view of the newest drawing, unless a newer one waits for its bars."""
        self._network_scheduled = False
        if not self.want_network or self._pending is not None or self._last_image is None:
            return
        request_id, image = self._last_image
        if self._newest_sent > request_id:
            return  # a newer drawing is on its way: its bars, then its own view
        if image is None or self._predictor is None:
            self.network_result.emit(request_id, None)
            return
        features = None
        if self._last_features is not None and self._last_features[0] is self._predictor:
            features = self._last_features[1]
        from mnist_desk.core.network import ViewOutdated

        try:
            view = self._session().view(
                self._predictor, image, features, lambda: self._newest_sent > request_id
            )
        except ViewOutdated:
            return
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
            if image is None:
                if self.want_network:
                    self._schedule_network()  # nothing to show: clear the view now
                self.result.emit(request_id, None, None, None)
                return
            self._last_features = None
            if self.want_network:  # the same one pass gives the view's neighbour features
                from mnist_desk.core.inspect import probabilities_and_features

                probs, features = probabilities_and_features(self._predictor, image)
                self._last_features = (self._predictor, features)
            else:
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
        from mnist_desk.core.errors import UserError
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
                    times=source.times,  # the pad's stroke timings: a long pause ends a digit
                    cache=self._number_cache,
                )
                self.number_result.emit(request_id, reading)
        except ImageError as exc:
            self.image_failed.emit(str(exc))
        except UserError as exc:  # e.g. a scribble of hundreds of strokes: say what to do
            self.failed.emit(request_id, str(exc))
        except Exception as exc:
            self.failed.emit(request_id, f"{type(exc).__name__}: {exc}")


class NumberRequest:
    """Marks a pending request as number mode's, so one slot keeps only the newest of both."""

    def __init__(self, source) -> None:
        self.source = source
