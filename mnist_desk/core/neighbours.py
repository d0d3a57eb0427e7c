"""Nearest training digits: "it looks like these", in the model's own feature space.

The penultimate features of the 60,000 training digits are computed once per checkpoint,
unit-normalised, stored as float16 and cached on disk keyed by the checkpoint's md5. The
lookup is exact cosine similarity, but scores most rows on a few principal dimensions only
and bounds the rest (``Index.nearest``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mnist_desk.core.errors import JobCancelled
from mnist_desk.core.predict import Predictor

INDEX_VERSION = 1
SUFFIX = ".neighbours.npz"
BATCH = 250  # images per forward pass; a cancel (closing the window) waits for one


@dataclass
class FeatureIndex:
    features: torch.Tensor  # (N, D) float16, unit rows
    labels: np.ndarray  # (N,) uint8
    rows: np.ndarray  # (N,) int64: which training digit each row is
    md5: str
    path: Path | None = None
    _lookup: _Lookup | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def nearest(self, query: np.ndarray, k: int = 8) -> list[tuple[int, int, float]]:
        """(training row, label, cosine) of the ``k`` closest digits, closest first.

        Exact, but most rows are ruled out from a few leading dimensions: a row's cosine is
        at most its score there plus the largest the rest could add (Cauchy–Schwarz), so
        only rows whose bound beats the k-th best found so far are scored in full. That
        reads a sixth of the features, not all 46 MB of them, for every drawing.
        """
        k = min(k, len(self))
        if k <= 0:
            return []
        lookup = self._searchable()
        q = torch.from_numpy(np.asarray(query, dtype=np.float32).reshape(-1)) @ lookup.basis
        bound = torch.addcmul(
            lookup.lead @ q[: lookup.lead.shape[1]], lookup.rest, q[lookup.lead.shape[1] :].norm()
        )
        first = torch.topk(bound, min(len(self), 4 * k)).indices
        kth = torch.topk(lookup.rotated[first] @ q, k).values[-1]
        rows = torch.nonzero(bound >= kth - BOUND_SLACK).flatten()
        # bounds too loose to help (an untrained model), or a query they cannot rank (NaN)
        if len(rows) > len(self) // 8 or len(rows) < k or not torch.isfinite(kth):
            top = torch.topk(lookup.rotated @ q, k)
            found = top.indices
        else:
            top = torch.topk(lookup.rotated[rows] @ q, k)
            found = rows[top.indices]
        return [
            (int(self.rows[i]), int(self.labels[i]), float(s))
            for s, i in zip(top.values.tolist(), found.tolist(), strict=True)
        ]

    def _searchable(self) -> _Lookup:
        """Made once per index (a fraction of a second for 60,000 rows)."""
        if self._lookup is None or self._lookup.source is not self.features:
            self._lookup = _Lookup.of(self.features)
        return self._lookup


LEAD = 32  # leading dimensions scored for every row
BOUND_SLACK = 1e-4  # the one margin for float rounding: the bound and the full score take
# two routes to one number, so a bound may come out a hair below the score it bounds


@dataclass
class _Lookup:
    """The features in float32 (CPUs have no fast float16 matrix–vector product), rotated
    onto their principal axes — rotation keeps every cosine — so that the first ``LEAD``
    dimensions carry most of each row and bound the rest."""

    source: torch.Tensor
    basis: torch.Tensor  # (D, D) orthonormal, strongest axis first
    rotated: torch.Tensor  # (N, D) float32
    lead: torch.Tensor  # (N, LEAD) contiguous: what every lookup reads
    rest: torch.Tensor  # (N,) the norm of each row beyond LEAD

    @classmethod
    def of(cls, features: torch.Tensor) -> _Lookup:
        f = features.float()
        _, vectors = torch.linalg.eigh(f.T @ f)
        basis = vectors.flip(1).contiguous()
        rotated = f @ basis
        lead = min(LEAD, rotated.shape[1])
        return cls(
            features,
            basis,
            rotated,
            rotated[:, :lead].contiguous(),
            rotated[:, lead:].norm(dim=1),  # float rounding is BOUND_SLACK's to absorb
        )


def file_md5(path: str | os.PathLike) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir() -> Path:
    """The per-user cache for indexes of checkpoints in read-only folders."""
    from mnist_desk.paths import HOME_ENV

    if os.environ.get(HOME_ENV):
        return Path(os.environ[HOME_ENV]) / "cache" / "neighbours"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("mnist-desk", appauthor=False)) / "neighbours"


def _writable_beside(checkpoint: Path) -> bool:
    """Next to the checkpoint, unless that folder is read-only or the shipped resources."""
    from mnist_desk.paths import resources_dir

    folder = checkpoint.resolve().parent
    if folder == resources_dir().resolve():
        return False  # never write into what was installed, even when we could
    return os.access(folder, os.W_OK)


def index_paths(checkpoint: str | os.PathLike, md5: str) -> list[Path]:
    """Where an index may live, the preferred place first."""
    checkpoint = Path(checkpoint)
    beside = checkpoint.with_name(checkpoint.name + SUFFIX)
    cached = cache_dir() / f"{md5}{SUFFIX}"
    return [beside, cached] if _writable_beside(checkpoint) else [cached]


def load_index(checkpoint: str | os.PathLike, md5: str | None = None) -> FeatureIndex | None:
    """The cached index of this checkpoint, or None when missing or stale (other md5)."""
    md5 = md5 or file_md5(checkpoint)
    for path in index_paths(checkpoint, md5):
        if not path.exists():
            continue
        try:
            with np.load(path) as data:
                if int(data["version"]) != INDEX_VERSION or str(data["md5"]) != md5:
                    continue
                return FeatureIndex(
                    torch.from_numpy(data["features"].astype(np.float16)),
                    data["labels"].astype(np.uint8),
                    data["rows"].astype(np.int64),
                    md5,
                    path,
                )
        except (OSError, KeyError, ValueError):
            continue  # a damaged cache file is rebuilt, not an error
    return None


def compute_features(
    predictor: Predictor,
    images: np.ndarray,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[object], None] = lambda _e: None,
) -> np.ndarray:
    """Unit-length float16 penultimate features of uint8 or float images, in batches."""
    from mnist_desk.core.inspect import batch_features

    out = []
    total = len(images)
    for start in range(0, total, BATCH):
        if should_stop():
            raise JobCancelled("feature index cancelled")
        batch = np.asarray(images[start : start + BATCH], dtype=np.float32)
        if batch.max(initial=0) > 1.5:
            batch = batch / 255.0
        out.append(batch_features(predictor, batch).astype(np.float16))
        on_progress((min(start + BATCH, total), total))
    return np.concatenate(out) if out else np.zeros((0, 1), np.float16)


def build_index(
    checkpoint: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    limit: int | None = None,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[object], None] = lambda _e: None,
) -> FeatureIndex:
    """A job: features of the training digits (all 60,000 unless ``limit``), saved to disk."""
    from mnist_desk.core.data import load_split, resolve_data_root

    md5 = file_md5(checkpoint)
    predictor = Predictor.from_path(checkpoint)
    split = load_split(resolve_data_root(data_root), train=True)
    count = len(split) if limit is None else min(limit, len(split))
    images = split.images[:count].numpy()
    features = compute_features(predictor, images, should_stop, on_progress)
    index = FeatureIndex(
        torch.from_numpy(features), split.labels[:count].numpy().astype(np.uint8),
        np.arange(count, dtype=np.int64), md5,
    )  # fmt: skip
    index.path = save_index(index, checkpoint)
    return index


def save_index(index: FeatureIndex, checkpoint: str | os.PathLike) -> Path | None:
    """Atomically, to the first place that takes it; None if none does (kept in memory)."""
    from mnist_desk.core.checkpoint import atomic_write_bytes

    for path in index_paths(checkpoint, index.md5):
        try:
            atomic_write_bytes(
                path,
                lambda handle: np.savez(
                    handle,
                    version=INDEX_VERSION,
                    md5=index.md5,
                    features=index.features.numpy(),
                    labels=index.labels,
                    rows=index.rows,
                ),
            )
            return path
        except OSError:
            continue
    return None
