"""The command line end to end, on small subsets."""

import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from mnist_desk.cli import main
from mnist_desk.core.checkpoint import load_checkpoint
from mnist_desk.core.data import load_mnist
from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.preprocess import load_image_as_mnist, render_strokes, to_uint8


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, mnist_root):
    out = tmp_path_factory.mktemp("cli") / "run"
    capture = io.StringIO()
    with contextlib.redirect_stdout(capture):
        code = main(
            [
                "train",
                "--arch",
                "cnn",
                "--epochs",
                "1",
                "--train-subset",
                "1500",
                "--test-subset",
                "300",
                "--lr",
                "0.003",
                "--device",
                "cpu",
                "--data",
                str(mnist_root),
                "--out",
                str(out),
            ]
        )
    assert code == 0
    return out / "best.pt", capture.getvalue()


@pytest.fixture(scope="module")
def trained(trained_run):
    return trained_run[0]


def test_train_writes_a_checkpoint_and_says_so(trained_run):
    path, printed = trained_run
    checkpoint = load_checkpoint(path)
    metrics = checkpoint.metrics
    assert checkpoint.model_name == "cnn" and metrics["epoch"] == 1
    assert 0.5 < metrics["test_acc"] <= 1.0  # it learned something in one short epoch
    said = f"Best checkpoint: {path} (epoch 1, test acc {metrics['test_acc'] * 100:.2f}%"
    assert said in printed
    assert "Training cnn on cpu for 1 epochs" in printed
    history = json.loads((path.parent / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1] and history[0]["test_acc"] == metrics["test_acc"]


def test_list_models(capsys):
    assert main(["train", "--list-models"]) == 0
    text = capsys.readouterr().out
    assert "lenet5" in text and "desknet" in text


def test_eval_prints_accuracy_and_writes_mistakes(trained, mnist_root, tmp_path, capsys):
    code = main(
        [
            "eval",
            "--model",
            str(trained),
            "--data",
            str(mnist_root),
            "--test-subset",
            "500",
            "--json",
            "--mistakes",
            str(tmp_path),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    report = json.loads(out[: out.rindex("}") + 1])
    assert report["count"] == 500
    assert np.array(report["confusion_matrix"]).sum() == 500
    assert 0.5 < report["accuracy"] <= 1.0
    wrong = round(500 * (1 - report["accuracy"]))
    assert wrong == 500 - np.trace(np.array(report["confusion_matrix"]))
    assert f"Wrote {wrong} misclassified digits to {tmp_path / 'mistakes.png'}" in out
    grid = Image.open(tmp_path / "mistakes.png")
    assert grid.size[0] > 100 and np.asarray(grid.convert("L")).std() > 10  # digits, not blank


def test_eval_subset_prints_the_accuracy_line(trained, mnist_root, capsys):
    assert main(["eval", "--model", str(trained), "--data", str(mnist_root), "--subset", "50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"cnn ({trained})\n")
    line = next(t for t in out.splitlines() if t.startswith("Test accuracy: "))
    right = int(line.split("(")[1].split("/")[0])
    assert line.startswith(f"Test accuracy: {right / 50 * 100:.2f}% ({right}/50), loss ")


def _png_of(digit, path, light_background=False):
    strokes, pen = our_digit(digit, "plain")
    ink = np.pad(render_strokes(strokes, pen, longest_side_px=200), 40)
    array = (1 - ink) if light_background else ink
    Image.fromarray((array * 255).astype(np.uint8)).save(path)
    return path


def test_predict_reads_files_with_the_shipped_model(tmp_path, capsys, shipped_checkpoint):
    files = [str(_png_of(d, tmp_path / f"{d}.png", light_background=d % 2 == 0)) for d in range(10)]
    assert main(["predict", *files, "--json", "-k", "2", "--save-28", str(tmp_path / "s")]) == 0
    rows = json.loads(capsys.readouterr().out)
    predicted = [row["top_k"][0]["digit"] for row in rows]
    assert sum(p == d for d, p in enumerate(predicted)) >= 9
    assert all(len(row["top_k"]) == 2 for row in rows)
    saved = np.asarray(Image.open(tmp_path / "s" / "3_28.png"))
    assert saved.shape == (28, 28)
    np.testing.assert_array_equal(saved, to_uint8(load_image_as_mnist(files[3])))


def test_predict_prints_the_digit_it_read(tmp_path, capsys, shipped_checkpoint):
    seven = _png_of(7, tmp_path / "seven.png")
    assert main(["predict", str(seven), "-k", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{seven}: 7 (")


@pytest.mark.parametrize("number", [False, True])
def test_predict_answers_the_good_images_when_one_is_blank(
    tmp_path, capsys, shipped_checkpoint, number
):
    seven, three = _png_of(7, tmp_path / "seven.png"), _png_of(3, tmp_path / "three.png")
    Image.new("L", (60, 60), 255).save(tmp_path / "blank.png")
    files = [str(seven), str(tmp_path / "blank.png"), str(three)]
    assert main(["predict", *files, *(["--number"] if number else [])]) == 2
    out, err = capsys.readouterr()
    assert f"{seven}: 7" in out and f"{three}: 3" in out
    assert err.count("\n") == 1 and "blank.png" in err
    assert main(["predict", *files, "--json", *(["--number"] if number else [])]) == 2
    rows = json.loads(capsys.readouterr().out)
    assert [row["image"] for row in rows] == [files[0], files[2], files[1]]
    assert "error" in rows[2] and "error" not in rows[0]


def test_export_replaces_a_previous_export_and_matches_onnxruntime(
    trained, mnist_root, tmp_path, capsys
):
    target = tmp_path / "export" / "m.onnx"
    target.parent.mkdir()
    target.write_bytes(b"\x08\x0a an export made by an older version")  # ONNX's first bytes
    old_data = tmp_path / "export" / "m.onnx.data"
    old_data.write_bytes(b"its external weights")
    argv = ["export", "--model", str(trained), "--data", str(mnist_root), "--onnx", str(target)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"Wrote {target} (one file, weights included)" in out
    assert "same top-1 on 100.00%" in out and "512 MNIST test digits" in out
    assert f"{old_data} is left from an older export; the new file does not use it." in out
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.onnx", "m.onnx.data"]
    import onnxruntime as ort

    from mnist_desk.core.predict import Predictor

    predictor = Predictor.from_path(trained)
    digits = load_mnist(mnist_root, test_subset=20, download=False, train=False).test
    x = digits.images.numpy().astype(np.float32) / 255.0
    session = ort.InferenceSession(str(target), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"image": ((x - 0.1307) / 0.3081)[:, None]})[0]
    assert (logits.argmax(1) == predictor.probabilities(x).argmax(1)).all()


def test_samples_grid(mnist_root, tmp_path, capsys):
    out = tmp_path / "s.png"
    argv = ["samples", "--data", str(mnist_root), "--count", "32", "--out", str(out)]
    assert main(argv) == 0
    assert capsys.readouterr().out == f"Wrote 32 training digits to {out}\n"
    one_row = tmp_path / "one.png"
    assert main([*argv[:-3], "16", "--out", str(one_row)]) == 0
    (width, height), (width1, height1) = Image.open(out).size, Image.open(one_row).size
    assert width == width1 > 200 and height > 1.8 * height1  # 32 digits: two rows of 16


@pytest.mark.parametrize("content", [b"", b"junk" * 50])
def test_bad_checkpoint_is_one_line_and_exit_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(content)
    image = _png_of(1, tmp_path / "one.png")
    assert main(["predict", str(image), "--model", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mnist-desk predict: bad.pt") and err.count("\n") == 1


def test_bad_data_folder_is_one_line_and_exit_2(tmp_path, capsys, shipped_checkpoint):
    assert main(["eval", "--data", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "is missing" in err and "Traceback" not in err


def test_bad_image_is_one_line_and_exit_2(tmp_path, capsys, shipped_checkpoint):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["predict", str(text)]) == 2
    assert "not an image" in capsys.readouterr().err


def test_a_missing_optional_package_is_one_line(monkeypatch, tmp_path, capsys, shipped_checkpoint):
    import builtins

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'", name="onnxruntime")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    assert main(["export", "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert "'onnxruntime'" in capsys.readouterr().err
