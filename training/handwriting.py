"""The shipped model's second stage: read the world's handwriting and say "not a digit".

Starts from the MNIST-only desknet (``training/desknet.sh``), gives it an 11th output
("not a digit") and fine-tunes it with the app's own ``mnist-desk train`` on MNIST plus:

* real pen digits that may be trained on (``../shared/strokes/unipen_train_digits.json.gz``,
  5 writers, with slashed zeros, flagged ones, crossed sevens), rendered through the app's
  strokes → 28×28 path at random sizes, slants and pen widths;
* the same strokes with a convention added by ``core/conventions.py`` (slash, flag/base,
  crossbar) and synthetic open/closed fours;
* MNIST's own 0s, 1s and 7s with the convention drawn in (raster variants);
* non-digits from ``core/nondigits.py`` (label 10).

Then it fits a temperature on held-out data (MNIST's validation split, 10% of the training
writers' strokes, fresh non-digits) — never the test set, never the "syn" development set.
The syn set is only read by ``benchmarks/strokes.py``.

    python training/handwriting.py --base runs/desknet/best.pt --out runs/handwriting
    python training/handwriting.py --exclude-writers gmd/kast,val/val02 --epochs 3 ...  # LWO
    python training/handwriting.py --prepare-only --out runs/hw-data   # the extra digits only
    python training/handwriting.py --from-scratch --width 48 --extra runs/hw-data/extra_train.npz

``--from-scratch`` starts from random 11-class weights instead of the MNIST-only model (what
``training/handwriting_sweep.py`` runs on a GPU). Every run ends with a validation report
(MNIST's validation split, held-out training writers, fresh non-digits) that the sweep uses
to choose; the test set and syn are never read here.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mnist_desk.cli import main as mnist_desk_main
from mnist_desk.core.calibration import (
    calibrate_logits,
    expected_calibration_error,
    fit_calibration,
    read_right,
)
from mnist_desk.core.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from mnist_desk.core.conventions import add_mark_to_image, apply_convention, four
from mnist_desk.core.data import load_mnist
from mnist_desk.core.grouping import two_digits_side_by_side
from mnist_desk.core.handwriting import default_pen_width, place_strokes
from mnist_desk.core.models import build_model
from mnist_desk.core.nondigits import non_digit
from mnist_desk.core.predict import NOT_SURE_BELOW, Predictor
from mnist_desk.core.preprocess import fit_to_mnist, render_strokes, strokes_to_mnist, to_uint8
from mnist_desk.core.redraw import redraw
from mnist_desk.core.writers import vary_writer

CANVAS = 280.0
NOT_A_DIGIT = 10
CONVENTION_OF = {0: ("slashed-zero",), 1: ("flagged-one", "based-one"), 7: ("crossed-seven",)}


def render_like_a_person(
    unit_strokes, rng: np.random.Generator, as_the_app_reads: bool = False
) -> np.ndarray | None:
    """Place unit-box strokes on the pad as people draw (size, aspect, slant, pen), → uint8.

    Training digits keep the drawn pen, so stroke thickness varies with size and pen (an
    augmentation; the shipped weights were made so). Held-out digits ``as_the_app_reads``
    go through the app's own ``strokes_to_mnist`` (its model pen), so calibration and
    validation see exactly what the app will read.
    """
    size = rng.uniform(0.35, 0.9)
    aspect = rng.uniform(0.8, 1.2)
    offset = rng.uniform(-0.5, 0.5, size=2) * (1 - size)
    shear = rng.uniform(-0.25, 0.25)
    strokes = place_strokes(unit_strokes, CANVAS, (size * aspect, size), tuple(offset), shear)
    pen = default_pen_width(CANVAS) * rng.uniform(0.5, 1.5)
    if as_the_app_reads:
        image = strokes_to_mnist(strokes, pen)
    else:
        ink = render_strokes(strokes, pen)
        image = None if ink is None else fit_to_mnist(ink)
    return None if image is None else to_uint8(image)


def load_strokes(folder: Path, exclude_writers: set[str], drop_pairs: bool = False) -> list[dict]:
    """The training writers' digits; ``drop_pairs`` leaves out the samples that hold two
    digits side by side (eight "00" labelled 0 and a "66" labelled 6, all by val/val02)."""
    with gzip.open(folder / "unipen_train_digits.json.gz", "rt") as handle:
        samples = json.load(handle)
    return [
        s
        for s in samples
        if s["writer_id"] not in exclude_writers
        and not (drop_pairs and two_digits_side_by_side(s["strokes"]))
    ]


def split_held_out(samples: list[dict], fraction: float, rng: np.random.Generator):
    """Hold out ``fraction`` of every writer's digits for calibration."""
    order = rng.permutation(len(samples))
    held = set(order[: int(len(samples) * fraction)].tolist())
    train = [s for i, s in enumerate(samples) if i not in held]
    return train, [samples[i] for i in sorted(held)]


