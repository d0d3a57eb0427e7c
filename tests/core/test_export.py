"""ONNX export: never destroys what it was not asked to replace, never vouches for a NaN model."""

import numpy as np
import pytest

from mnist_desk.core.checkpoint import (
    Checkpoint,
    CheckpointError,
    clean_state_dict,
    save_checkpoint,
)
from mnist_desk.core.export import ExportError, _parity, check_onnx_target, export_onnx
from mnist_desk.core.files import OutputError
from mnist_desk.core.models import build_model


def _small(path=None):
    checkpoint = Checkpoint(
        "desknet", clean_state_dict(build_model("desknet", width=4)), model_args={"width": 4}
    )
    return save_checkpoint(checkpoint, path) if path else checkpoint


def test_a_nan_model_is_refused_before_anything_is_written(tmp_path):
    checkpoint = _small()
    checkpoint.state_dict["classifier.1.bias"][3] = float("nan")
    with pytest.raises(CheckpointError, match="non-finite weights"):
        export_onnx(checkpoint, tmp_path / "out" / "m.onnx")
    assert not (tmp_path / "out").exists()


def test_non_finite_outputs_never_count_as_agreeing():
    nan = np.full((4, 10), np.nan, np.float32)
    with pytest.raises(ExportError, match="not finite"):
        _parity(nan, nan)  # argmax of NaN rows agrees "100%"; that must not pass
    good = np.eye(4, 10, dtype=np.float32)
    with pytest.raises(ExportError, match="top-1 agreement 0.00%"):
        _parity(good, good[:, ::-1].copy())
    assert _parity(good, good + 1e-5) == (pytest.approx(1e-5, rel=0.01), 1.0)


def test_the_target_is_checked(tmp_path):
    model = _small(tmp_path / "m.pt")
    with pytest.raises(OutputError, match="ending in .onnx"):
        check_onnx_target(tmp_path / "m.pt", model)
    same = tmp_path / "model.onnx"
    same.write_bytes(model.read_bytes())
    with pytest.raises(OutputError, match="is the checkpoint being exported"):
        check_onnx_target(same, same)
    with pytest.raises(OutputError, match="is not an ONNX export"):
        check_onnx_target(same, model)  # a checkpoint under an .onnx name is kept too
    assert check_onnx_target(tmp_path / "new" / "x.onnx", model) == tmp_path / "new" / "x.onnx"
    previous = tmp_path / "old.onnx"
    previous.write_bytes(b"\x08\x0a an earlier export")  # ONNX's first bytes: may be replaced
    assert check_onnx_target(previous, model) == previous
