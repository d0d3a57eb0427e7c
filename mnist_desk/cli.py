"""Command line: ``mnist-desk [gui|train|eval|predict|export|samples]``.

Heavy imports (torch, Qt) happen inside the sub-commands so ``--help`` and the GUI start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mnist_desk import __version__

EXIT_USER_ERROR = 2


class UserError(Exception):
    """An error the person can fix; printed as one line without a traceback."""


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        help="MNIST root (torchvision layout); default: $MNIST_DESK_DATA, else the user cache",
    )


def _add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="checkpoint file (default: the shipped model in resources/)"
    )


def build_parser() -> argparse.ArgumentParser:
    from mnist_desk.core.config import (
        CHECKPOINT_CRITERIA,
        DEVICES,
        OPTIMIZERS,
        SCHEDULES,
        TrainConfig,
    )

    defaults = TrainConfig()
    parser = argparse.ArgumentParser(
        prog="mnist-desk", description="Draw digits, train and inspect MNIST models."
    )
    parser.add_argument("--version", action="version", version=f"mnist-desk {__version__}")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    _add_model_option(gui)
    gui.add_argument(
        "--self-test",
        action="store_true",
        help="open the window, draw a 7 on the pad, print what the model read and the time "
        "from start to that answer, then quit (for packaging checks and start-up benchmarks)",
    )

    train = sub.add_parser("train", help="train a model and save its best checkpoint")
    train.add_argument("--arch", default=defaults.model, help="model name (see --list-models)")
    train.add_argument("--list-models", action="store_true", help="list the models and exit")
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.lr)
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    train.add_argument("--momentum", type=float, default=defaults.momentum)
    train.add_argument("--weight-decay", type=float, default=defaults.weight_decay)
    train.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule)
    train.add_argument("--step-size", type=int, default=defaults.step_size)
    train.add_argument("--gamma", type=float, default=defaults.gamma)
    train.add_argument("--augment", action="store_true", help="random affine + stroke thickness")
    train.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing)
    train.add_argument("--val-split", type=float, default=defaults.val_split)
    train.add_argument("--select-by", choices=CHECKPOINT_CRITERIA, default=defaults.select_by)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--device", choices=DEVICES, default=defaults.device)
    train.add_argument("--amp", action="store_true", help="bf16 autocast on CUDA")
    train.add_argument("--compile", action="store_true", help="torch.compile on CUDA")
    train.add_argument("--train-subset", type=int, help="use only the first N training digits")
    train.add_argument("--test-subset", type=int, help="use only the first N test digits")
    train.add_argument("--init-from", help="fine-tune from this checkpoint")
    train.add_argument("--extra-train", help=".npz with extra 'images' (uint8 Nx28x28), 'labels'")
    train.add_argument(
        "--extra-repeat", type=int, default=20, help="copies of the extra digits per epoch"
    )
    train.add_argument("--out", default=defaults.out, help="output folder (best.pt, history)")
    _add_data_option(train)

    ev = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix")
    _add_model_option(ev)
    _add_data_option(ev)
    ev.add_argument("--mistakes", metavar="DIR", help="write a grid image of misclassified digits")
    ev.add_argument("--device", choices=DEVICES, default="auto")
    ev.add_argument("--test-subset", type=int)
    ev.add_argument("--json", action="store_true", help="print the results as JSON")

    pr = sub.add_parser("predict", help="top-k predictions for image files")
    pr.add_argument("images", nargs="+", help="image files (any size, dark or light background)")
    _add_model_option(pr)
    pr.add_argument("-k", "--top-k", type=int, default=3)
    pr.add_argument("--save-28", metavar="DIR", help="also save the 28x28 image the model saw")
    pr.add_argument("--json", action="store_true")
    pr.add_argument(
        "--number",
        action="store_true",
        help="each file is a written number (several digits, left to right): print it, then "
        "each digit's confidence (--json adds each digit's box in image pixels)",
    )

    ex = sub.add_parser("export", help="export to ONNX and check it against PyTorch")
    _add_model_option(ex)
    _add_data_option(ex)
    ex.add_argument("--onnx", required=True, metavar="FILE", help="output .onnx file")

    sa = sub.add_parser("samples", help="write a grid of training digits with labels")
    _add_data_option(sa)
    sa.add_argument("--out", default="samples.png")
    sa.add_argument("--count", type=int, default=64)
    sa.add_argument("--augment", action="store_true", help="show augmented versions")
    sa.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "gui"
    try:
        if command == "gui":
            from mnist_desk.ui.app import run_app

            return run_app(
                model_path=getattr(args, "model", None),
                self_test=getattr(args, "self_test", False),
            )
        handler = {
            "train": cmd_train,
            "eval": cmd_eval,
            "predict": cmd_predict,
            "export": cmd_export,
            "samples": cmd_samples,
        }[command]
        return handler(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except ImportError as exc:  # e.g. the packaged app, built without torchvision or onnx
        print(
            f"mnist-desk {command}: this needs the Python package {exc.name!r}, which this "
            "installation lacks; install mnist-desk with pip for the full toolset.",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except Exception as exc:
        from mnist_desk.core.checkpoint import CheckpointError
        from mnist_desk.core.data import DataError
        from mnist_desk.core.preprocess import ImageError

        if isinstance(exc, UserError | CheckpointError | DataError | ImageError | ValueError):
            print(f"mnist-desk {command}: {exc}", file=sys.stderr)
            return EXIT_USER_ERROR
        raise


def _checkpoint_path(args) -> Path:
    from mnist_desk.paths import default_checkpoint_path

    return Path(args.model) if args.model else default_checkpoint_path()


def cmd_train(args) -> int:
    from tqdm import tqdm

    from mnist_desk.core.config import TrainConfig
    from mnist_desk.core.models import MODELS, count_parameters
    from mnist_desk.core.train import fit

    if args.list_models:
        for spec in MODELS.values():
            print(f"{spec.name:12s} {count_parameters(spec.build()):>9,d} params  {spec.summary}")
        return 0
    if args.arch not in MODELS:
        raise UserError(f"unknown model {args.arch!r}; known: {', '.join(MODELS)}")
    config = TrainConfig(
        model=args.arch,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        momentum=args.momentum,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        step_size=args.step_size,
        gamma=args.gamma,
        augment=args.augment,
        label_smoothing=args.label_smoothing,
        val_split=args.val_split,
        select_by=args.select_by,
        seed=args.seed,
        device=args.device,
        amp=args.amp,
        compile=args.compile,
        train_subset=args.train_subset,
        test_subset=args.test_subset,
        init_from=args.init_from,
        extra_train=args.extra_train,
        extra_repeat=args.extra_repeat,
        data=args.data,
        out=args.out,
    )
    bar = None

    def on_progress(event) -> None:
        nonlocal bar
        if event.kind == "start":
            print(f"Training {config.model} on {event.message} for {config.epochs} epochs")
        elif event.kind == "batch":
            if bar is None:
                bar = tqdm(total=event.batches, desc=f"epoch {event.epoch}/{event.epochs}")
            bar.update(1)
            if event.batch % 20 == 0:
                bar.set_postfix(loss=f"{event.loss:.4f}", img_s=f"{event.images_per_s:,.0f}")
        elif event.kind == "epoch":
            if bar is not None:
                bar.close()
                bar = None
            m = event.epoch_metrics
            parts = [f"epoch {m['epoch']}", f"train loss {m['train_loss']:.4f}"]
            parts += [f"train acc {m['train_acc'] * 100:.2f}%"]
            if "val_acc" in m:
                parts.append(f"val acc {m['val_acc'] * 100:.2f}%")
            parts.append(f"test acc {m['test_acc'] * 100:.2f}%")
            parts.append(f"{m['epoch_seconds']:.1f}s, {m['images_per_s']:,.0f} img/s")
            tqdm.write(" | ".join(parts))

    result = fit(config, on_progress=on_progress)
    if bar is not None:
        bar.close()
    best = result.best_metrics
    if result.best_path:
        print(
            f"Best checkpoint: {result.best_path} (epoch {best.get('epoch')}, "
            f"test acc {best.get('test_acc', 0) * 100:.2f}%, chosen by {best.get('selected_by')}) "
            f"in {result.seconds:.0f}s on {result.device}"
        )
    if result.cancelled:
        print("Training was cancelled; the best checkpoint so far is kept.")
        return 130
    return 0


def cmd_eval(args) -> int:
    from tqdm import tqdm

    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.data import load_mnist
    from mnist_desk.core.device import select_device
    from mnist_desk.core.train import evaluate

    checkpoint = load_checkpoint(_checkpoint_path(args))
    device = select_device(args.device)
    data = load_mnist(args.data, test_subset=args.test_subset)
    model = checkpoint.build().to(device)
    with tqdm(desc="evaluating", unit="batch") as bar:

        def on_batch(done, total):
            bar.total = total
            bar.update(1)

        result = evaluate(
            model, data.test, device, normalization=checkpoint.normalization, on_batch=on_batch
        )
    matrix = result.confusion_matrix()
    per_class = result.per_class_accuracy()
    if args.json:
        print(
            json.dumps(
                {
                    "checkpoint": str(checkpoint.path),
                    "model": checkpoint.model_name,
                    "accuracy": result.accuracy,
                    "loss": result.loss,
                    "count": len(result.labels),
                    "per_class_accuracy": per_class.tolist(),
                    "confusion_matrix": matrix.tolist(),
                },
                indent=2,
            )
        )
    else:
        print(f"{checkpoint.model_name} ({checkpoint.path})")
        print(
            f"Test accuracy: {result.accuracy * 100:.2f}% "
            f"({int((result.predictions == result.labels).sum())}/{len(result.labels)}), "
            f"loss {result.loss:.4f}"
        )
        print(
            "Per-class accuracy: "
            + "  ".join(f"{d}:{a * 100:.1f}%" for d, a in enumerate(per_class))
        )
        print("Confusion matrix (rows = true, columns = predicted):")
        print("      " + " ".join(f"{d:>5d}" for d in range(10)))
        for d, row in enumerate(matrix):
            print(f"{d:>5d} " + " ".join(f"{v:>5d}" for v in row))
    if args.mistakes:
        from mnist_desk.core.gallery import mistakes_grid

        out = Path(args.mistakes)
        out.mkdir(parents=True, exist_ok=True)
        image = mistakes_grid(data.test.images, result)
        target = out / "mistakes.png"
        image.save(target)
        print(f"Wrote {len(result.mistakes())} misclassified digits to {target}")
    return 0


def cmd_predict(args) -> int:
    from mnist_desk.core.predict import Predictor, reading_state, top_k_of
    from mnist_desk.core.preprocess import load_image_as_mnist

    predictor = Predictor.from_path(_checkpoint_path(args))
    k = max(1, min(10, args.top_k))
    if args.number:
        return _predict_numbers(args, predictor, k)
    rows = []
    for name in args.images:
        image28 = load_image_as_mnist(name)
        probs = predictor.all_probabilities(image28)
        not_digit = float(predictor.not_digit_probability(probs))
        top = top_k_of(probs[:10], k)
        rows.append(
            {
                "image": name,
                "top_k": [{"digit": d, "p": p} for d, p in top],
                "not_a_digit": not_digit,
                "state": reading_state(probs[:10], not_digit),
            }
        )
        if args.save_28:
            from PIL import Image

            out = Path(args.save_28)
            out.mkdir(parents=True, exist_ok=True)
            Image.fromarray((image28 * 255).round().astype("uint8")).save(
                out / (Path(name).stem + "_28.png")
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            ranked = ", ".join(f"{t['digit']} ({t['p'] * 100:.1f}%)" for t in row["top_k"])
            verdict = {"not-a-digit": "not a digit? ", "not-sure": "not sure: "}.get(
                row["state"], ""
            )
            print(f"{row['image']}: {verdict}{ranked}")
    return 0


def _predict_numbers(args, predictor, k: int) -> int:
    from mnist_desk.core.grouping import load_number_image

    rows = []
    for name in args.images:
        reading = load_number_image(name, predictor, k)
        rows.append({"image": name, "number": reading.text, "digits": reading.digits})
    if args.json:
        out = [
            {
                "image": row["image"],
                "number": row["number"],
                "digits": [
                    {
                        "digit": d.digit,
                        "p": d.confidence,
                        "not_sure": d.low_confidence,
                        "not_a_digit": d.not_a_digit,
                        "box": [round(v, 1) for v in d.box],
                        "top_k": [{"digit": t, "p": p} for t, p in d.top_k],
                    }
                    for d in row["digits"]
                ],
            }
            for row in rows
        ]
        print(json.dumps(out, indent=2))
        return 0
    for row in rows:
        print(f"{row['image']}: {row['number']}")
        for d in row["digits"]:
            mark = " (not a digit?)" if d.not_a_digit else " (not sure)" if d.low_confidence else ""
            print(f"  {d.text}  {d.confidence * 100:.1f}%{mark}")
    return 0


def cmd_export(args) -> int:
    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.export import export_onnx

    checkpoint = load_checkpoint(_checkpoint_path(args))
    report = export_onnx(checkpoint, args.onnx, data=args.data)
    print(
        f"Wrote {args.onnx}; onnxruntime matches PyTorch on {report.count} "
        f"{report.source} digits: max |diff| {report.max_abs_diff:.2e}, "
        f"same top-1 on {report.agreement * 100:.2f}%"
    )
    return 0


def cmd_samples(args) -> int:
    from mnist_desk.core.data import load_mnist
    from mnist_desk.core.gallery import samples_grid

    data = load_mnist(args.data, train_subset=args.count)
    image = samples_grid(data.train, augment=args.augment, seed=args.seed)
    image.save(args.out)
    print(f"Wrote {len(data.train)} training digits to {args.out}")
    return 0