def stroke_set(
    samples, renders: int, with_conventions: bool, rng, varied: int = 0, held_out: bool = False
) -> tuple[list, list]:
    """Each digit ``renders`` times as written, and ``varied`` times as another writer might
    write it (``core/writers.py``), plus its convention where it has one. ``held_out``
    digits are rendered as the app reads them (see ``render_like_a_person``)."""
    images, labels = [], []
    for sample in samples:
        label, strokes = sample["label"], sample["strokes"]
        for i in range(renders + varied):
            written = strokes if i < renders else vary_writer(strokes, rng)
            image = render_like_a_person(written, rng, as_the_app_reads=held_out)
            if image is not None:
                images.append(image)
                labels.append(label)
        # only plain digits get a mark: a zero already slashed needs no second slash
        plain = len(strokes) == 1 or (label == 7 and len(strokes) == 2)
        if with_conventions and label in CONVENTION_OF and plain:
            names = CONVENTION_OF[label]
            marked = apply_convention(names[rng.integers(len(names))], strokes, rng)
            image = render_like_a_person(marked, rng)
            if image is not None:
                images.append(image)
                labels.append(label)
    return images, labels


def synthetic_fours(count: int, rng) -> tuple[list, list]:
    images = [render_like_a_person(four(rng, open_top=i % 2 == 0), rng) for i in range(count)]
    return [i for i in images if i is not None], [4] * sum(i is not None for i in images)


def non_digit_set(count: int, rng, held_out: bool = False) -> tuple[list, list]:
    images = [
        render_like_a_person(non_digit(rng)[1], rng, as_the_app_reads=held_out)
        for _ in range(count)
    ]
    images = [i for i in images if i is not None]
    return images, [NOT_A_DIGIT] * len(images)


def mnist_marked(train_images: np.ndarray, train_labels: np.ndarray, per_digit: dict, rng):
    images, labels = [], []
    for digit, count in per_digit.items():
        chosen = rng.choice(np.flatnonzero(train_labels == digit), size=count, replace=False)
        for index in chosen:
            marked = add_mark_to_image(train_images[index] / 255.0, digit, rng)
            if marked is not None:
                images.append(to_uint8(marked))
                labels.append(digit)
    return images, labels


