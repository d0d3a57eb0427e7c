"""The command line end to end, on small subsets."""

import json

import numpy as np
import pytest
from PIL import Image

from mnist_desk.cli import main
from mnist_desk.core.handwriting import our_digit
from mnist_desk.core.preprocess import render_strokes


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_root):
    out = tmp_path_factory.mktemp("cli") / "run"
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
    return out / "best.pt"


def test_train_writes_a_checkpoint_and_says_so(trained, capsys):
    assert trained.exists()


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
    assert Image.open(tmp_path / "mistakes.png").size[0] > 100


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
    assert (tmp_path / "s" / "3_28.png").exists()


def test_export_matches_onnxruntime(trained, mnist_root, tmp_path, capsys):
    target = tmp_path / "m.onnx"
    assert (
        main(["export", "--model", str(trained), "--data", str(mnist_root), "--onnx", str(target)])
        == 0
    )
    assert "same top-1 on 100.00%" in capsys.readouterr().out
    assert target.stat().st_size > 1000


def test_samples_grid(mnist_root, tmp_path):
    assert (
        main(
            [
                "samples",
                "--data",
                str(mnist_root),
                "--count",
                "32",
                "--out",
                str(tmp_path / "s.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "s.png").size[0] > 200


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
