"""MNIST as uint8 tensors in memory, batched by indexing (no per-sample PIL decoding)."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mnist_desk.core.errors import JobCancelled, UserError
from mnist_desk.core.idx import read_idx

# The one home of the normalisation constants; every checkpoint stores the pair it was trained with.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
NORMALIZATION = (MNIST_MEAN, MNIST_STD)

DATA_ENV = "MNIST_DESK_DATA"
OFFLINE_ENV = "MNIST_DESK_OFFLINE"  # set to 1 to never try a download (tests, air-gapped sites)
RAW_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
RAW_FILES = {name: 4 + 4 * len(shape) + math.prod(shape) for name, shape in RAW_SHAPES.items()}


# idx headers: a magic number (0x0801 unsigned bytes, then the number of dimensions), then
# one big-endian 32-bit size per dimension.
IDX_MAGIC = {3: 2051, 1: 2049}
LABELS = 11  # 0-9 and 10, "not a digit", which the person's own files may use


class DataError(UserError):
    """A data problem a person can fix; the message is one sentence saying how."""


def default_data_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mnist-desk")) / "data"


def resolve_data_root(explicit: str | os.PathLike | None = None) -> Path:
    """``--data``, else ``$MNIST_DESK_DATA``, else the per-user cache folder.

    Accepts the torchvision root, its ``MNIST`` folder or its ``MNIST/raw`` folder.
    """
    chosen = explicit or os.environ.get(DATA_ENV) or default_data_root()
    root = Path(chosen).expanduser()
    if root.name == "raw" and root.parent.name == "MNIST":
        root = root.parent.parent
    elif root.name == "MNIST" and (root / "raw").is_dir():
        root = root.parent
    return root


def check_raw_files(root: Path, train: bool | None = None) -> list[str]:
    """Return the problems with the idx files under ``root/MNIST/raw`` (empty when fine).

    ``train`` limits the check to one split's two files (evaluation needs only the test
    files); ``None`` checks all four.
    """
    if root.exists() and not root.is_dir():
        return [f"{root} is a file, not a folder"]
    raw = root / "MNIST" / "raw"
    problems = []
    prefixes = ("train", "t10k") if train is None else ("train",) if train else ("t10k",)
    for name, size in RAW_FILES.items():
        if not name.startswith(prefixes):
            continue
        path = raw / name
        try:
            status = path.stat()
            actual = status.st_size
        except FileNotFoundError:
            problems.append(f"{name} is missing")
            continue
        except OSError as exc:  # e.g. no permission on raw/
            problems.append(f"{name} cannot be read ({exc.strerror or type(exc).__name__})")
            continue
        if not stat.S_ISREG(status.st_mode):  # a folder or a pipe in the file's place
            problems.append(f"{name} is not a regular file")
            continue
        if actual != size:
            problems.append(f"{name} has {actual} bytes instead of {size}")
            continue
        problem = _header_problem(path, RAW_SHAPES[name])
        if problem:
            problems.append(f"{name} {problem}")
    return problems


def _header_problem(path: Path, shape: tuple[int, ...]) -> str | None:
    """Why the idx header does not announce ``shape`` (magic number, sizes), or ``None``."""
    expected = IDX_MAGIC[len(shape)]
    try:
        with open(path, "rb") as handle:
            header = handle.read(4 + 4 * len(shape))
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    magic = int.from_bytes(header[:4], "big")
    if magic != expected:
        return f"has magic {magic}, expected {expected}"
    dims = tuple(int.from_bytes(header[i : i + 4], "big") for i in range(4, len(header), 4))
    if dims != shape:
        return f"announces shape {dims}, expected {shape}"
    return None


def _fix_hint() -> str:
    return (
        f"point --data or ${DATA_ENV} to a folder holding MNIST/raw/*-ubyte "
        "(torchvision layout), or connect to the internet to download it"
    )


@dataclass
class MnistSplit:
    images: torch.Tensor  # uint8 (N, 28, 28)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> MnistSplit:
        return MnistSplit(self.images.to(device), self.labels.to(device))

    def subset(self, count: int | None) -> MnistSplit:
        if count is not None and count < 1:
            raise DataError(f"A subset must hold at least 1 digit, not {count}.")
        if count is None or count >= len(self):
            return self
        return MnistSplit(self.images[:count], self.labels[:count])


@dataclass
class MnistData:
    train: MnistSplit
    val: MnistSplit | None
    test: MnistSplit


def _download(root: Path, train: bool, problem: str) -> None:
    try:
        from torchvision.datasets import MNIST
    except ImportError:
        raise DataError(
            f"MNIST is not in {root} ({problem}) and downloading it needs torchvision, which "
            f"this installation lacks; {_fix_hint()}."
        ) from None
    try:
        MNIST(str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"MNIST is not in {root} ({problem}) and could not be downloaded "
            f"({type(exc).__name__}); {_fix_hint()}."
        ) from None


def load_split(
    root: Path,
    train: bool,
    download: bool = True,
    should_stop: Callable[[], bool] | None = None,
    check_all: bool = False,
) -> MnistSplit:
    """Read one split's two idx files; ``should_stop`` is checked before each file.

    ``check_all`` checks all four files first, so a run that needs both splits names every
    missing file at once; otherwise only this split's files must be there (evaluation).
    """
    which = None if check_all else train
    problems = check_raw_files(root, which)
    if problems and download and not os.environ.get(OFFLINE_ENV):
        _download(root, train, problems[0])
        problems = check_raw_files(root, which)
    if problems:
        raise DataError(f"MNIST in {root} is unusable: {'; '.join(problems)}; {_fix_hint()}.")
    prefix = "train" if train else "t10k"
    raw = root / "MNIST" / "raw"
    tensors = []
    for name in (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"):
        if should_stop is not None and should_stop():
            raise JobCancelled("loading MNIST was cancelled")
        try:
            tensors.append(read_idx(raw / name))
        except OSError as exc:
            raise DataError(
                f"MNIST in {root} could not be read ({name}: {exc.strerror or exc}); {_fix_hint()}."
            ) from None
    images, labels = tensors
    return MnistSplit(images.contiguous(), labels.long().contiguous())


def load_mnist(
    data: str | os.PathLike | None = None,
    val_split: float = 0.0,
    seed: int = 1,
    train_subset: int | None = None,
    test_subset: int | None = None,
    download: bool = True,
    should_stop: Callable[[], bool] | None = None,
    train: bool = True,
) -> MnistData:
    """Load train/test, and carve a seeded validation split out of train when asked.

    ``train=False`` skips the 60,000 training digits (evaluation needs only the test set;
    ``train`` is then empty). ``should_stop`` is checked between files.
    """
    root = resolve_data_root(data)
    test = load_split(
        root, train=False, download=download, should_stop=should_stop, check_all=train
    )
    test = test.subset(test_subset)
    if not train:
        empty = MnistSplit(test.images[:0], test.labels[:0])
        return MnistData(train=empty, val=None, test=test)
    train_split = load_split(root, train=True, download=download, should_stop=should_stop)
    val = None
    if val_split > 0:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(train_split), generator=generator)
        n_val = int(round(len(train_split) * val_split))
        val = MnistSplit(train_split.images[order[:n_val]], train_split.labels[order[:n_val]])
        train_split = MnistSplit(
            train_split.images[order[n_val:]], train_split.labels[order[n_val:]]
        )
        if test_subset:
            val = val.subset(test_subset)
    return MnistData(train=train_split.subset(train_subset), val=val, test=test)


def load_extra_digits(path: str | os.PathLike) -> MnistSplit:
    """Extra labelled digits from an ``.npz`` with ``images`` (uint8 N×28×28) and ``labels``.

    Checked whole before use: misaligned or mislabelled extras would train silently wrong.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        raise DataError(f"{name} does not exist.")
    if not os.path.isfile(name):
        raise DataError(f"{name} is not a regular file.")
    try:
        with np.load(name, allow_pickle=False) as archive:
            keys = set(archive.files)
            if not {"images", "labels"} <= keys:
                raise DataError(
                    f"{name} needs arrays 'images' and 'labels'; it has "
                    f"{', '.join(sorted(keys)) or 'none'}."
                )
            images, labels = archive["images"], archive["labels"]
    except (OSError, ValueError, EOFError) as exc:
        # numpy takes a file of no format it knows for a pickle and says so; not useful here
        reason = "not a NumPy file" if "pickle" in str(exc) else str(exc)
        raise DataError(f"{name} is not a readable .npz file ({reason}).") from None
    except AttributeError:  # np.load returned a bare array (.npy), not an archive
        raise DataError(f"{name} is a single array, not an .npz with images and labels.") from None
    problems = _extra_problems(images, labels)
    if problems:
        raise DataError(f"{name} is unusable: {'; '.join(problems)}.")
    return MnistSplit(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def _extra_problems(images: np.ndarray, labels: np.ndarray) -> list[str]:
    problems = []
    if images.dtype != np.uint8:
        problems.append(f"images are {images.dtype}, expected uint8")
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        problems.append(f"images have shape {images.shape}, expected (N, 28, 28)")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        problems.append(f"labels are {labels.dtype} of shape {labels.shape}, expected N integers")
    elif len(labels) and (labels.min() < 0 or labels.max() >= LABELS):
        problems.append(f"labels run from {labels.min()} to {labels.max()}, expected 0..10")
    if images.ndim >= 1 and labels.ndim >= 1 and len(images) != len(labels):
        problems.append(f"{len(images)} images but {len(labels)} labels")
    elif images.ndim >= 1 and len(images) == 0:
        problems.append("it holds no digits")
    return problems


def normalize(images: torch.Tensor, normalization=NORMALIZATION) -> torch.Tensor:
    """uint8 (N, 28, 28) or float in [0, 1] → normalised float (N, 1, 28, 28)."""
    mean, std = normalization
    x = images.float()
    if images.dtype == torch.uint8:
        x = x / 255.0
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return (x - mean) / std


@dataclass
class AugmentConfig:
    """Tuned to how people draw with a mouse: tilted, squashed, thick or thin strokes."""

    degrees: float = 12.0
    scale: tuple[float, float] = (0.85, 1.1)
    shear: float = 0.25
    translate: float = 0.08
    thickness_prob: float = 0.3


def augment_batch(
    x: torch.Tensor, generator: torch.Generator | None = None, cfg: AugmentConfig | None = None
) -> torch.Tensor:
    """Random affine + stroke thickness for a float batch in [0, 1] (N, 1, 28, 28), on its device."""
    cfg = cfg or AugmentConfig()
    n = x.shape[0]

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, generator=generator).mul_(hi - lo).add_(lo).to(x.device)

    angle = uniform(-cfg.degrees, cfg.degrees) * (math.pi / 180)
    scale_x = uniform(*cfg.scale)
    scale_y = scale_x * uniform(0.9, 1.1)
    shear = uniform(-cfg.shear, cfg.shear)
    tx = uniform(-cfg.translate, cfg.translate) * 2
    ty = uniform(-cfg.translate, cfg.translate) * 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    # theta maps output coordinates to input coordinates, so invert the scale.
    theta = torch.zeros(n, 2, 3, device=x.device)
    theta[:, 0, 0] = cos / scale_x
    theta[:, 0, 1] = (-sin + shear * cos) / scale_x
    theta[:, 1, 0] = sin / scale_y
    theta[:, 1, 1] = (cos + shear * sin) / scale_y
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")
    if cfg.thickness_prob > 0:
        pick = torch.rand(n, generator=generator).to(x.device)
        thicker = (pick < cfg.thickness_prob / 2).view(n, 1, 1, 1)
        thinner = ((pick >= cfg.thickness_prob / 2) & (pick < cfg.thickness_prob)).view(n, 1, 1, 1)
        dilated = F.max_pool2d(out, 3, stride=1, padding=1)
        dilated = 0.5 * (out + dilated)
        # Thinner strokes keep full-intensity cores (as a rendered pen does), not grey ink.
        eroded = ((out - 0.4) / 0.6).clamp(0, 1)
        out = torch.where(thicker, dilated, torch.where(thinner, eroded, out))
    return out.clamp_(0, 1)


def iterate_batches(
    split: MnistSplit,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator | None = None,
    augment: bool = False,
    normalization=NORMALIZATION,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield normalised (x, y) batches by indexing the in-memory tensors on their device."""
    n = len(split)
    if shuffle:
        order = torch.randperm(n, generator=generator).to(split.images.device)
    else:
        order = torch.arange(n, device=split.images.device)
    mean, std = normalization
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        x = split.images[idx].unsqueeze(1).float().div_(255.0)
        if augment:
            x = augment_batch(x, generator)
        yield (x - mean) / std, split.labels[idx]


def batch_count(n: int, batch_size: int) -> int:
    return (n + batch_size - 1) // batch_size
