"""Hostile inputs found by probing the CLI by hand; each test failed before its fix.

The probes that already behaved (FIFOs, folders, /dev/zero, truncated or NaN checkpoints,
decompression bombs, bad numbers) are covered by test_cli_faults.py and test_robustness.py.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from mnist_desk.cli import main
from mnist_desk.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    clean_state_dict,
    load_checkpoint,
    save_checkpoint,
)
from mnist_desk.core.data import DataError, load_mnist
from mnist_desk.core.models import build_model


def _model(path, num_classes=11, **payload_changes):
    """A small untrained desknet checkpoint, its payload optionally changed."""
    args = {"width": 4, "num_classes": num_classes}
    checkpoint = Checkpoint("desknet", clean_state_dict(build_model("desknet", **args)), args)
    save_checkpoint(checkpoint, path)
    if payload_changes:
        payload = torch.load(path, weights_only=True)
        payload.update(payload_changes)
        torch.save(payload, path)
    return str(path)


def _digit_png(path):
    image = np.zeros((60, 60), np.uint8)
    image[10:50, 27:33] = 255
    Image.fromarray(image).save(path)
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_a_text_file_named_pt_is_called_not_a_pytorch_file(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello, this is text\n")
    with pytest.raises(CheckpointError, match="it is not a PyTorch file"):
        load_checkpoint(path)


def test_a_plain_pickle_is_refused_without_torch_warnings(tmp_path):
    path = tmp_path / "pickled.pt"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}, protocol=4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(CheckpointError, match="not a PyTorch file"):
            load_checkpoint(path)
    assert [str(w.message) for w in caught] == []


def test_ten_class_weights_for_an_eleven_class_model_name_the_misfit(tmp_path):
    ten = clean_state_dict(build_model("desknet", width=4, num_classes=10))
    path = _model(tmp_path / "ten.pt", state_dict=ten)
    with pytest.raises(CheckpointError, match=r"classifier\.1\.weight has shape \[10, "):
        load_checkpoint(path)


def test_weights_of_another_architecture_are_named_as_such(tmp_path, capsys):
    path = _model(tmp_path / "other.pt", model="cnn", model_args={})
    assert main(["predict", str(_digit_png(tmp_path / "d.png")), "-m", path]) == 2
    line = _one_error_line(capsys)
    assert "another architecture" in line and "missing" in line


def test_a_file_name_that_is_not_utf8_prints_on_a_strict_utf8_stdout(tmp_path, monkeypatch):
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff name.png")
    _digit_png(name)
    model = _model(tmp_path / "m.pt")
    raw = io.BytesIO()
    strict = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", strict)
    assert main(["predict", name, "-m", model]) == 0
    strict.flush()
    assert b"bad\\udcff name.png: " in raw.getvalue()


def test_a_runaway_epoch_count_is_refused(tmp_path, capsys):
    code = main(["train", "--epochs", str(10**12), "--out", str(tmp_path / "run")])
    assert code == 2
    assert "epochs must be at most 10,000" in _one_error_line(capsys)
    assert not (tmp_path / "run").exists()


def test_an_image_given_as_extra_digits_is_not_called_a_pickle(tmp_path, mnist_root, capsys):
    png = _digit_png(tmp_path / "extra.png")
    out = tmp_path / "run"
    args = ["train", "--extra-train", str(png), "--data", str(mnist_root), "--out", str(out)]
    code = main([*args, "--train-subset", "50", "--test-subset", "20", "--device", "cpu"])
    assert code == 2
    line = _one_error_line(capsys)
    assert "not a NumPy file" in line and "pickle" not in line


def _test_files_only(tmp_path, mnist_root):
    raw = tmp_path / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / name).symlink_to(mnist_root / "MNIST" / "raw" / name)
    return tmp_path / "data"


def test_evaluation_needs_only_the_test_files(tmp_path, mnist_root):
    data = load_mnist(_test_files_only(tmp_path, mnist_root), test_subset=10, train=False)
    assert len(data.test) == 10


def test_training_still_names_the_missing_training_files(tmp_path, mnist_root):
    with pytest.raises(DataError, match="train-images-idx3-ubyte is missing"):
        load_mnist(_test_files_only(tmp_path, mnist_root), train_subset=10)


def test_a_data_path_that_is_a_file_is_said_once(tmp_path):
    plain = tmp_path / "mnist.zip"
    plain.write_bytes(b"PK")
    with pytest.raises(DataError) as caught:
        load_mnist(plain, download=False, train=False)
    assert str(caught.value).count("is a file, not a folder") == 1
    assert "cannot be read" not in str(caught.value)


def test_a_folder_in_place_of_an_idx_file_is_named(tmp_path, mnist_root):
    data = _test_files_only(tmp_path, mnist_root)
    labels = data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.unlink()
    labels.mkdir()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte is not a regular file"):
        load_mnist(data, download=False, train=False)


def test_samples_into_a_folder_named_like_an_image_is_refused_before_loading(
    tmp_path, monkeypatch, capsys
):
    from mnist_desk.core import data

    def no_loading(*_args, **_kwargs):
        raise AssertionError("the data was loaded before the output was checked")

    monkeypatch.setattr(data, "load_mnist", no_loading)
    (tmp_path / "grid.png").mkdir()
    assert main(["samples", "--out", str(tmp_path / "grid.png")]) == 2
    assert "it is a folder" in _one_error_line(capsys)


def _resumable_run(tmp_path, mnist_root):
    out = tmp_path / "run"
    args = ["--arch", "cnn", "--epochs", "1", "--train-subset", "64", "--test-subset", "32"]
    assert main(["train", *args, "--data", str(mnist_root), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    "damage, phrase",
    [
        (lambda state: state.update(epoch="abc"), "epoch 'abc' is not a finished epoch count"),
        (lambda state: state.update(epoch=-5), "epoch -5 is not"),
        (lambda state: state.update(history=[1, 2]), "history is not a list"),
        (lambda state: state.update(best_score="x"), "best score 'x' is not a number"),
        (lambda state: state.update(rng={"torch": "x"}), "damaged resume state"),
        (lambda state: state["optimizer"].update(param_groups=[]), "damaged resume state"),
    ],
    ids=["epoch-text", "epoch-negative", "history", "best-score", "rng", "optimizer"],
)
def test_a_damaged_resume_state_is_one_line(damage, phrase, tmp_path, mnist_root, capsys):
    out = _resumable_run(tmp_path, mnist_root)
    payload = torch.load(out / "last.pt", weights_only=True)
    damage(payload["resume"])
    torch.save(payload, out / "last.pt")
    capsys.readouterr()
    code = main(["train", "--resume", str(out), "--epochs", "2", "--data", str(mnist_root)])
    assert code == 2
    assert phrase in _one_error_line(capsys)


def test_a_resume_with_a_damaged_train_config_is_one_line(tmp_path, mnist_root, capsys):
    out = _resumable_run(tmp_path, mnist_root)
    payload = torch.load(out / "last.pt", weights_only=True)
    payload["train_config"] = [1]
    torch.save(payload, out / "last.pt")
    capsys.readouterr()
    code = main(["train", "--resume", str(out), "--epochs", "2", "--data", str(mnist_root)])
    assert code == 2
    _one_error_line(capsys)


def test_a_runs_table_that_is_a_pipe_does_not_block(tmp_path):
    import threading

    from mnist_desk.core.runs import RunsTable

    os.mkfifo(tmp_path / "runs.json")
    answers = []
    reader = threading.Thread(
        target=lambda: answers.append(RunsTable(tmp_path / "runs.json").load()), daemon=True
    )
    reader.start()
    reader.join(timeout=10)
    assert answers, "reading runs.json blocked on a pipe"
    assert answers[0][0] == [] and "not a regular file" in answers[0][1][0]


def test_a_damaged_runs_table_is_set_aside_not_overwritten(tmp_path):
    from mnist_desk.core.runs import RunRecord, RunsTable

    table = RunsTable(tmp_path / "runs.json")
    damaged = '[{"out": "/runs/a", "model": "cnn", "status": "finished"}, {"out": '
    table.path.write_text(damaged)
    table.upsert(RunRecord(str(tmp_path / "new"), "cnn"))
    records, problems = table.load()
    assert [r.out for r in records] == [str(tmp_path / "new")] and problems == []
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("runs.json.damaged")]
    assert len(kept) == 1 and kept[0].read_text() == damaged


def _in_thread(work, seconds=10):
    """``work()``'s answer, or a failure when it blocks (a pipe opened for reading)."""
    import threading

    answers = []
    thread = threading.Thread(target=lambda: answers.append(work()), daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert answers, "the read blocked"
    return answers[0]


def test_a_pipe_among_my_digits_is_skipped_not_waited_on(tmp_path):
    from mnist_desk.core.my_digits import MyDigitStore

    store = MyDigitStore(tmp_path / "my_digits")
    kept = store.add([[(10.0, 10.0), (10.0, 90.0)]], 8.0, 1)
    os.mkfifo(store.folder / "pipe.json")
    digits, problems = _in_thread(store.load)
    assert [d.id for d in digits] == [kept.id]
    assert problems == ["pipe.json (it is not a regular file)"]


DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_a_damaged_file_not_a_crash(tmp_path):
    from mnist_desk.core.my_digits import MyDigitStore
    from mnist_desk.core.runs import RunsTable, load_history

    store = MyDigitStore(tmp_path / "my_digits")
    store.folder.mkdir()
    (store.folder / "deep.json").write_text(DEEP)
    assert store.load() == ([], ["deep.json (it is nested too deeply to be read)"])
    (tmp_path / "runs.json").write_text(DEEP)
    assert RunsTable(tmp_path / "runs.json").load() == (
        [],
        ["runs.json is not valid JSON, so no runs are listed."],
    )
    (tmp_path / "history.json").write_text(DEEP)
    assert load_history(tmp_path) == []


def test_a_history_that_is_a_pipe_reads_as_none(tmp_path):
    from mnist_desk.core.runs import load_history

    os.mkfifo(tmp_path / "history.json")
    assert _in_thread(lambda: load_history(tmp_path)) == []


def test_an_image_too_large_to_open_says_how_large(tmp_path, monkeypatch):
    from mnist_desk.core.preprocess import ImageError, load_image_as_mnist

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # a 50×50 image plays the bomb
    path = _digit_png(tmp_path / "huge.png")
    with pytest.raises(ImageError, match=r"3,600 pixels; images up to 2,000 pixels are read"):
        load_image_as_mnist(path)


def _strip(path, length):
    """A white strip three pixels high with one thin dark line along it."""
    strip = np.full((3, length), 255, np.uint8)
    strip[1, length // 20 : length - length // 20] = 0
    Image.fromarray(strip).save(path)
    return path


@pytest.mark.parametrize("length", [20_000, 6_000_000])  # the second is shrunk, to 3 rows
def test_a_thin_line_in_a_long_strip_is_read_as_a_line_not_blank(tmp_path, length):
    from mnist_desk.core.preprocess import load_image_as_mnist

    image = load_image_as_mnist(_strip(tmp_path / "strip.png", length))
    inked_rows = np.flatnonzero(image.max(axis=1) > 0.5)
    assert len(inked_rows) == 1 and (image[inked_rows[0]] > 0.5).sum() == 20  # 20 px across


def test_a_vertical_line_strip_is_read_as_a_one_in_predict(tmp_path, capsys):
    path = tmp_path / "tall.png"
    Image.open(_strip(tmp_path / "wide.png", 20_000)).transpose(Image.Transpose.TRANSPOSE).save(
        path
    )
    assert main(["predict", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: 1 (")
