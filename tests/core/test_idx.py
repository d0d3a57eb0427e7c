"""The idx reader (the bundle's path) against torchvision (the pip install's), on the same files."""

import builtins
import shutil
import struct

import numpy as np
import pytest
import torch

from mnist_desk.core.data import load_mnist
from mnist_desk.core.idx import IdxFormatError, read_idx, read_mnist_split


@pytest.mark.parametrize("train", [False, True], ids=["test", "train"])
def test_both_readers_give_the_same_tensors(mnist_root, train):
    from torchvision.datasets import MNIST

    reference = MNIST(str(mnist_root), train=train, download=False)
    images, labels = read_mnist_split(mnist_root / "MNIST" / "raw", train)
    assert images.dtype == reference.data.dtype == torch.uint8
    assert labels.dtype == torch.int64
    assert torch.equal(images, reference.data)
    assert torch.equal(labels, reference.targets.long())


@pytest.fixture
def without_torchvision(monkeypatch):
    """Imports of torchvision fail, as in the bundle."""
    real_import = builtins.__import__

    def guarded(name, *args, **kwargs):
        if name == "torchvision" or name.startswith("torchvision."):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", guarded)


def test_without_torchvision_load_mnist_reads_the_idx_files(mnist_root, without_torchvision):
    loaded = load_mnist(mnist_root, val_split=0.1, seed=3, train_subset=2000, download=False)
    raw = mnist_root / "MNIST" / "raw"
    first = read_idx(raw / "t10k-images-idx3-ubyte")
    assert torch.equal(loaded.test.images, first)
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (2000, 6000, 10000)


def _write_idx(path, values: np.ndarray, code: int) -> None:
    header = bytes([0, 0, code, values.ndim]) + struct.pack(f">{values.ndim}I", *values.shape)
    path.write_bytes(header + values.astype(values.dtype.newbyteorder(">")).tobytes())


def test_other_value_types_come_back_in_native_order(tmp_path):
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4) * 1000
    _write_idx(tmp_path / "a.idx", values, 0x0C)
    assert torch.equal(read_idx(tmp_path / "a.idx"), torch.from_numpy(values))
    floats = np.linspace(-1, 1, 5, dtype=np.float32)
    _write_idx(tmp_path / "b.idx", floats, 0x0D)
    assert torch.equal(read_idx(tmp_path / "b.idx"), torch.from_numpy(floats))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04" + bytes(20), "is not an idx file"),
        (b"\x00\x00\x08\x03\x00\x00", "ends inside its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "has 11 bytes instead of 13"),
    ],
    ids=["zip", "short header", "short data"],
)
def test_broken_files_are_named_with_what_is_wrong(tmp_path, content, message):
    (tmp_path / "x-ubyte").write_bytes(content)
    with pytest.raises(IdxFormatError, match=message) as error:
        read_idx(tmp_path / "x-ubyte")
    assert "x-ubyte" in str(error.value)


def test_images_and_labels_that_do_not_pair_up_are_refused(tmp_path, mnist_root):
    raw = mnist_root / "MNIST" / "raw"
    shutil.copy(raw / "t10k-images-idx3-ubyte", tmp_path / "t10k-images-idx3-ubyte")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(7, dtype=np.uint8), 0x08)
    with pytest.raises(IdxFormatError, match="do not pair up"):
        read_mnist_split(tmp_path, train=False)
