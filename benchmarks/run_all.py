"""Run every benchmark and write benchmarks/RESULTS.md (`make bench`).

Each section records the command that produced it and the machine it ran on.
"""

from __future__ import annotations

import contextlib
import io
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def machine() -> str:
    cpu = platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, {platform.system()} {platform.release()}"
    )


def captured(function, *args) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args)
    return buffer.getvalue().strip()


def startup(runs: int = 5) -> str:
    """Start-up to first prediction, in fresh processes (`mnist-desk gui --self-test`)."""
    shown, first, totals = [], [], []
    env = dict(
        os.environ, QT_QPA_PLATFORM="offscreen", MNIST_DESK_HOME=str(ROOT / "build" / "bench-home")
    )
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "mnist_desk", "gui", "--self-test"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        total = time.perf_counter() - started
        line = [x for x in out.stdout.splitlines() if x.startswith("self-test")][0]
        shown.append(float(line.split("window shown after ")[1].split("s")[0]))
        first.append(float(line.split("first prediction after ")[1].split("s")[0]))
        totals.append(total)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return (
        f"| measure | median of {runs} | worst |\n|---|---:|---:|\n"
        f"| window shown (s after the GUI module loaded) | {statistics.median(shown):.2f} | {max(shown):.2f} |\n"
        f"| first prediction shown (s after the GUI module loaded) | {statistics.median(first):.2f} | {max(first):.2f} |\n"
        f"| whole process: launch → answer → exit (s) | {statistics.median(totals):.2f} | {max(totals):.2f} |\n"
        f"| peak memory of the app process (MiB RSS) | {peak_mb:.0f} | |"
    )


def main() -> int:
    import latency
    import read_numbers
    import strokes
    import throughput

    sections = [
        f"# Benchmarks\n\nMachine: {machine()}\n\nWritten by `make bench` "
        "(`python benchmarks/run_all.py`); rerun it to refresh every figure.\n"
    ]
    sections.append(
        "## Training throughput\n\n`python benchmarks/throughput.py`\n\n"
        + captured(throughput.main, [])
    )
    sections.append(
        "## Latency of a drawing\n\n`python benchmarks/latency.py --drawings 1000`\n\n"
        + captured(latency.main, ["--drawings", "1000"])
    )
    sections.append(
        "## Start-up and memory\n\n`mnist-desk gui --self-test` (offscreen), 5 runs\n\n" + startup()
    )
    sections.append(
        "## Drawn digits\n\n`python benchmarks/strokes.py`\n\n" + captured(strokes.main, [])
    )
    sections.append(
        "## Reading numbers\n\n`python benchmarks/read_numbers.py --per-length 150 --latency 200`"
        "\n\n" + captured(read_numbers.main, ["--per-length", "150", "--latency", "200"])
    )
    text = "\n\n".join(sections) + "\n"
    (ROOT / "benchmarks" / "RESULTS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
