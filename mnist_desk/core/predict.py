"""``Predictor``: a loaded checkpoint that turns 28×28 images into probabilities."""

from __future__ import annotations

import os

import numpy as np
import torch

from mnist_desk.core.checkpoint import Checkpoint, load_checkpoint


class Predictor:
    """Holds one model in eval mode on the CPU; safe to use from one worker thread."""

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.checkpoint = checkpoint
        self.device = torch.device(device)
        self.model = checkpoint.build().to(self.device)
        self.mean, self.std = checkpoint.normalization

    @classmethod
    def from_path(cls, path: str | os.PathLike, device: str = "cpu") -> Predictor:
        return cls(load_checkpoint(path), device)

    @property
    def name(self) -> str:
        return self.checkpoint.model_name

    def _tensor(self, images: np.ndarray) -> torch.Tensor:
        array = np.asarray(images, dtype=np.float32)
        if array.ndim == 2:
            array = array[None]
        x = torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1).to(self.device)
        return (x - self.mean) / self.std

    @torch.inference_mode()
    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(28, 28) or (N, 28, 28) floats in [0, 1] → (10,) or (N, 10) probabilities."""
        logits = self.model(self._tensor(images))
        probs = logits.float().softmax(dim=1).cpu().numpy()
        return probs[0] if np.asarray(images).ndim == 2 else probs

    def top_k(self, image28: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
        return top_k_of(self.probabilities(image28), k)

    def saliency(self, image28: np.ndarray) -> np.ndarray:
        """Which strokes drove the answer: |gradient × ink| of the top class, scaled to [0, 1].

        The plain gradient also lights up empty background; weighting by the ink keeps the map
        on what the person drew.
        """
        x = self._tensor(image28).requires_grad_(True)
        with torch.enable_grad():
            logits = self.model(x)
            logits[0, logits[0].argmax()].backward()
        grad = x.grad.detach()[0, 0].cpu().numpy()
        heat = np.abs(grad * np.asarray(image28, dtype=np.float32))
        peak = float(heat.max())
        return heat / peak if peak > 0 else heat


def top_k_of(probs: np.ndarray, k: int) -> list[tuple[int, float]]:
    order = np.argsort(-probs)[: max(1, min(k, len(probs)))]
    return [(int(d), float(probs[d])) for d in order]
