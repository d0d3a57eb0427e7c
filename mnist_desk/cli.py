"""Command line: ``mnist-desk [gui|train|eval|predict|export|samples]``.

Heavy imports (torch, Qt) happen inside the sub-commands so ``--help`` and the GUI start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path

from mnist_desk import __version__
from mnist_desk.core.errors import UserError  # printed as one line, exit 2, no traceback

EXIT_USER_ERROR = 2
MAX_SAMPLES = 1024  # a 16-wide grid of 64 rows; more is no longer a picture one can read


class _Parser(argparse.ArgumentParser):
    """A bad option is one line (what is wrong, where to look), not usage plus an error."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _count(low: int, high: int | None = None):
    """argparse type: a whole number within bounds, refused with one line otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low:,} and {high:,}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value:,} is out of range: use {bounds}")
        return value

    return parse


def _add_data_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        help="MNIST root (torchvision layout); default: $MNIST_DESK_DATA, else the user cache",
    )


def _add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", "-m", help="checkpoint file (default: the shipped model in resources/)"
    )


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


def _field_kind(type_text: str) -> str:
    """The option kind of a ``TrainConfig`` field from its annotation ("int | None" → int)."""
    for kind in ("bool", "int", "float", "str", "dict"):
        if type_text.split(" | ")[0].startswith(kind):
            return kind
    raise TypeError(f"TrainConfig has a field of unsupported type {type_text!r}")


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One option per ``TrainConfig`` field, described by the field's metadata.

    Defaults are suppressed, so ``args`` holds only what was typed: the config's own defaults
    apply, and ``--resume`` can tell which settings someone tried to change.
    """
    from dataclasses import MISSING, fields

    from mnist_desk.core.config import TrainConfig

    for f in fields(TrainConfig):
        meta = f.metadata
        flag = _train_flag(f.name)
        default = f.default if f.default is not MISSING else None
        kind = _field_kind(str(f.type))
        options: dict = {"dest": f.name, "default": argparse.SUPPRESS, "help": meta.get("help")}
        if kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif kind == "dict":
            options.update(action="append", type=_key_value, metavar="KEY=VALUE")
        else:
            options["type"] = {"int": int, "float": float, "str": str}[kind]
            if "choices" in meta:
                options["choices"] = meta["choices"]
            if "metavar" in meta:
                options["metavar"] = meta["metavar"]
            if default is not None and "default:" not in (options["help"] or ""):
                options["help"] = f"{options['help']} (default: {default})"
        parser.add_argument(flag, **options)


def train_config_values(args: argparse.Namespace) -> dict:
    """The ``TrainConfig`` fields given on the command line (``--tag``s as one dict)."""
    from dataclasses import fields

    from mnist_desk.core.config import TrainConfig

    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    if "tags" in values:
        values["tags"] = dict(values["tags"])
    return values


