import shutil

import pytest
import torch

from mnist_desk.core.data import (
    DataError,
    augment_batch,
    iterate_batches,
    load_mnist,
    resolve_data_root,
)


def test_root_can_be_given_at_three_depths(mnist_root):
    assert resolve_data_root(mnist_root) == mnist_root
    assert resolve_data_root(mnist_root / "MNIST") == mnist_root
    assert resolve_data_root(mnist_root / "MNIST" / "raw") == mnist_root


def test_environment_variable_is_used(monkeypatch, mnist_root):
    monkeypatch.setenv("MNIST_DESK_DATA", str(mnist_root))
    assert resolve_data_root(None) == mnist_root


def test_full_sets_and_a_seeded_validation_split(mnist_root):
    a = load_mnist(mnist_root, val_split=0.1, seed=3, download=False)
    b = load_mnist(mnist_root, val_split=0.1, seed=3, download=False)
    assert (len(a.train), len(a.val), len(a.test)) == (54000, 6000, 10000)
    assert torch.equal(a.val.labels, b.val.labels)
    assert a.train.images.dtype == torch.uint8


def test_missing_folder_says_what_and_how(tmp_path):
    with pytest.raises(DataError) as error:
        load_mnist(tmp_path / "nowhere", download=False)
    text = str(error.value)
    assert "train-images-idx3-ubyte is missing" in text and "MNIST_DESK_DATA" in text
    assert "\n" not in text


def test_truncated_file_is_reported(tmp_path, mnist_root):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(mnist_root / "MNIST" / "raw" / name, raw / name)
    source = (mnist_root / "MNIST" / "raw" / "train-images-idx3-ubyte").read_bytes()
    (raw / "train-images-idx3-ubyte").write_bytes(source[:1000])
    with pytest.raises(DataError, match="has 1000 bytes instead of 47040016"):
        load_mnist(tmp_path, download=False)


def test_batches_are_normalised_and_cover_the_split(small_data):
    seen = 0
    for x, y in iterate_batches(small_data.test, 128, shuffle=True, generator=torch.Generator()):
        assert x.shape[1:] == (1, 28, 28) and x.dtype == torch.float32
        seen += len(y)
    assert seen == len(small_data.test)
    x, _ = next(iterate_batches(small_data.train, 2000, shuffle=False))
    assert abs(x.mean().item()) < 0.2 and abs(x.std().item() - 1) < 0.2


def test_augmentation_keeps_shape_range_and_ink(small_data):
    x = small_data.train.images[:64].float().div(255).unsqueeze(1)
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert ratio.min() > 0.4 and ratio.max() < 2.5  # digits stay digits
