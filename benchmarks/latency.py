"""Latency of one drawing: from stroke end to bars updated, and the parts of it.

Runs the real window offscreen, replays 1,000 of our drawings (7 styles × 10 digits, in
turn), and for each one measures: preprocessing and inference (inside the worker thread),
the queued-signal round trip, and the whole stroke-end → bars-updated time.
Also reports plain single-image model latency (no Qt) for every registered model.

    QT_QPA_PLATFORM=offscreen python benchmarks/latency.py [--drawings 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def percentiles(values_s) -> str:
    ms = np.asarray(values_s) * 1000
    return f"{np.percentile(ms, 50):.2f} | {np.percentile(ms, 99):.2f}"


def model_latency(repeats: int = 300) -> list[str]:
    import torch

    from mnist_desk.core.models import MODELS, build_model

    rows = []
    x = torch.zeros(1, 1, 28, 28)
    for name in MODELS:
        model = build_model(name).eval()
        times = []
        with torch.inference_mode():
            for _ in range(20):
                model(x)
            for _ in range(repeats):
                t0 = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - t0)
        rows.append(f"| {name} | {percentiles(times)} |")
    return rows


def gui_latency(drawings: int) -> list[str]:
    from PySide6.QtCore import QEventLoop, QObject, Slot
    from PySide6.QtWidgets import QApplication

    from mnist_desk.core.handwriting import STYLES, our_digit
    from mnist_desk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.show()
    while not window.pad.model_ready:
        app.processEvents()
        time.sleep(0.005)
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
    timings = {t["id"]: t for t in worker.timings}
    pre = [timings[i]["preprocess"] for i in shown_at]
    inf = [timings[i]["inference"] for i in shown_at]
    trip = [timings[i]["queued"] + (shown_at[i] - timings[i]["emitted_at"]) for i in shown_at]
    window.close()
    return [
        f"| preprocessing (strokes → 28×28) | {percentiles(pre)} |",
        f"| inference ({window.model_info.get('name')}) | {percentiles(inf)} |",
        f"| signal round trip (queue in + result out + bars) | {percentiles(trip)} |",
        f"| **stroke end → bars updated** | {percentiles(total)} |",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drawings", type=int, default=1000)
    args = parser.parse_args(argv)
    import platform

    import torch

    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads\n"
    )
    print(f"App path over {args.drawings} drawings (offscreen window, CPU)\n")
    print("| stage | p50 ms | p99 ms |\n|---|---:|---:|")
    print("\n".join(gui_latency(args.drawings)))
    print("\nModel alone, one 28×28 image, CPU\n")
    print("| model | p50 ms | p99 ms |\n|---|---:|---:|")
    print("\n".join(model_latency()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