def build_parser() -> argparse.ArgumentParser:
    from mnist_desk.core.config import DEVICES

    parser = _Parser(prog="mnist-desk", description="Draw digits, train and inspect MNIST models.")
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

    train = sub.add_parser("train", help="train a model into a run folder (best.pt, last.pt)")
    train.add_argument("--list-models", action="store_true", help="list the models and exit")
    train.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR where it stopped (its own settings; --epochs may "
        "raise the epoch count, --device and --data say where to run it now)",
    )
    add_train_options(train)

    ev = sub.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix")
    _add_model_option(ev)
    _add_data_option(ev)
    ev.add_argument("--mistakes", metavar="DIR", help="write a grid image of misclassified digits")
    ev.add_argument("--device", choices=DEVICES, default="auto")
    ev.add_argument(
        "--subset",
        "--test-subset",
        dest="subset",
        type=_count(1),
        metavar="N",
        help="evaluate on the first N test digits only",
    )
    ev.add_argument("--json", action="store_true", help="print the results as JSON")

    pr = sub.add_parser("predict", help="top-k predictions for image files")
    pr.add_argument("images", nargs="+", help="image files (any size, dark or light background)")
    _add_model_option(pr)
    pr.add_argument("-k", "--top-k", type=_count(1, 10), default=3)
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
    sa.add_argument(
        "--count", type=_count(1, MAX_SAMPLES), default=64, help=f"1 to {MAX_SAMPLES} digits"
    )
    sa.add_argument("--augment", action="store_true", help="show augmented versions")
    sa.add_argument("--seed", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    _printable_stdout()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
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
        if exc.name is None or exc.name.split(".")[0] == "mnist_desk":
            raise  # a broken import inside our own code is a bug
        print(
            f"mnist-desk {command}: this needs the Python package {exc.name!r}, which this "
            "installation lacks; install mnist-desk with pip for the full toolset.",
            file=sys.stderr,
        )
        return EXIT_USER_ERROR
    except UserError as exc:  # person-fixable: one line, no traceback; anything else is a bug
        print(f"mnist-desk {command}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR


def _printable_stdout() -> None:
    """A file name that is not valid UTF-8 prints escaped (as on stderr) instead of crashing.

    Python decodes such names with lone surrogates, which a strict UTF-8 stdout refuses.
    """
    stream = sys.stdout
    if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="backslashreplace")


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _checkpoint_path(args) -> Path:
    from mnist_desk.paths import default_checkpoint_path

    return Path(args.model) if args.model else default_checkpoint_path()


RESUME_CHANGES = ("epochs", "device", "data")


def _train_flag(name: str) -> str:
    from dataclasses import fields

    from mnist_desk.core.config import TrainConfig

    meta = next(f.metadata for f in fields(TrainConfig) if f.name == name)
    return meta.get("flag", "--" + name.replace("_", "-"))


def _train_config(args):
    """The run's settings: typed options over the defaults, or the resumed run's own."""
    from mnist_desk.core.config import TrainConfig
    from mnist_desk.core.models import MODELS
    from mnist_desk.core.runs import holds_run, new_run_dir
    from mnist_desk.core.train import resume_config

    values = train_config_values(args)
    if args.resume:
        extra = sorted(set(values) - set(RESUME_CHANGES))
        if extra:
            flags = ", ".join(_train_flag(name) for name in extra)
            raise UserError(
                f"--resume continues a run with its saved settings, so {flags} cannot be "
                "given with it (only --epochs, --device and --data)."
            )
        if not Path(args.resume).is_dir():
            raise UserError(f"{args.resume} is not a run folder.")
        return resume_config(args.resume, **values)
    model = values.get("model", TrainConfig.model)
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; known: {', '.join(MODELS)}")
    config = TrainConfig(**values)  # validates before any folder is made
    if "out" not in values:
        return TrainConfig(**dict(values, out=str(new_run_dir("runs", model))))
    if holds_run(Path(config.out)):
        raise UserError(
            f"{config.out} already holds a training run; continue it with --resume "
            f"{config.out} or choose another --out."
        )
    return config


def cmd_train(args) -> int:
    from tqdm import tqdm

    from mnist_desk.core.models import MODELS, count_parameters
    from mnist_desk.core.runs import default_runs_table
    from mnist_desk.core.train import fit

    if args.list_models:
        for spec in MODELS.values():
            print(f"{spec.name:12s} {count_parameters(spec.build()):>9,d} params  {spec.summary}")
        return 0
    config = _train_config(args)
    from mnist_desk.core.files import check_folder_writable

    check_folder_writable(config.out)
    bar = None

    def on_progress(event) -> None:
        nonlocal bar
        if event.kind == "start":
            if event.epoch:
                print(
                    f"Resuming {config.model} in {config.out} on {event.message} after epoch "
                    f"{event.epoch} of {config.epochs}"
                )
            else:
                print(
                    f"Training {config.model} on {event.message} for {config.epochs} epochs "
                    f"into {config.out}"
                )
        elif event.kind == "batch":
            if bar is None:
                bar = tqdm(  # disable=None: no bar when stderr is not a terminal (logs)
                    total=event.batches, desc=f"epoch {event.epoch}/{event.epochs}", disable=None
                )
            bar.update(1)
            if event.batch % 20 == 0 and event.loss_batch:
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

    try:
        result = fit(
            config,
            on_progress=on_progress,
            resume=bool(args.resume),
            runs_table=default_runs_table(),
        )
    except BaseException:
        if not args.resume and not hasattr(args, "out"):
            with contextlib.suppress(OSError):
                Path(config.out).rmdir()  # the fresh folder made for this run, if still empty
        raise
    finally:
        if bar is not None:
            bar.close()  # so an error message starts on a line of its own
    if result.runs_table_problem:  # the run itself is fine: a warning, not a failure
        print(f"mnist-desk train: warning: {result.runs_table_problem}", file=sys.stderr)
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

    from mnist_desk.core.evaluation import evaluate_checkpoint
    from mnist_desk.core.files import check_folder_writable

    if args.mistakes:
        check_folder_writable(args.mistakes)
    bar = None

    def on_progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:  # only once the data and model are known good: errors stay one line
            bar = tqdm(desc="evaluating", unit="batch", total=total)
        bar.update(1)

    try:
        outcome = evaluate_checkpoint(
            _checkpoint_path(args),
            args.data,
            args.subset,
            on_progress=on_progress,
            device=args.device,
        )
    finally:
        if bar is not None:
            bar.close()
    result, about = outcome["result"], outcome["checkpoint"]
    matrix = result.confusion_matrix()
    per_class = result.per_class_accuracy()
    if args.json:
        print(
            json.dumps(
                {
                    "checkpoint": about["path"],
                    "model": about["name"],
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
        print(f"{about['name']} ({about['path']})")
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
        import torch

        from mnist_desk.core.files import save_image
        from mnist_desk.core.gallery import mistakes_grid

        image = mistakes_grid(torch.from_numpy(outcome["images"]), result)
        target = save_image(image, Path(args.mistakes) / "mistakes.png")
        print(f"Wrote {len(result.mistakes())} misclassified digits to {target}")
    return 0


def cmd_predict(args) -> int:
    from mnist_desk.core.files import check_folder_writable
    from mnist_desk.core.predict import Predictor, reading_state, top_k_of
    from mnist_desk.core.preprocess import check_image_file, load_image_as_mnist

    for name in args.images:  # a typo or a pipe is refused before the model is loaded
        check_image_file(name)
    if args.save_28:
        check_folder_writable(args.save_28)
    predictor = Predictor.from_path(_checkpoint_path(args))
    if args.number:
        return _predict_numbers(args, predictor, max(1, min(10, args.top_k)))
    rows, failed = [], []
    for name in args.images:
        try:
            image28 = load_image_as_mnist(name)
        except UserError as exc:  # one blank or broken image must not cost the others' answers
            failed.append(_report_failed(name, exc))
            continue
        probs = predictor.all_probabilities(image28)
        not_digit = float(predictor.not_digit_probability(probs))
        top = top_k_of(probs[:10], args.top_k)
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

            from mnist_desk.core.files import save_image
            from mnist_desk.core.preprocess import to_uint8

            save_image(
                Image.fromarray(to_uint8(image28)), Path(args.save_28) / f"{Path(name).stem}_28.png"
            )
    if args.json:
        print(json.dumps(rows + failed, indent=2))
    else:
        for row in rows:
            ranked = ", ".join(f"{t['digit']} ({t['p'] * 100:.1f}%)" for t in row["top_k"])
            verdict = {"not-a-digit": "not a digit? ", "not-sure": "not sure: "}.get(
                row["state"], ""
            )
            print(f"{row['image']}: {verdict}{ranked}")
    return EXIT_USER_ERROR if failed else 0


def _report_failed(name: str, exc: Exception) -> dict:
    """One line on stderr for an image that could not be read; its JSON row says why too."""
    print(f"mnist-desk predict: {_one_line(exc)}", file=sys.stderr)
    return {"image": name, "error": _one_line(exc)}


def _predict_numbers(args, predictor, k: int) -> int:
    from mnist_desk.core.grouping import load_number_image

    rows, failed = [], []
    for name in args.images:
        try:
            reading = load_number_image(name, predictor, k)
        except UserError as exc:
            failed.append(_report_failed(name, exc))
            continue
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
        print(json.dumps(out + failed, indent=2))
        return EXIT_USER_ERROR if failed else 0
    for row in rows:
        print(f"{row['image']}: {row['number']}")
        for d in row["digits"]:
            mark = " (not a digit?)" if d.not_a_digit else " (not sure)" if d.low_confidence else ""
            print(f"  {d.text}  {d.confidence * 100:.1f}%{mark}")
    return EXIT_USER_ERROR if failed else 0


def cmd_export(args) -> int:
    try:  # the `export` extra; the plain install and the bundle leave it out
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise UserError(
            f"needs the package {exc.name or 'onnx'!r}, which is not installed; "
            "add it with pip install 'mnist-desk[export]'"
        ) from None
    from mnist_desk.core.checkpoint import load_checkpoint
    from mnist_desk.core.export import check_onnx_target, export_onnx

    source = _checkpoint_path(args)
    check_onnx_target(args.onnx, source)  # before the slow part, and before anything is written
    report = export_onnx(load_checkpoint(source), args.onnx, data=args.data)
    print(
        f"Wrote {report.path} (one file, weights included); onnxruntime matches PyTorch on "
        f"{report.count} {report.source} digits: max |diff| {report.max_abs_diff:.2e}, "
        f"same top-1 on {report.agreement * 100:.2f}%"
    )
    if report.stale_data is not None:
        print(f"{report.stale_data} is left from an older export; the new file does not use it.")
    return 0


def cmd_samples(args) -> int:
    from mnist_desk.core.files import check_image_target, save_image

    out = Path(args.out)
    check_image_target(out)  # in milliseconds, before torchvision is even imported
    from mnist_desk.core.data import load_mnist
    from mnist_desk.core.gallery import samples_grid

    data = load_mnist(args.data, train_subset=args.count)
    image = samples_grid(data.train, augment=args.augment, seed=args.seed)
    save_image(image, out)
    print(f"Wrote {len(data.train)} training digits to {out}")
    return 0
