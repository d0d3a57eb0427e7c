import pytest
import torch

from mnist_desk.core import checkpoint as ckpt
from mnist_desk.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    clean_state_dict,
    load_checkpoint,
    save_checkpoint,
)
from mnist_desk.core.models import build_model


def _checkpoint(name="lenet5", acc=0.9):
    model = build_model(name)
    return Checkpoint(name, clean_state_dict(model), metrics={"test_acc": acc})


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    original = _checkpoint()
    path = save_checkpoint(original, tmp_path / "m.pt")
    loaded = load_checkpoint(path)
    assert loaded.model_name == "lenet5"
    assert loaded.metrics["test_acc"] == 0.9
    assert loaded.normalization == (0.1307, 0.3081)
    assert set(loaded.versions) == {"torch", "mnist-desk"}
    for key, value in original.state_dict.items():
        assert torch.equal(loaded.state_dict[key], value)
    raw = torch.load(path, weights_only=True)  # plain torch can read it safely too
    assert raw["format"] == ckpt.FORMAT_VERSION


def test_a_crash_while_saving_keeps_the_previous_file(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    path = save_checkpoint(_checkpoint(acc=0.5), folder / "best.pt")

    def crash(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(_checkpoint(acc=0.99), path)
    monkeypatch.undo()
    assert load_checkpoint(path).metrics["test_acc"] == 0.5
    assert [p.name for p in folder.iterdir()] == ["best.pt"]  # no temporary left behind


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x00\x01garbage" * 100, "not a readable"),
        (b"hello, I am a text file\n", "not a readable"),
    ],
)
def test_unreadable_files_give_one_sentence(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


def test_truncated_checkpoint(tmp_path):
    path = save_checkpoint(_checkpoint(), tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_missing_and_folder(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    with pytest.raises(CheckpointError, match="folder"):
        load_checkpoint(tmp_path)


def test_bare_state_dict_is_recognised(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(build_model("cnn").state_dict(), path)
    with pytest.raises(CheckpointError, match="bare state_dict"):
        load_checkpoint(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(build_model("mlp"), path)  # a whole pickled module, not weights
    with pytest.raises(CheckpointError, match="refused for safety|not a readable"):
        load_checkpoint(path)


def test_unknown_model_and_format(tmp_path):
    payload = _checkpoint().to_payload()
    payload["model"] = "transformer-xl"
    torch.save(payload, tmp_path / "a.pt")
    with pytest.raises(CheckpointError, match="transformer-xl"):
        load_checkpoint(tmp_path / "a.pt")
    payload = _checkpoint().to_payload()
    payload["format"] = 99
    torch.save(payload, tmp_path / "b.pt")
    with pytest.raises(CheckpointError, match="format 99"):
        load_checkpoint(tmp_path / "b.pt")


def test_weights_of_another_model_are_caught(tmp_path):
    payload = _checkpoint("lenet5").to_payload()
    payload["model"] = "cnn"  # claims to be a cnn, carries LeNet weights
    torch.save(payload, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match="do not fit model 'cnn'"):
        load_checkpoint(tmp_path / "wrong.pt")


def _desknet_payload(**model_args):
    model = build_model("desknet", width=4, num_classes=model_args.get("num_classes", 10))
    payload = Checkpoint("desknet", clean_state_dict(model), model_args={"width": 4}).to_payload()
    payload["model_args"].update(model_args)
    return payload


@pytest.mark.parametrize(
    "model_args, message",
    [
        ({"width": 2500}, r"width is 2500, outside 1\.\.256"),
        ({"width": 4.5}, "not a whole number"),
        ({"width": "wide"}, "not a number"),
        ({"dropout": 1e9}, "dropout is 1000000000.0, outside"),
        ({"dropout": float("nan")}, "dropout is nan"),
        ({"num_classes": 12}, "num_classes is 12"),
        ({"depth": 3}, "desknet has no argument 'depth'"),
    ],
)
def test_model_args_are_checked_before_building(tmp_path, monkeypatch, model_args, message):
    torch.save(_desknet_payload(**model_args), tmp_path / "m.pt")
    from mnist_desk.core import models

    built = []
    monkeypatch.setattr(models.DeskNet, "__init__", lambda *a, **k: built.append(k))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(tmp_path / "m.pt")
    assert built == []  # refused before a single layer was allocated


def test_arguments_for_a_model_without_any_are_refused(tmp_path):
    payload = _checkpoint("cnn").to_payload()
    payload["model_args"] = {"width": 8}
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="cnn has no argument 'width' .it takes none"):
        load_checkpoint(tmp_path / "m.pt")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_are_refused(tmp_path, bad):
    payload = _desknet_payload()
    key = "features.0.weight"
    payload["state_dict"][key] = payload["state_dict"][key].clone()
    payload["state_dict"][key][0, 0, 0, 0] = bad
    torch.save(payload, tmp_path / "nan.pt")
    with pytest.raises(CheckpointError, match=f"non-finite weights .NaN or infinity in {key}"):
        load_checkpoint(tmp_path / "nan.pt")


@pytest.mark.parametrize(
    "normalization",
    [[0.13, 0.0], [0.13, -0.3], [float("nan"), 0.3], [0.13, float("inf")], [0.1], "ab", None],
)
def test_unusable_normalization_is_refused(tmp_path, normalization):
    payload = _desknet_payload()
    payload["normalization"] = normalization
    torch.save(payload, tmp_path / "n.pt")
    with pytest.raises(CheckpointError, match="unusable normalization"):
        load_checkpoint(tmp_path / "n.pt")


def test_a_good_desknet_with_bounded_args_loads(tmp_path):
    payload = _desknet_payload(dropout=0.0, num_classes=10)
    torch.save(payload, tmp_path / "ok.pt")
    assert load_checkpoint(tmp_path / "ok.pt").model_args == {
        "width": 4,
        "dropout": 0.0,
        "num_classes": 10,
    }


def test_a_fifo_is_refused_at_once(tmp_path):
    import os

    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(fifo)


def test_no_space_left_while_saving_names_the_file(tmp_path, monkeypatch):
    import errno

    from mnist_desk.core import files
    from mnist_desk.core.errors import UserError

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(UserError, match=r"Could not write .*best\.pt: the disk is full\."):
        save_checkpoint(_checkpoint(), tmp_path / "run" / "best.pt")
    assert list((tmp_path / "run").iterdir()) == []  # no temporary left behind


@pytest.mark.parametrize("shift", [-1.0, float("nan"), float("inf"), 1e6, "2"])
def test_an_unusable_not_a_digit_shift_is_refused(tmp_path, shift):
    payload = _desknet_payload(num_classes=11)
    payload["calibration"] = {"temperature": 1.0, "not_a_digit_shift": shift}
    torch.save(payload, tmp_path / "s.pt")
    with pytest.raises(CheckpointError, match="not-a-digit shift"):
        load_checkpoint(tmp_path / "s.pt")


def test_the_predictor_applies_the_not_a_digit_shift(tmp_path):
    """The same weights with a large prior shift never answer "not a digit"."""
    import numpy as np

    from mnist_desk.core.predict import Predictor

    payload = _desknet_payload(num_classes=11)
    state = payload["state_dict"]
    state["classifier.1.bias"][10] = 50.0  # a model that calls everything "not a digit"
    torch.save(payload, tmp_path / "eager.pt")
    images = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    eager = Predictor(load_checkpoint(tmp_path / "eager.pt")).all_probabilities(images)
    assert (eager.argmax(1) == 10).all()
    payload["calibration"] = {"temperature": 1.0, "not_a_digit_shift": 20.0}
    state["classifier.1.bias"][10] = 15.0
    torch.save(payload, tmp_path / "shifted.pt")
    shifted = Predictor(load_checkpoint(tmp_path / "shifted.pt")).all_probabilities(images)
    assert (shifted.argmax(1) < 10).all()


def test_the_accuracy_text_names_the_measure(tmp_path):
    plain = _checkpoint(acc=0.875)
    plain.train_config = {"test_subset": 1000}
    assert plain.accuracy_text() == "MNIST test (1,000 digits) 87.50%"
    calibrated = _checkpoint(acc=0.9964)
    calibrated.calibration = {"temperature": 1.2}
    loaded = load_checkpoint(save_checkpoint(calibrated, tmp_path / "c.pt"))
    assert loaded.accuracy_text() == "MNIST test 99.64% (raw, before calibration)"
    assert loaded.summary()["accuracy_text"] == loaded.accuracy_text()
    assert _checkpoint(acc=float("nan")).accuracy_text() == ""
