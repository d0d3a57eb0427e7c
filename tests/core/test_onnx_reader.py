"""The live pad reads through onnxruntime: same answers as PyTorch, and PyTorch when it can't."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from mnist_desk.core import onnx_reader
from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict
from mnist_desk.core.handwriting import STYLES, our_digit
from mnist_desk.core.inspect import probabilities_and_features
from mnist_desk.core.models import MODELS, build_model
from mnist_desk.core.predict import Predictor
from mnist_desk.core.preprocess import strokes_to_mnist

pytest.importorskip("onnxruntime")


def predictor_of(name: str) -> Predictor:
    torch.manual_seed(3)
    return Predictor(Checkpoint(name, clean_state_dict(build_model(name))))


@pytest.fixture(scope="module")
def drawings() -> np.ndarray:
    return np.stack(
        [strokes_to_mnist(*our_digit(d, s)) for d in range(10) for s in list(STYLES)[:2]]
    )


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_reads_the_same_through_onnxruntime(name, drawings):
    torch_only, fast = predictor_of(name), predictor_of(name)
    assert fast.use_onnxruntime(), "the registry's models all export"
    np.testing.assert_allclose(
        fast.all_probabilities(drawings), torch_only.all_probabilities(drawings), atol=2e-5
    )
    one = drawings[3]
    np.testing.assert_allclose(
        fast.all_probabilities(one), torch_only.all_probabilities(one), atol=2e-5
    )
    probs, features = probabilities_and_features(fast, one)
    want_probs, want_features = probabilities_and_features(torch_only, one)
    np.testing.assert_allclose(probs, want_probs, atol=2e-5)
    np.testing.assert_allclose(features, want_features, atol=2e-5)
    assert features.dtype == np.float32 and abs(np.linalg.norm(features) - 1) < 1e-5


def test_shipped_model_keeps_its_calibration_and_not_a_digit_class(shipped_checkpoint, drawings):
    torch_only = Predictor.from_path(shipped_checkpoint)
    fast = Predictor.from_path(shipped_checkpoint)
    assert fast.use_onnxruntime() and torch_only.calibration
    got, want = fast.all_probabilities(drawings), torch_only.all_probabilities(drawings)
    assert got.shape == (len(drawings), 11) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-5)
    assert (got.argmax(1) == want.argmax(1)).all()


def test_without_onnxruntime_pytorch_answers(monkeypatch, drawings):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    predictor = predictor_of("cnn")
    assert not predictor.use_onnxruntime() and predictor.onnx is None
    assert predictor.all_probabilities(drawings).shape == (len(drawings), 10)


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv(onnx_reader.SWITCH, "0")
    assert not predictor_of("lenet5").use_onnxruntime()


def test_an_export_that_fails_leaves_pytorch(monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("exporter removed")

    monkeypatch.setattr(torch.onnx, "export", broken)
    assert not predictor_of("mlp").use_onnxruntime()


def test_a_session_that_disagrees_with_pytorch_is_not_used(monkeypatch):
    real_run = onnx_reader.OnnxReader.run

    def off_by_one(self, images):
        logits, features = real_run(self, images)
        return logits + 1.0, features

    monkeypatch.setattr(onnx_reader.OnnxReader, "run", off_by_one)
    assert not predictor_of("cnn").use_onnxruntime()


def test_the_callers_model_is_left_as_it_was():
    predictor = predictor_of("desknet")
    before = {k: v.clone() for k, v in predictor.model.state_dict().items()}
    predictor.use_onnxruntime()
    assert not predictor.model.training
    assert not predictor.model._forward_pre_hooks and all(
        not m._forward_pre_hooks for m in predictor.model.modules()
    )
    for key, value in predictor.model.state_dict().items():
        assert torch.equal(value, before[key])
