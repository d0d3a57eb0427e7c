"""MNIST as uint8 tensors in memory, batched by indexing (no per-sample PIL decoding)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_desk.core.errors import UserError

# The one home of the normalisation constants; every checkpoint stores the pair it was trained with.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
NORMALIZATION = (MNIST_MEAN, MNIST_STD)

DATA_ENV = "MNIST_DESK_DATA"
OFFLINE_ENV = "MNIST_DESK_OFFLINE"  # set to 1 to never try a download (tests, air-gapped sites)
RAW_FILES = {
    "train-images-idx3-ubyte": 16 + 60000 * 28 * 28,
    "train-labels-idx1-ubyte": 8 + 60000,
    "t10k-images-idx3-ubyte": 16 + 10000 * 28 * 28,
    "t10k-labels-idx1-ubyte": 8 + 10000,
}


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


def check_raw_files(root: Path) -> list[str]:
    """Return the problems with the idx files under ``root/MNIST/raw`` (empty when fine)."""
    raw = root / "MNIST" / "raw"
    problems = []
    for name, size in RAW_FILES.items():
        path = raw / name
        if not path.exists():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != size:
            problems.append(f"{name} has {path.stat().st_size} bytes instead of {size}")
    return problems


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
        if count is None or count >= len(self):
            return self
        return MnistSplit(self.images[:count], self.labels[:count])


@dataclass
class MnistData:
    train: MnistSplit
    val: MnistSplit | None
    test: MnistSplit


IDX_MAGIC = {1: 2049, 3: 2051}  # labels (1-D), images (3-D): unsigned bytes


def read_idx(path: Path, dims: int) -> torch.Tensor:
    """One idx file as a uint8 tensor, read directly.

    Not through torchvision: importing it costs seconds (tens on a busy machine) that no
    job could cancel, and the format is a magic number, the sizes, then the bytes.
    """
    raw = path.read_bytes()
    magic = int.from_bytes(raw[:4], "big")
    if magic != IDX_MAGIC[dims]:
        raise DataError(
            f"{path.name} is not an MNIST idx file (magic number {magic}, "
            f"expected {IDX_MAGIC[dims]}); {_fix_hint()}."
        )
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    start = 4 + 4 * dims
    if len(raw) - start != math.prod(shape):
        raise DataError(f"{path.name} is truncated; {_fix_hint()}.")
    return torch.frombuffer(bytearray(raw[start:]), dtype=torch.uint8).reshape(shape)


def _download(root: Path, train: bool) -> None:
    try:
        from torchvision.datasets import MNIST
    except ImportError:
        raise DataError(
            "Downloading MNIST needs torchvision, which this installation lacks (the packaged "
            f"app only draws and predicts); {_fix_hint()}."
        ) from None
    MNIST(str(root), train=train, download=True)


def load_split(root: Path, train: bool, download: bool = True) -> MnistSplit:
    problems = check_raw_files(root)
    download = download and not os.environ.get(OFFLINE_ENV)
    if problems and download:
        try:
            _download(root, train)
        except DataError:
            raise
        except Exception as exc:  # network errors come in many types
            raise DataError(
                f"MNIST is not in {root} ({problems[0]}) and could not be downloaded "
                f"({type(exc).__name__}); {_fix_hint()}."
            ) from None
        problems = check_raw_files(root)
    if problems:
        raise DataError(f"MNIST in {root} is unusable: {'; '.join(problems)}; {_fix_hint()}.")
    prefix = "train" if train else "t10k"
    raw = root / "MNIST" / "raw"
    try:
        images = read_idx(raw / f"{prefix}-images-idx3-ubyte", 3)
        labels = read_idx(raw / f"{prefix}-labels-idx1-ubyte", 1)
    except OSError as exc:
        raise DataError(
            f"MNIST in {root} could not be read ({exc.strerror or exc}); {_fix_hint()}."
        ) from None
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"MNIST in {root} has a different number of images and labels.")
    return MnistSplit(images.contiguous(), labels.long().contiguous())


def load_mnist(
    data: str | os.PathLike | None = None,
    val_split: float = 0.0,
    seed: int = 1,
    train_subset: int | None = None,
    test_subset: int | None = None,
    download: bool = True,
) -> MnistData:
    """Load train/test, and carve a seeded validation split out of train when asked."""
    root = resolve_data_root(data)
    train = load_split(root, train=True, download=download)
    test = load_split(root, train=False, download=download).subset(test_subset)
    val = None
    if val_split > 0:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(train), generator=generator)
        n_val = int(round(len(train) * val_split))
        val = MnistSplit(train.images[order[:n_val]], train.labels[order[:n_val]])
        train = MnistSplit(train.images[order[n_val:]], train.labels[order[n_val:]])
        if test_subset:
            val = val.subset(test_subset)
    return MnistData(train=train.subset(train_subset), val=val, test=test)


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
