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


def _copy_raw(mnist_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / name).symlink_to(mnist_root / "MNIST" / "raw" / name)
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(mnist_root / "MNIST" / "raw" / name, raw / name)
    return raw


def test_a_wrong_magic_number_is_named(tmp_path, mnist_root):
    raw = _copy_raw(mnist_root, tmp_path)
    path = raw / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[:4] = (1234).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte has magic 1234, expected 2051"):
        load_mnist(tmp_path, download=False)


def test_a_header_with_wrong_sizes_is_named(tmp_path, mnist_root):
    raw = _copy_raw(mnist_root, tmp_path)
    path = raw / "t10k-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[4:8] = (9999).to_bytes(4, "big")
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"announces shape \(9999,\), expected \(10000,\)"):
        load_mnist(tmp_path, download=False)


def test_permission_denied_on_raw_is_one_sentence(tmp_path, mnist_root, monkeypatch):
    _copy_raw(mnist_root, tmp_path)
    real_stat = type(tmp_path).stat

    def denied(self, *args, **kwargs):
        if self.parent.name == "raw":
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "stat", denied)  # chmod means nothing to root
    with pytest.raises(DataError, match="cannot be read .Permission denied") as error:
        load_mnist(tmp_path, download=False)
    assert "\n" not in str(error.value)


def test_the_test_set_alone_and_cancel_between_files(mnist_root):
    from mnist_desk.core.errors import JobCancelled

    data = load_mnist(mnist_root, test_subset=100, download=False, train=False)
    assert (len(data.train), len(data.test)) == (0, 100)
    asked = []

    def stop_after_first_file():
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(JobCancelled):
        load_mnist(mnist_root, download=False, should_stop=stop_after_first_file)
    assert len(asked) == 2  # checked before each file, so it stopped after reading one


@pytest.mark.parametrize("count", [0, -10])
def test_a_subset_must_hold_digits(mnist_root, count):
    with pytest.raises(DataError, match=f"at least 1 digit, not {count}"):
        load_mnist(mnist_root, train_subset=count, download=False)


def _npz(path, images, labels, **extra):
    import numpy as np

    np.savez(path, images=images, labels=labels, **extra)
    return path


@pytest.mark.parametrize(
    "images, labels, message",
    [
        ("u8:5", [1, 2], "5 images but 2 labels"),
        ("f32:3", [1, 2, 3], "images are float32, expected uint8"),
        ("u8:3x20", [1, 2, 3], r"images have shape \(3, 20, 20\), expected \(N, 28, 28\)"),
        ("u8:3", [1, 2, 11], "labels run from 1 to 11, expected 0..10"),
        ("u8:3", [-1, 2, 3], "labels run from -1 to 3"),
        ("u8:3", [0.5, 1.0, 2.0], "labels are float64"),
        ("u8:0", [], "it holds no digits"),
    ],
)
def test_extra_digits_are_checked_whole(tmp_path, images, labels, message):
    import numpy as np

    from mnist_desk.core.data import load_extra_digits

    kind, size = images.split(":")
    count, _, side = size.partition("x")
    shape = (int(count), int(side or 28), int(side or 28))
    array = np.zeros(shape, dtype=np.uint8 if kind == "u8" else np.float32)
    path = _npz(tmp_path / "extra.npz", array, np.array(labels))
    with pytest.raises(DataError, match=message):
        load_extra_digits(path)


def test_extra_digits_without_labels_or_not_an_archive(tmp_path):
    import numpy as np

    from mnist_desk.core.data import load_extra_digits

    path = tmp_path / "x.npz"
    np.savez(path, images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DataError, match="needs arrays 'images' and 'labels'; it has images"):
        load_extra_digits(path)
    (tmp_path / "t.npz").write_text("not numpy")
    with pytest.raises(DataError, match="not a readable .npz"):
        load_extra_digits(tmp_path / "t.npz")
    good = _npz(tmp_path / "g.npz", np.full((2, 28, 28), 7, np.uint8), np.array([3, 10]))
    split = load_extra_digits(good)
    assert split.labels.tolist() == [3, 10] and split.images.shape == (2, 28, 28)
