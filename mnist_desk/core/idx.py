"""MNIST's idx files read without torchvision.

The packaged app ships a CPU-only torch, beside which PyPI's torchvision does not import, so the
bundle reads the four raw files itself; the pip install keeps ``torchvision.datasets.MNIST``.
Format: two zero bytes, a type code, the number of dimensions, each dimension as a big-endian
uint32, then the values in C order.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import torch

# Type codes of the idx format; multi-byte values are big-endian.
_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
    """The file is not a complete idx file; the message names the file and what is wrong."""


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """The array stored in one idx file, as a tensor of its own type (uint8 for MNIST)."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _DTYPES:
        raise IdxFormatError(f"{path.name} is not an idx file (its first bytes are wrong)")
    dtype, ndim = _DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IdxFormatError(f"{path.name} ends inside its header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IdxFormatError(f"{path.name} has {len(data)} bytes instead of {expected}")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    # A native-endian copy: torch does not take big-endian arrays, and frombuffer is read-only.
    return torch.from_numpy(values.astype(dtype.newbyteorder("="), copy=True))


def read_mnist_split(raw: str | os.PathLike, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (uint8 N×28×28) and labels (int64 N) from a torchvision-style ``MNIST/raw`` folder."""
    prefix = "train" if train else "t10k"
    images = read_idx(Path(raw) / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(Path(raw) / f"{prefix}-labels-idx1-ubyte").long()
    if images.dim() != 3 or labels.dim() != 1 or images.shape[0] != labels.shape[0]:
        raise IdxFormatError(
            f"{prefix} images {tuple(images.shape)} and labels {tuple(labels.shape)} do not pair up"
        )
    return images, labels
