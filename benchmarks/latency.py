"""Latency of one drawing: from stroke end to bars updated, and the parts of it.

Runs the real window offscreen, replays 1,000 of our drawings (7 styles × 10 digits, in
turn), and for each one measures: preprocessing and inference (inside the worker thread),
the queued-signal round trip, and the whole stroke-end → bars-updated time.
Also reports plain single-image model latency (no Qt) for every registered model.

With ``--network`` it adds the Network tab's rows (issue 11): the feature-index build time
per model, the nearest-neighbour lookup, and, with the tab on screen and six models to
compare, stroke end → bars and stroke end → network view for desknet and cnn.

    QT_QPA_PLATFORM=offscreen python benchmarks/latency.py [--drawings 1000] [--network]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentiles(values_s) -> str:
    ms = np.asarray(values_s) * 1000
    return f"{np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f}"


def model_latency(repeats: int = 300) -> list[str]:
    """One image through each registry model: PyTorch alone, and the app's whole
    ``Predictor.all_probabilities`` through onnxruntime (core.onnx_reader), back to back and
    after 100 ms of idle (as after every pause between strokes)."""
    import torch

    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict
    from mnist_desk.core.models import MODELS, build_model
    from mnist_desk.core.predict import Predictor

    def timed(run, pause_s: float = 0.0, count: int = repeats) -> str:
        for _ in range(20):
            run()
        times = []
        for _ in range(count):
            if pause_s:
                time.sleep(pause_s)
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        return percentiles(times)

    rows = []
    x = torch.zeros(1, 1, 28, 28)
    image = np.zeros((28, 28), np.float32)
    image[6:22, 12:16] = 1.0  # a 1
    for name in MODELS:
        model = build_model(name).eval()

        def eager(model=model):
            with torch.inference_mode():
                model(x)

        fast = Predictor(Checkpoint(name, clean_state_dict(model)))
        cells = [timed(eager), timed(eager, 0.1, repeats // 5)]
        if fast.use_onnxruntime():
            read = functools.partial(fast.all_probabilities, image)
            cells += [timed(read), timed(read, 0.1, repeats // 5)]
        else:
            cells += ["— | —", "— | —"]
        rows.append(f"| {name} | {' | '.join(cells)} |")
    return rows


def ready_window(model_path: str | None = None, model_name: str | None = None):
    """(app, window): the real main window, shown, once it answers with its model loaded.

    It starts from default settings in a folder of its own: a person's saved state (number
    mode on, another top-k) would change what is measured, and closing must not overwrite it.
    """
    import tempfile

    from PySide6.QtWidgets import QApplication

    os.environ.setdefault("MNIST_DESK_HOME", tempfile.mkdtemp(prefix="mnist-desk-bench-"))

    from mnist_desk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(model_path=model_path)
    window.show()
    while not window.pad.model_ready or (
        model_name is not None and window.model_info.get("name") != model_name
    ):
        app.processEvents()
        time.sleep(0.005)
    return app, window


def gui_latency(drawings: int) -> list[str]:
    from PySide6.QtCore import QEventLoop, QObject, Slot

    from mnist_desk.core.handwriting import STYLES, our_digit

    app, window = ready_window()
    worker = window.inference_worker
    worker.record_timings = True
    shown_at = {}

    class Stopwatch(QObject):
        """Lives in the GUI thread, so the result reaches it queued, as it reaches the pad."""

        @Slot(int, object, object, object)
        def on_result(self, request_id, probs, image, saliency):
            window.pad.on_result(request_id, probs, image, saliency)
            shown_at[request_id] = time.perf_counter()

    stopwatch = Stopwatch()
    worker.result.disconnect(window.pad.on_result)
    worker.result.connect(stopwatch.on_result)
    samples = [our_digit(d, s) for s in STYLES for d in range(10)]
    total = []
    for i in range(drawings):
        strokes, _pen = samples[i % len(samples)]
        start = time.perf_counter()
        window.pad.canvas.set_strokes(strokes)  # what a stroke end does
        request_id = window.pad._request_id
        while request_id not in shown_at:
            # Sleep until an event arrives, as an idle GUI thread does (a busy loop here would
            # steal a core from the worker and measure the benchmark, not the app).
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        total.append(shown_at[request_id] - start)
    replayed = list(shown_at)  # the stage rows are these drawings'; live passes come next
    drawn = mouse_drawn_latency(app, window, samples, max(1, drawings // 3), shown_at)
    timings = {t["id"]: t for t in worker.timings}
    pre = [timings[i]["preprocess"] for i in replayed]
    inf = [timings[i]["inference"] for i in replayed]
    trip = [timings[i]["queued"] + (shown_at[i] - timings[i]["emitted_at"]) for i in replayed]
    window.close()
    return [
        f"| preprocessing (strokes → 28×28) | {percentiles(pre)} |",
        f"| inference ({window.model_info.get('name')}) | {percentiles(inf)} |",
        f"| signal round trip (queue in + result out + bars) | {percentiles(trip)} |",
        f"| **stroke end → bars updated** | {percentiles(total)} |",
        f"| stroke drawn with the mouse (bars live while drawing): release → bars | "
        f"{percentiles(drawn)} |",
    ]


def mouse_drawn_latency(app, window, samples, drawings: int, shown_at: dict) -> list[float]:
    """Release → bars when the last stroke is drawn by mouse events, as a person draws it.

    The rows above replay a whole drawing at once after an idle pause, the worst case: the
    worker's first pass after idling is several times slower on a shared machine. A person's
    stroke is read live while it is drawn (the pad sends the drawing as it grows), so at the
    release the worker is warm. Moves are sent every 8 ms (a 125 Hz mouse).
    """
    from PySide6.QtCore import QEventLoop, Qt
    from PySide6.QtTest import QTest

    canvas = window.pad.canvas
    at = canvas.widget_point

    times = []
    for i in range(drawings):
        strokes, _pen = samples[i % len(samples)]
        canvas.set_strokes(strokes[:-1])
        QTest.qWait(120)  # the earlier strokes are read; then a pause, as between strokes
        last = strokes[-1]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=at(*last[0]))
        for x, y in last[1:]:
            QTest.mouseMove(canvas, at(x, y))
            QTest.qWait(8)
        start = time.perf_counter()
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=at(*last[-1]))
        request_id = window.pad._request_id
        while request_id not in shown_at:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        times.append(shown_at[request_id] - start)
    return times


NETWORK_MODELS = ("mlp", "mlp-relu", "lenet5", "cnn", "cnn5")  # + the shipped desknet = 6


def make_runs(home) -> dict[str, str]:
    """One checkpoint per model in a throw-away runs folder (random weights: same cost)."""
    import torch

    from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict, save_checkpoint
    from mnist_desk.core.models import build_model
    from mnist_desk.paths import default_checkpoint_path, runs_dir

    paths = {"desknet": str(default_checkpoint_path())}
    for name in NETWORK_MODELS:
        torch.manual_seed(0)
        target = runs_dir() / name / "best.pt"
        save_checkpoint(Checkpoint(name, clean_state_dict(build_model(name))), target)
        paths[name] = str(target)
    return paths


def index_build_rows(paths: dict[str, str], digits: int) -> list[str]:
    """Build each model's index; with fewer than 60,000 digits (a busy machine), the time is
    extrapolated and the index is tiled to 60,000 rows so that lookups cost what they will."""
    import numpy as np
    import torch

    from mnist_desk.core.neighbours import build_index, save_index

    rows = []
    for name, path in paths.items():
        t0 = time.perf_counter()
        index = build_index(path, None, digits)
        seconds = time.perf_counter() - t0
        full = seconds * 60000 / len(index)
        rows.append(f"| {name} | {len(index):,} | {seconds:.1f} | {full:.0f} |")
        if len(index) < 60000:
            repeat = -(-60000 // len(index))
            index.features = index.features.repeat(repeat, 1)[:60000].contiguous()
            index.labels = np.tile(index.labels, repeat)[:60000]
            index.rows = np.tile(index.rows, repeat)[:60000]
            save_index(index, path)
        torch.set_num_threads(1)
    return rows


def lookup_rows(paths: dict[str, str], repeats: int = 1000) -> list[str]:
    import torch

    from mnist_desk.core.neighbours import load_index

    torch.set_num_threads(1)  # as in the inference worker
    rows = []
    for name in ("desknet", "cnn"):
        index = load_index(paths[name])
        queries = index.features[torch.randint(len(index), (repeats,))].float().numpy()
        times = []
        for q in queries:
            t0 = time.perf_counter()
            index.nearest(q, 8)
            times.append(time.perf_counter() - t0)
        dim = index.features.shape[1]
        rows.append(f"| nearest 8 of {len(index):,} ({name}, {dim} dims) | {percentiles(times)} |")
    return rows


def network_gui_rows(name: str, path: str, drawings: int) -> list[str]:
    """Stroke end → bars and → network view, with the Network tab on screen."""
    from PySide6.QtCore import QEventLoop, QTimer

    from mnist_desk.core.handwriting import STYLES, our_digit

    app, window = ready_window(path, name)
    window.resize(1400, 900)
    window.tabs.setCurrentWidget(window.network_tab)
    bars_at, view_at, parts = {}, {}, []
    window.pad.answer_shown.connect(lambda i, *_: bars_at.setdefault(i, time.perf_counter()))
    window.network_tab.view_shown.connect(lambda i: view_at.setdefault(i, time.perf_counter()))

    def on_view(request_id, view):
        if view is not None and view_at.get(request_id) is None:
            parts.append(view.timings)

    window.inference_worker.network_result.connect(on_view)
    samples = [our_digit(d, s) for s in STYLES for d in range(10)]
    bars, views = [], []
    canvas = window.network_tab.canvas  # the tab's own pad: draw while watching the layers
    for i in range(drawings + 5):
        strokes, _pen = samples[i % len(samples)]
        start = time.perf_counter()
        canvas.set_strokes(strokes)  # what a stroke end does
        request_id = window.pad._request_id
        while request_id not in view_at:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        # A person's pause between strokes: paints finish. processEvents(flags, ms) returns at
        # once when no event is pending, so looping on it spun a core for the whole pause
        # (and took it from the other processes sharing this machine); a timer sleeps.
        pause = QEventLoop()
        QTimer.singleShot(100, pause.quit)
        pause.exec()
        if i >= 5:  # the first few load the compare models and the index
            bars.append(bars_at[request_id] - start)
            views.append(view_at[request_id] - start)
    ready = window.network_tab.view.index_state
    window.close()
    part = {key: [p[key] for p in parts[5:]] for key in ("inspect", "neighbours", "compare")}
    count = len(window.network_tab.view.compare)
    return [
        f"| {name}: stroke end → bars updated (Network tab open) | {percentiles(bars)} |",
        f"| {name}: **stroke end → Network view updated** (index {ready}) | {percentiles(views)} |",
        f"| {name}: inspection (forward with hooks + Grad-CAM, in the worker) | "
        f"{percentiles(part['inspect'])} |",
        f"| {name}: nearest 8 (helper thread, beside the inspection) | "
        f"{percentiles(part['neighbours'])} |",
        f"| {name}: compare all {count} models (either thread, summed) | "
        f"{percentiles(part['compare'])} |",
    ]


def overtaking_rows(name: str, path: str, drawings: int) -> list[str]:
    """Stroke end → bars for a stroke made just as the previous drawing's view has started:
    the bars wait for whatever of that view the worker must finish first."""
    from PySide6.QtCore import QEventLoop, QTimer

    from mnist_desk.core.handwriting import STYLES, our_digit

    app, window = ready_window(path, name)
    window.resize(1400, 900)
    window.tabs.setCurrentWidget(window.network_tab)
    bars_at, view_at, settled = {}, {}, {}
    window.pad.answer_shown.connect(lambda i, *_: bars_at.setdefault(i, time.perf_counter()))
    window.network_tab.view_shown.connect(lambda i: view_at.setdefault(i, time.perf_counter()))
    window.network_tab.answer_settled.connect(lambda i: settled.setdefault(i, time.perf_counter()))
    samples = [our_digit(d, s) for s in STYLES for d in range(10)]

    def sleep(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    canvas, waits = window.network_tab.canvas, []
    for i in range(drawings + 5):
        canvas.set_strokes(samples[(2 * i) % len(samples)][0])
        first = window.pad._request_id
        while first not in settled:  # its bars are up: the worker starts its view now
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        sleep(2)
        start = time.perf_counter()
        canvas.set_strokes(samples[(2 * i + 1) % len(samples)][0])
        second = window.pad._request_id
        while second not in view_at:
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        sleep(100)
        if i >= 5:
            waits.append(bars_at[second] - start)
    window.close()
    return [f"| {name}: stroke end → bars, the previous view under way | {percentiles(waits)} |"]


def network_rows(drawings: int, digits: int) -> None:
    import tempfile

    previous = os.environ.get("MNIST_DESK_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["MNIST_DESK_HOME"] = home
        paths = make_runs(home)
        print(f"\nFeature index build (penultimate features of {digits:,} training digits)\n")
        print("| model | digits | seconds | s per 60,000 |\n|---|---:|---:|---:|")
        print("\n".join(index_build_rows(paths, digits)), flush=True)
        print("\nNetwork tab (issue 11), 6 models to compare, CPU\n")
        print("| stage | p50 ms | p99 ms |\n|---|---:|---:|")
        print("\n".join(lookup_rows(paths)), flush=True)
        for name in ("desknet", "cnn"):
            print("\n".join(network_gui_rows(name, paths[name], drawings)), flush=True)
        for name in ("desknet", "cnn"):
            print("\n".join(overtaking_rows(name, paths[name], drawings // 3)), flush=True)
    # the folder is gone: the app-path window after this gets a home of its own again
    if previous is None:
        os.environ.pop("MNIST_DESK_HOME", None)
    else:
        os.environ["MNIST_DESK_HOME"] = previous


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=1000)
    parser.add_argument("--network", action="store_true", help="add the Network tab's rows")
    parser.add_argument("--index-digits", type=int, default=60000)
    args = parser.parse_args(argv)
    if args.network:
        network_rows(min(args.drawings, 500), args.index_digits)
    import platform

    import torch

    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
    )
    print(f"App path over {args.drawings} drawings (offscreen window, CPU)\n")
    print("| stage | p50 ms | p99 ms |\n|---|---:|---:|")
    print("\n".join(gui_latency(args.drawings)))
    print("\nModel alone, one 28×28 image, CPU, p50 | p99 ms: PyTorch (the model's forward), and")
    print("the app's reading through onnxruntime; each back to back and after 100 ms idle\n")
    print(
        "| model | PyTorch | | after idle | | onnxruntime | | after idle | |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    print("\n".join(model_latency()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