def mnist_redrawn(train, count: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """``count`` MNIST training digits (never the validation split) redrawn with a round pen
    (``core/redraw.py``): MNIST's many writers in the ink the pad draws."""
    chosen = rng.choice(len(train), size=min(count, len(train)), replace=False)
    images, kept = redraw(train.images.numpy()[chosen], rng)
    return images, train.labels.numpy()[chosen][kept].astype(np.int64)


def widen_to_eleven(base_path: Path, out_path: Path, seed: int) -> Path:
    """The MNIST model with an 11th output row, initialised small so digits read as before."""
    base = load_checkpoint(base_path)
    if int(base.model_args.get("num_classes", 10)) != 10 or base.model_name != "desknet":
        raise SystemExit(f"{base_path} must be a 10-class desknet (from training/desknet.sh).")
    state = dict(base.state_dict)
    generator = torch.Generator().manual_seed(seed)
    weight, bias = state["classifier.1.weight"], state["classifier.1.bias"]
    new_row = torch.randn(1, weight.shape[1], generator=generator) * weight.std() * 0.1
    state["classifier.1.weight"] = torch.cat([weight, new_row])
    state["classifier.1.bias"] = torch.cat([bias, bias.min().reshape(1) - 2.0])
    widened = Checkpoint(
        model_name="desknet",
        state_dict=state,
        model_args=dict(base.model_args, num_classes=11),
        normalization=base.normalization,
        train_config=base.train_config,
        metrics={},
    )
    return save_checkpoint(widened, out_path)


def fresh_eleven(width: int, out_path: Path, seed: int) -> Path:
    """Random 11-class desknet weights, saved so ``mnist-desk train --init-from`` starts there."""
    torch.manual_seed(seed)
    model_args = {"width": width, "num_classes": 11}
    model = build_model("desknet", **model_args)
    fresh = Checkpoint(
        model_name="desknet",
        state_dict=model.state_dict(),
        model_args=model_args,
        metrics={},
    )
    return save_checkpoint(fresh, out_path)


def calibration_set(
    val, held_samples, seed: int, unseen_samples=()
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """MNIST's validation split + held-out training writers' digits + fresh non-digits, and in
    a leave-writers-out run the left-out writers' digits (what new writers look like).

    Takes the validation split alone, so the test set cannot reach the temperature. Its own
    generator: the set is the same whether the extra digits were made now or read from a file.
    """
    rng = np.random.default_rng(seed + 2000)
    parts = {"mnist_val": (val.images.numpy(), val.labels.numpy().astype(np.int64))}
    for name, samples in (("held_writers", held_samples), ("unseen_writers", unseen_samples)):
        if len(samples):
            images, labels = stroke_set(samples, 1, False, rng, held_out=True)
            parts[name] = (np.stack(images), np.array(labels, dtype=np.int64))
    nd_images, nd_labels = non_digit_set(600, np.random.default_rng(seed + 1000), held_out=True)
    parts["non_digits"] = (np.stack(nd_images), np.array(nd_labels, dtype=np.int64))
    return parts


def validation_report(logits: dict[str, tuple], calibration: dict) -> dict:
    """Error rates (%) on each held-out part, and the score the sweep minimises: their mean.

    An error is what the app reads wrong (``core.calibration.read_right``): a digit whose top
    class (of 11) is not its label, a non-digit that some digit reaches "Not sure" on.
    """
    report = {}
    for name, (part_logits, labels) in logits.items():
        probs = calibrate_logits(part_logits, calibration).softmax(1)
        wrong = ~read_right(probs, labels, NOT_SURE_BELOW)
        report[f"{name}_error_pct"] = round(100.0 * wrong.float().mean().item(), 3)
    report["score"] = round(sum(report.values()) / len(report), 3)
    return report


def calibrate(trained: Path, shipped: Path, parts: dict, shift: float | None = None) -> dict:
    """Fit the prior shift and the temperature on held-out data, write the checkpoint, report."""
    checkpoint = load_checkpoint(trained)
    predictor = Predictor(checkpoint)
    part_logits = {}
    with torch.no_grad():  # not inference_mode: the temperature fit needs autograd on these
        for name, (images, labels) in parts.items():
            part_logits[name] = (
                predictor.logits(images.astype(np.float32) / 255.0).cpu(),
                torch.from_numpy(labels),
            )
    logits = torch.cat([pl for pl, _ in part_logits.values()])
    labels = torch.cat([lb for _, lb in part_logits.values()]).numpy()
    calibration = fit_calibration(part_logits, NOT_SURE_BELOW, shift)
    temperature = calibration["temperature"]
    shift = calibration.get("not_a_digit_shift", 0.0)
    before = expected_calibration_error(logits.softmax(1).numpy(), labels)
    after = expected_calibration_error(
        calibrate_logits(logits, calibration).softmax(1).numpy(), labels
    )
    checkpoint.calibration = calibration
    checkpoint.metrics = dict(
        checkpoint.metrics,
        calibration_ece_before=before,
        calibration_ece_after=after,
        calibration_set=int(len(labels)),
    )
    save_checkpoint(checkpoint, shipped)
    return {
        "temperature": temperature,
        "not_a_digit_shift": shift,
        "ece_before": before,
        "ece_after": after,
        "validation": validation_report(part_logits, calibration),
    }


def make_extra(args, exclude: set[str], mnist, train_samples, rng) -> Path:
    """Render the extra training digits once; the file remembers what it was made from."""
    parts = [
        stroke_set(train_samples, args.renders, True, rng, args.varied_renders),
        synthetic_fours(400, rng),
        mnist_marked(
            mnist.train.images.numpy(), mnist.train.labels.numpy(), {0: 1500, 1: 1500, 7: 1000}, rng
        ),
        non_digit_set(args.non_digits, rng),
    ]
    if args.redrawn_mnist:
        parts.append(mnist_redrawn(mnist.train, args.redrawn_mnist, rng))
    images = np.stack([i for part in parts for i in part[0]]).astype(np.uint8)
    labels = np.array([label for part in parts for label in part[1]], dtype=np.int64)
    extra = args.out / "extra_train.npz"
    np.savez_compressed(extra, images=images, labels=labels, made_from=_made_from(args, exclude))
    return extra


def _made_from(args, exclude: set[str]) -> str:
    # The seed fixes MNIST's validation split: marked MNIST digits must come from outside it.
    # Dropping samples changes which digits are held out, so it is part of the recipe too.
    dropped = {"dropped_two_digit_samples": True} if args.drop_two_digit_samples else {}
    return json.dumps({"seed": args.seed, "excluded_writers": sorted(exclude), **dropped})


def check_extra(path: Path, args, exclude: set[str]) -> None:
    with np.load(path) as saved:
        made_from = str(saved["made_from"]) if "made_from" in saved else None
    if made_from != _made_from(args, exclude):
        raise SystemExit(
            f"{path} was made with {made_from}; this run needs {_made_from(args, exclude)} "
            "(another seed would put validation digits into training)."
        )


def _write_report(out: Path, result: dict, argv: list[str] | None, exclude: set[str]) -> None:
    """handwriting.json: what a run measured, with the command and writers that made it."""
    result.update(
        command="python training/handwriting.py " + " ".join(argv or sys.argv[1:]),
        excluded_writers=sorted(exclude),
    )
    (out / "handwriting.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


def _shift_from(path: Path | None) -> float | None:
    """The not-a-digit shift that a leave-writers-out run's handwriting.json recorded."""
    return None if path is None else float(json.loads(path.read_text())["not_a_digit_shift"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="runs/desknet/best.pt", type=Path)
    parser.add_argument("--from-scratch", action="store_true", help="random init, not --base")
    parser.add_argument("--width", type=int, default=32, help="desknet width (--from-scratch)")
    parser.add_argument("--out", default="runs/handwriting", type=Path)
    parser.add_argument("--data", default=os.environ.get("MNIST_DESK_DATA", "../shared/mnist"))
    parser.add_argument("--strokes", default="../shared/strokes", type=Path)
    parser.add_argument("--exclude-writers", default="", help="comma-separated writer ids")
    parser.add_argument("--extra", type=Path, help="extra digits made by --prepare-only")
    parser.add_argument("--prepare-only", action="store_true", help="write the extra digits, stop")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=7e-4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--renders", type=int, default=3, help="renders per real digit")
    parser.add_argument(
        "--varied-renders",
        type=int,
        default=0,
        help="more renders per real digit, each varied as another writer (core/writers.py)",
    )
    parser.add_argument("--non-digits", type=int, default=10000)
    parser.add_argument(
        "--drop-two-digit-samples",
        action="store_true",
        help="leave out training strokes that hold two digits side by side (an '00' labelled 0)",
    )
    parser.add_argument(
        "--redrawn-mnist",
        type=int,
        default=0,
        help="this many MNIST training digits redrawn with a round pen (core/redraw.py)",
    )
    parser.add_argument("--train-subset", type=int, default=None)
    parser.add_argument(
        "--not-a-digit-from",
        type=Path,
        help="handwriting.json of the same recipe's leave-writers-out run: keep its not-a-digit "
        "shift (fitted on writers it never saw) instead of fitting one on writers it has seen",
    )
    parser.add_argument(
        "--recalibrate", type=Path, help="only calibrate this trained checkpoint (no training)"
    )
    args = parser.parse_args(argv)
    started = time.time()
    rng = np.random.default_rng(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    exclude = {w for w in args.exclude_writers.split(",") if w}

    samples = load_strokes(args.strokes, exclude, args.drop_two_digit_samples)
    unseen = [s for s in load_strokes(args.strokes, set()) if s["writer_id"] in exclude]
    train_samples, held_samples = split_held_out(samples, 0.1, rng)
    val_split = 0.05
    mnist = load_mnist(args.data, val_split=val_split, seed=args.seed)  # same split as fit's
    if args.recalibrate:
        result = calibrate(
            args.recalibrate,
            args.out / "desknet.pt",
            calibration_set(mnist.val, held_samples, args.seed, unseen),
            _shift_from(args.not_a_digit_from),
        )
        result.update(recalibrated=str(args.recalibrate))
        trained = args.recalibrate.parent / "handwriting.json"  # how the weights were made
        if trained.exists():
            result["trained"] = {
                k: v
                for k, v in json.loads(trained.read_text()).items()
                if k in ("command", "train_command", "extra_per_class", "device", "minutes")
            }
            result["train_run"] = str(args.recalibrate.parent / "run")
        _write_report(args.out, result, argv, exclude)
        return 0
    if args.extra:
        check_extra(args.extra, args, exclude)
        extra = args.extra
    else:
        extra = make_extra(args, exclude, mnist, train_samples, rng)
    with np.load(extra) as saved:
        counts = np.bincount(saved["labels"], minlength=11).tolist()
    print(f"extra training images: {sum(counts)} (per class 0-9, not-a-digit: {counts})")
    if args.prepare_only:
        return 0

    if args.from_scratch:
        init = fresh_eleven(args.width, args.out / "init11.pt", args.seed)
    else:
        init = widen_to_eleven(args.base, args.out / "init11.pt", args.seed)
    run = args.out / "run"
    command = [
        "train", "--arch", "desknet", "--init-from", str(init),
        "--extra-train", str(extra), "--extra-repeat", "1",
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
        "--optimizer", "adamw", "--lr", str(args.lr), "--weight-decay", "1e-4",
        "--schedule", "onecycle", "--label-smoothing", str(args.label_smoothing),
        "--augment", "--val-split", str(val_split), "--select-by", "last",
        "--seed", str(args.seed), "--data", args.data, "--device", args.device,
        "--out", str(run),
    ]  # fmt: skip
    if args.train_subset:
        command += ["--train-subset", str(args.train_subset)]
    print("mnist-desk " + " ".join(command), flush=True)
    status = mnist_desk_main(command)
    if status:
        return status

    calibration = calibration_set(mnist.val, held_samples, args.seed, unseen)
    result = calibrate(
        run / "best.pt", args.out / "desknet.pt", calibration, _shift_from(args.not_a_digit_from)
    )
    result.update(
        train_command="mnist-desk " + " ".join(command),
        extra_per_class=counts,
        device=json.loads((run / "summary.json").read_text()).get("device", "?"),
        minutes=round((time.time() - started) / 60, 1),
    )
    _write_report(args.out, result, argv, exclude)
    print(f"To ship it: cp {args.out / 'desknet.pt'} resources/desknet.pt")
    return 0 if math.isfinite(result["temperature"]) else 1


if __name__ == "__main__":
    sys.exit(main())
