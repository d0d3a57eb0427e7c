"""Temperature scaling and expected calibration error.

A network trained with cross-entropy is usually over-confident: it says 99% where it is
right 95% of the time. Dividing the logits by one temperature fitted on held-out data (never
the test set) fixes most of that without changing any answer, so "Not sure" means something.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor, steps: int = 200) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of softmax(logits / T)."""
    logits = logits.detach().float().clone()  # a plain tensor, even from inference mode
    labels = labels.long()
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / log_t.exp(), labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE with ``bins`` equal-width confidence bins: Σ |accuracy − confidence| · share."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels)
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += abs(correct[mask].mean() - confidence[mask].mean()) * mask.mean()
    return float(error)


def with_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities as if the logits had been divided by ``temperature``.

    log p equals the logits up to a per-row constant, so rescaling needs no model: pass the
    checkpoint's T to calibrate raw probabilities, 1 / T to undo a calibration.
    """
    logits = np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-30, 1.0)) / temperature
    scaled = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.asarray(probs).dtype)
