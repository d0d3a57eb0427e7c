"""The job runner: results, failures, cancel before and during a job, shutdown waits."""

from __future__ import annotations

import threading
import time

import pytest

from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.ui.jobs import JobRunner


def _count(n, *, should_stop, on_progress, delay=0.0):
    for i in range(n):
        if should_stop():
            raise JobCancelled()
        on_progress(i)
        time.sleep(delay)
    return n * 2


@pytest.fixture
def runner(qtbot):
    runner = JobRunner()
    yield runner
    runner.shutdown()


def test_result_arrives_in_gui_thread(qtbot, runner):
    seen = {}
    job = runner.submit("count", _count, 5)
    job.finished.connect(lambda value: seen.update(value=value, thread=threading.get_ident()))
    with qtbot.waitSignal(job.ended, timeout=5000):
        pass
    assert seen["value"] == 10
    assert seen["thread"] == threading.get_ident()
    assert not runner.busy()


def test_user_error_is_one_sentence(qtbot, runner):
    def broken(*, should_stop, on_progress):
        raise UserError("The data folder is missing.")

    job = runner.submit("broken", broken)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert blocker.args == ["The data folder is missing."]


def test_bug_is_reported_not_fatal(qtbot, runner):
    def buggy(*, should_stop, on_progress):
        return 1 / 0

    job = runner.submit("buggy", buggy)
    with qtbot.waitSignal(job.failed, timeout=5000) as blocker:
        pass
    assert "ZeroDivisionError" in blocker.args[0]


def test_cancel_right_after_submit_is_not_lost(qtbot, runner):
    started = threading.Event()

    def slow(*, should_stop, on_progress):
        started.set()
        time.sleep(0.2)  # the cancel lands before the first check
        if should_stop():
            raise JobCancelled()
        return "ran"

    job = runner.submit("slow", slow)
    job.cancel()
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        pass


def test_shutdown_cancels_and_waits(qtbot):
    runner = JobRunner()
    jobs = [runner.submit(f"long {i}", _count, 10_000, delay=0.01) for i in range(3)]
    qtbot.waitUntil(lambda: all(j.running for j in jobs), timeout=5000)
    started = time.perf_counter()
    runner.shutdown()
    assert time.perf_counter() - started < 2.0
    assert not any(j.thread.isRunning() for j in jobs)
    assert not runner.busy()


def test_epoch_reports_are_never_thinned_out(qtbot, runner):
    from mnist_desk.core.train import Progress

    def chatty(*, should_stop, on_progress):
        for epoch in range(1, 4):
            for batch in range(50):
                on_progress(Progress("batch", epoch, 3, batch, 50))
            on_progress(Progress("epoch", epoch, 3, 50, 50))

    seen = []
    job = runner.submit("chatty", chatty)
    job.progress.connect(lambda event: seen.append(event.kind))
    with qtbot.waitSignal(job.ended, timeout=5000):
        pass
    assert seen.count("epoch") == 3
    assert seen.count("batch") < 150  # the routine ones are thinned


def _torch_threads(*, should_stop, on_progress):
    import torch

    return torch.get_num_threads()


@pytest.mark.parametrize("count", [None, 1, 3])
def test_every_job_runs_with_the_runners_torch_thread_count(qtbot, count):
    """The runner sets it in each job's own thread, so no job can forget it."""
    import os

    runner = JobRunner(torch_threads=count)
    try:
        job = runner.submit("threads", _torch_threads)
        with qtbot.waitSignal(job.finished, timeout=10000) as done:
            pass
    finally:
        runner.shutdown()
    assert done.args == [count or max(1, os.cpu_count() or 1)]
