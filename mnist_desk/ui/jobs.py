"""The one owner of background work: tabs submit jobs here and never create threads.

A job is a Qt-free core function called as ``fn(*args, should_stop=..., on_progress=...,
**kwargs)`` in a thread of its own. Its stop flag exists from the moment it is submitted, so a
cancel can never be lost between queueing and starting. ``shutdown`` cancels every job and
waits for each thread to end — without a timeout, because destroying a running ``QThread``
aborts the process; the jobs check ``should_stop`` within one batch, so the wait is short.

Every job runs with one torch thread per CPU (``JobRunner.torch_threads``), set here once
in the job's own thread: the setting is per thread, so a job that forgot it would crawl on one
thread. The inference worker keeps its own single thread (``ui/workers.py``).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.ui.workers import use_torch_threads


class _JobWorker(QObject):
    """Lives in the job's thread; turns the core function's outcome into one signal."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        fn: Callable[..., Any],
        args,
        kwargs,
        stop: threading.Event,
        rate: float,
        torch_threads: int | None,
    ):
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._torch_threads = torch_threads
        self._stop = stop
        self._min_interval = 1.0 / rate if rate > 0 else 0.0
        self._last_progress = 0.0

    def _on_progress(self, *values: Any) -> None:
        """Takes one event (a ``Progress``) or several values (``done, total``: one tuple)."""
        event = values[0] if len(values) == 1 else values
        now = time.perf_counter()
        # Only routine per-batch reports are thinned out (a progress bar needs no more than
        # ``rate`` a second); an epoch's summary, a start/end event and an epoch's last batch
        # (after it the tab says the epoch is being evaluated) always get through.
        routine = getattr(event, "kind", "batch") == "batch"
        routine = routine and getattr(event, "batch", 0) != getattr(event, "batches", -1)
        if routine and now - self._last_progress < self._min_interval:
            return
        self._last_progress = now
        self.progress.emit(event)

    @Slot()
    def run(self) -> None:
        try:
            use_torch_threads(self._torch_threads)
            result = self._fn(
                *self._args,
                should_stop=self._stop.is_set,
                on_progress=self._on_progress,
                **self._kwargs,
            )
        except (JobCancelled, InterruptedError):
            self.cancelled.emit()
        except UserError as exc:
            self.failed.emit(str(exc))
        except MemoryError:
            self.failed.emit("Out of memory; try a smaller batch size, model or subset.")
        except Exception as exc:  # a bug: keep the traceback, still tell the window
            traceback.print_exc()
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if "out of memory" in text.lower():
                self.failed.emit("The GPU ran out of memory; try a smaller batch size.")
            else:
                self.failed.emit(f"Unexpected error ({type(exc).__name__}: {text[:200]}).")
        else:
            self.finished.emit(result)
        finally:
            # quit() directly: a queued connection to the QThread object (which lives in the
            # GUI thread) would never run while shutdown() blocks that thread in wait().
            QThread.currentThread().quit()


class Job(QObject):
    """The GUI thread's handle on one submitted job; its signals arrive in the GUI thread."""

    progress = Signal(object)  # whatever the core function passed to on_progress
    finished = Signal(object)  # the core function's return value
    failed = Signal(str)  # one sentence for the window
    cancelled = Signal()
    ended = Signal()  # after any of the three above

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._stop = threading.Event()
        self.thread: QThread | None = None
        self.worker: _JobWorker | None = None

    def cancel(self) -> None:
        """Thread-safe; the job sees it at its next ``should_stop()`` check."""
        self._stop.set()

    @property
    def cancel_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    @Slot()
    def _on_thread_finished(self) -> None:
        runner = self.parent()
        if isinstance(runner, JobRunner):
            runner._forget(self)


class JobRunner(QObject):
    """Made once by the app; owns every job thread and waits for them at shutdown."""

    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, torch_threads: int | None = None) -> None:
        super().__init__(parent)
        self.torch_threads = torch_threads  # per job thread; None: one per CPU
        self._jobs: list[Job] = []
        self._hosted: list[tuple[QThread, QObject]] = []
        self._closing = False

    def host(self, worker: QObject, name: str) -> QThread:
        """Give a long-lived worker (the inference worker) a thread that ``shutdown`` ends too."""
        thread = QThread()
        thread.setObjectName(name)
        worker.moveToThread(thread)
        self._hosted.append((thread, worker))
        thread.start()
        return thread

    def submit(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        progress_rate: float = 20.0,
        **kwargs: Any,
    ) -> Job:
        """Start ``fn`` in its own thread; connect to the returned job's signals at once.

        Signals are queued to the GUI thread, so connecting right after ``submit`` returns
        never misses one.
        """
        if self._closing:
            raise RuntimeError("the job runner is shutting down")
        job = Job(name, self)
        worker = _JobWorker(fn, args, kwargs, job._stop, progress_rate, self.torch_threads)
        thread = QThread()
        thread.setObjectName(f"job: {name}")
        worker.moveToThread(thread)
        job.thread, job.worker = thread, worker
        worker.progress.connect(job.progress)
        worker.finished.connect(job.finished)
        worker.failed.connect(job.failed)
        worker.cancelled.connect(job.cancelled)
        thread.started.connect(worker.run)
        thread.finished.connect(job._on_thread_finished)  # a slot, so it runs in this thread
        self._jobs.append(job)
        thread.start()
        if len(self._jobs) == 1:
            self.busy_changed.emit(True)
        return job

    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def busy(self) -> bool:
        return bool(self._jobs)

    def cancel_all(self) -> None:
        for job in self._jobs:
            job.cancel()

    def shutdown(self) -> None:
        """Cancel every job, end hosted workers, and wait for each thread (no timeout: see module)."""
        self._closing = True
        self.cancel_all()
        for job in list(self._jobs):
            if job.thread is not None:
                job.thread.wait()  # PySide releases the GIL here, so the job can finish
            self._forget(job)
        for thread, _worker in self._hosted:
            thread.quit()  # it ends after the slot it is running, if any; no timeout either
            thread.wait()

    def _forget(self, job: Job) -> None:
        if job not in self._jobs:
            return
        self._jobs.remove(job)
        if job.thread is not None and not job.thread.isRunning():
            job.worker.deleteLater()
            job.thread.deleteLater()
        job.ended.emit()
        if not self._jobs:
            self.busy_changed.emit(False)
