"""The live pad reads through onnxruntime: same answers as PyTorch, and PyTorch when it can't."""

from __future__ import annotations

import sys
import threading
import warnings

import numpy as np
import pytest
import torch

from mnist_desk.core import onnx_reader
from mnist_desk.core.checkpoint import Checkpoint, clean_state_dict
from mnist_desk.core.handwriting import STYLES, our_digit
from mnist_desk.core.inspect import (
    FEATURE_DIM_CAP,
    batch_features,
    penultimate_features,
    probabilities_and_features,
)
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


# ----- hostile input, threads, memory (review of the onnxruntime path) -------------------
def shipped_pair(shipped_checkpoint) -> tuple[Predictor, Predictor]:
    torch_only = Predictor.from_path(shipped_checkpoint)
    fast = Predictor.from_path(shipped_checkpoint)
    assert fast.use_onnxruntime()
    return torch_only, fast


def test_odd_batches_give_what_pytorch_gives(shipped_checkpoint, drawings):
    torch_only, fast = shipped_pair(shipped_checkpoint)
    nan_pixel = drawings[:2].copy()
    nan_pixel[0, 5, 5] = np.nan
    odd = {
        "one as (1, 28, 28)": drawings[:1],
        "no drawings": drawings[:0],
        "transposed view": drawings[:4].transpose(0, 2, 1),
        "float64": drawings[:4].astype(np.float64),
        "0-255 values": drawings[:4] * 255,
        "a list of images": list(drawings[:3]),
        "a NaN pixel": nan_pixel,
    }
    for what, images in odd.items():
        want, got = torch_only.all_probabilities(images), fast.all_probabilities(images)
        assert (got.shape, got.dtype) == (want.shape, want.dtype), what
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=what)


def test_one_predictor_read_from_two_threads_at_once(shipped_checkpoint, drawings):
    torch_only, fast = shipped_pair(shipped_checkpoint)
    want = torch_only.all_probabilities(drawings)
    wrong: list[int] = []

    def read(offset: int) -> None:
        for i in range(40):
            k = (i + offset) % len(drawings)
            if np.abs(fast.all_probabilities(drawings[k]) - want[k]).max() > 1e-5:
                wrong.append(k)
            probs, _ = probabilities_and_features(fast, drawings[k])
            if np.abs(probs - want[k]).max() > 1e-5:
                wrong.append(k)

    threads = [threading.Thread(target=read, args=(offset,)) for offset in (0, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_models_exported_in_two_threads_at_once_both_read_through_onnxruntime():
    """The TorchScript exporter's module-level state: without a lock most of these failed
    and fell back to PyTorch without a word."""
    got: list[bool] = []

    def load(name: str) -> None:
        for _ in range(3):
            got.append(predictor_of(name).use_onnxruntime())

    threads = [threading.Thread(target=load, args=(name,)) for name in ("mlp", "lenet5", "cnn")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == [True] * 9


def test_exporting_beside_another_threads_catch_warnings(monkeypatch, recwarn):
    """A job thread loads a checkpoint (its own ``catch_warnings``) while a model exports:
    the exporter's notices stay hidden and no "ignore everything" filter stays behind."""
    predictor_of("mlp").use_onnxruntime()  # the app has exported once by then
    entered, leave = threading.Event(), threading.Event()

    def job_thread() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            entered.set()
            leave.wait(10)

    other = threading.Thread(target=job_thread)
    other.start()
    entered.wait(10)
    real_export = torch.onnx.export

    def export_while_the_other_leaves(*args, **kwargs):
        leave.set()
        other.join(10)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", export_while_the_other_leaves)
    assert predictor_of("lenet5").use_onnxruntime()
    warnings.warn("still heard", UserWarning, stacklevel=1)
    assert [str(w.message) for w in recwarn] == ["still heard"]


def test_no_deprecation_notice_reaches_the_output():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as `python -W error` or a strict test run
        assert predictor_of("cnn").use_onnxruntime()


class _BatchOfThree(torch.nn.Module):
    """Reshapes by ``len(x)``, which the tracer records as the probe's batch size."""

    def __init__(self) -> None:
        super().__init__()
        self.out = torch.nn.Linear(28 * 28, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x.reshape(len(x), -1))


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_a_graph_that_kept_the_probe_batch_size_is_not_used():
    """It agreed on the three probe images, then failed on every single drawing."""
    assert onnx_reader.build_reader(_BatchOfThree().eval(), 0.1307, 0.3081) is None


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_big_batch_leaves_no_buffers_behind(shipped_checkpoint):
    """My digits classifies all of a person's digits at once; onnxruntime's memory arena
    kept such a batch's buffers for good (about 250 MB for 600 drawings, per session)."""
    _, fast = shipped_pair(shipped_checkpoint)
    fast.all_probabilities(np.zeros((28, 28), np.float32))
    before = _rss_mib()
    fast.all_probabilities(np.random.default_rng(0).random((600, 28, 28), dtype=np.float32))
    assert _rss_mib() - before < 100


def test_features_of_no_drawings_are_an_empty_table(shipped_checkpoint):
    predictor = Predictor.from_path(shipped_checkpoint)
    assert penultimate_features(np.zeros((0, 128), np.float32)).shape == (0, 128)
    assert penultimate_features(torch.zeros(0, 1000)).shape == (0, FEATURE_DIM_CAP)
    assert batch_features(predictor, np.zeros((0, 28, 28), np.float32)).shape[0] == 0


def test_a_model_that_cannot_be_exported_is_tried_once(monkeypatch):
    calls = []

    def refuse(*_args):
        calls.append(1)

    monkeypatch.setattr(onnx_reader, "build_reader", refuse)
    predictor = predictor_of("cnn")
    assert not predictor.use_onnxruntime() and not predictor.use_onnxruntime()
    assert calls == [1]


def test_an_image_of_another_size_is_read_by_pytorch(drawings):
    """The session is exported for 28×28; desknet itself reads any size (it pools globally)."""
    torch_only, fast = predictor_of("desknet"), predictor_of("desknet")
    assert fast.use_onnxruntime()
    small = drawings[:2, 4:24, 4:24]
    np.testing.assert_allclose(
        fast.all_probabilities(small), torch_only.all_probabilities(small), atol=1e-6
    )
