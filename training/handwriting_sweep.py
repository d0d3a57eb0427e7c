"""Train several stage-2 candidates side by side on one GPU and keep the best on validation.

Each candidate is one ``training/handwriting.py --from-scratch`` (or fine-tune) run. The
choice uses only each run's validation report (MNIST's validation split, held-out training
writers, fresh non-digits: ``validation.score``, the mean error rate); the MNIST test set and
the syn development set are never read here, so the choice cannot be tuned to them.

With ``--budget-s`` the epochs are fitted to the time there is: every candidate first trains
one epoch at once (the same load as the real runs), and each candidate then gets
``min(its planned epochs, what fits)`` — chosen from seconds, never from a score.

    python training/handwriting_sweep.py --extra runs/hw-data/extra_train.npz \\
        --device cuda --budget-s 420 --out runs/sweep
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Candidate:
    name: str
    epochs: int
    args: list[str] = field(default_factory=list)


# Fixed before any run: widths the pad's latency budget allows, the MNIST-only recipe's
# peak rate (3e-3) from scratch, the shipped recipe's fine-tune rate (7e-4) from the base.
CANDIDATES = [
    Candidate("w32-scratch", 40, ["--from-scratch", "--width", "32", "--lr", "3e-3"]),
    Candidate("w48-scratch", 40, ["--from-scratch", "--width", "48", "--lr", "3e-3"]),
    Candidate("w64-scratch", 40, ["--from-scratch", "--width", "64", "--lr", "3e-3"]),
    Candidate(
        "w48-scratch-ls",
        40,
        ["--from-scratch", "--width", "48", "--lr", "3e-3", "--label-smoothing", "0.05"],
    ),
    Candidate("w32-finetune", 30, ["--lr", "7e-4"]),
    Candidate("w48-scratch-long", 80, ["--from-scratch", "--width", "48", "--lr", "3e-3"]),
]


def launch(candidate: Candidate, epochs: int, out: Path, common: list[str], extra: list[str]):
    folder = out / candidate.name
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(HERE / "handwriting.py"),
        *candidate.args,
        *common,
        "--epochs",
        str(epochs),
        "--out",
        str(folder),
        *extra,
    ]
    log = (folder / "log.txt").open("w")
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="2")
    return command, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)


def wait_all(processes: dict, deadline: float | None) -> dict[str, int | None]:
    """Wait for every run; kill those still running at ``deadline`` (status None)."""
    status: dict[str, int | None] = {}
    while len(status) < len(processes):
        for name, (_, process) in processes.items():
            if name not in status and process.poll() is not None:
                status[name] = process.returncode
        if deadline is not None and time.time() > deadline:
            for name, (_, process) in processes.items():
                if name not in status:
                    process.kill()
                    status[name] = None
        time.sleep(1.0)
    return status


def seconds_per_full_epoch(folder: Path, full_images: int) -> float:
    last = json.loads((folder / "run" / "history.json").read_text())[-1]  # one row per epoch
    return full_images / float(last["images_per_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--extra", type=Path, required=True, help="from handwriting.py --prepare-only"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/sweep"))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", default=os.environ.get("MNIST_DESK_DATA", "../shared/mnist"))
    parser.add_argument("--strokes", default="../shared/strokes")
    parser.add_argument("--base", default="runs/desknet/best.pt", help="for fine-tune candidates")
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    parser.add_argument("--budget-s", type=float, default=None, help="wall-clock seconds for all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lwo-extra", type=Path, help="also run a leave-writers-out check")
    parser.add_argument("--lwo-candidate", default="w48-scratch")
    parser.add_argument("--lwo-writers", default="gmd/kast,val/val02")
    parser.add_argument("--train-subset", type=int, default=None, help="smoke tests only")
    args = parser.parse_args(argv)
    started = time.time()
    chosen = [c for c in CANDIDATES if not args.only or c.name in args.only.split(",")]
    common = ["--extra", str(args.extra), "--device", args.device, "--data", args.data,
              "--strokes", args.strokes, "--seed", str(args.seed), "--base", args.base]  # fmt: skip
    if args.train_subset:
        common += ["--train-subset", str(args.train_subset)]
    args.out.mkdir(parents=True, exist_ok=True)
    lwo = None
    if args.lwo_extra:  # the same recipe without two writers, run at the same time (same load)
        base = next(c for c in CANDIDATES if c.name == args.lwo_candidate)
        lwo = Candidate("lwo", base.epochs, [*base.args, "--exclude-writers", args.lwo_writers])
    lwo_extra = ["--extra", str(args.lwo_extra)] if lwo else []
    epochs = {c.name: c.epochs for c in chosen}
    probe_report = {}
    if args.budget_s:
        probe = {c.name: launch(c, 1, args.out / "probe", common, []) for c in chosen}
        if lwo:
            probe["lwo"] = launch(lwo, 1, args.out / "probe", common, lwo_extra)
        wait_all(probe, None)
        probe_seconds = time.time() - started
        import numpy as np

        with np.load(args.extra) as saved:
            full_images = int(len(saved["labels"]) + (args.train_subset or 57000))
        left = args.budget_s - probe_seconds - 60  # start-up, calibration, reporting
        for c in chosen:
            per_epoch = 1.25 * seconds_per_full_epoch(args.out / "probe" / c.name, full_images)
            epochs[c.name] = max(1, min(c.epochs, math.floor(left / per_epoch)))
            probe_report[c.name] = {"seconds_per_epoch": round(per_epoch, 2)}
        print(f"probe took {probe_seconds:.0f} s; epochs: {epochs}", flush=True)

    runs = {c.name: launch(c, epochs[c.name], args.out, common, []) for c in chosen}
    if lwo:
        lwo_epochs = epochs.get(args.lwo_candidate, lwo.epochs)
        runs["lwo"] = launch(lwo, lwo_epochs, args.out, common, lwo_extra)
    deadline = started + args.budget_s if args.budget_s else None
    status = wait_all(runs, deadline)

    results = {}
    for c in chosen:
        summary = args.out / c.name / "handwriting.json"
        if status[c.name] == 0 and summary.exists():
            report = json.loads(summary.read_text())
            results[c.name] = {"epochs": epochs[c.name], **report}
        else:
            results[c.name] = {"epochs": epochs[c.name], "status": status[c.name]}
    finished = {n: r for n, r in results.items() if "validation" in r}
    best = min(finished, key=lambda n: finished[n]["validation"]["score"]) if finished else None
    if best:
        shutil.copy(args.out / best / "desknet.pt", args.out / "best.pt")
    if lwo:
        lwo_summary = args.out / "lwo" / "handwriting.json"
        results["lwo"] = {
            "epochs": lwo_epochs,
            "excluded_writers": args.lwo_writers,
            "finished": status["lwo"] == 0 and lwo_summary.exists(),
            "not a candidate": True,
        }
    sweep = {
        "command": "python training/handwriting_sweep.py " + " ".join(argv or sys.argv[1:]),
        "chosen_by": "lowest validation.score (mean error % on MNIST val, held writers, non-digits)",
        "best": best,
        "probe": probe_report,
        "candidates": results,
        "minutes": round((time.time() - started) / 60, 1),
    }
    (args.out / "sweep.json").write_text(json.dumps(sweep, indent=2))
    # per candidate its validation report (or exit status); "lwo": whether the check finished
    report = {
        n: r.get("validation", r.get("finished", r.get("status"))) for n, r in results.items()
    }
    print(json.dumps(report, indent=2))
    print(f"best: {best}")
    return 0 if best else 1


if __name__ == "__main__":
    sys.exit(main())
