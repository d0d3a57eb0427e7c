"""Temperature scaling and expected calibration error.

A network trained with cross-entropy is usually over-confident: it says 99% where it is
right 95% of the time. Dividing the logits by one temperature fitted on held-out data (never
the test set) fixes most of that without changing any answer, so "Not sure" means something.

A model with a "not a digit" class learnt it from a training mix where one drawing in six is
not a digit; people at the pad mostly draw digits. A prior shift (subtract ``s`` from that
class's logit, Bayes' rule for a rarer class) fitted on the same held-out data corrects for
it, so a sloppy real digit is read as a digit rather than refused.

A checkpoint's ``calibration`` is ``{"temperature": T, "not_a_digit_shift": s}`` (both
optional); ``calibrate_logits`` and ``calibrate_probabilities`` apply it.
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


NOT_A_DIGIT = 10
SHIFT_GRID = tuple(x / 4 for x in range(0, 41))  # 0, 0.25, … 10 (a prior ratio up to e^10)


def calibrate_logits(logits, calibration: dict):
    """Raw (N, C) logits → calibrated logits (prior shift on "not a digit", then ÷ T).

    A torch tensor or a numpy array, returned as the same kind (the live pad reads numpy).
    """
    shift = float(calibration.get("not_a_digit_shift", 0.0))
    if shift and logits.shape[-1] > NOT_A_DIGIT:
        logits = logits.clone() if isinstance(logits, torch.Tensor) else logits.copy()
        logits[..., NOT_A_DIGIT] -= shift
    return logits / float(calibration.get("temperature", 1.0))


def calibrate_probabilities(probs: np.ndarray, calibration: dict, undo: bool = False) -> np.ndarray:
    """Softmax output at T = 1 → calibrated probabilities (``undo``: the other way round).

    log p equals the logits up to a per-row constant, so this needs no model.
    """
    probs = np.asarray(probs)
    logs = torch.from_numpy(np.log(np.clip(probs.astype(np.float64), 1e-30, 1.0)))
    if undo:
        logs = logs * float(calibration.get("temperature", 1.0))
        if logs.shape[-1] > NOT_A_DIGIT:
            logs[..., NOT_A_DIGIT] += float(calibration.get("not_a_digit_shift", 0.0))
    else:
        logs = calibrate_logits(logs, calibration)
    return logs.softmax(dim=-1).numpy().astype(probs.dtype)


def read_right(probs: torch.Tensor, labels: torch.Tensor, not_sure_below: float) -> torch.Tensor:
    """Per drawing, whether the app reads it right: a digit when it is the top class; a
    drawing labelled "not a digit" when no digit reaches ``not_sure_below`` (the app then
    says "not a digit" or "not sure")."""
    digit_right = probs.argmax(1) == labels
    other_right = probs[:, :NOT_A_DIGIT].max(1).values < not_sure_below
    return torch.where(labels == NOT_A_DIGIT, other_right, digit_right)


def fit_calibration(
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    not_sure_below: float,
    shift: float | None = None,
) -> dict[str, float]:
    """The prior shift (and its temperature) that reads held-out ``parts`` best.

    For each shift on a grid the temperature is fitted (NLL) on all of ``parts``, non-digits
    included, then the app's own rule (``read_right``) is scored. Each part (MNIST's validation digits, held-out writers,
    non-digits) counts equally, so thousands of MNIST digits cannot outvote a few hundred
    non-digits. The smallest shift wins a tie. A given ``shift`` (estimated on writers a
    leave-writers-out model never saw) is kept and only the temperature is fitted.

    Why one temperature over all 11 outputs, non-digits in its fit: a new glyph is caught
    because its digit probabilities are spread (no digit reaches the threshold). A
    temperature fitted on digits alone sharpens them so far that 18% of the hand-written
    non-digit set got a confident digit (ECE 0.2% on MNIST); fitted with the non-digits it is
    2% (and the digits' confidence runs low: ECE 9%). We chose the honest "Not sure".
    """
    logits = torch.cat([part_logits for part_logits, _ in parts.values()])
    labels = torch.cat([part_labels for _, part_labels in parts.values()])
    best, best_score = {"temperature": 1.0}, -1.0
    grid = SHIFT_GRID if shift is None else (float(shift),)
    for candidate in grid if logits.shape[1] > NOT_A_DIGIT else (0.0,):
        shifted = calibrate_logits(logits, {"not_a_digit_shift": candidate})
        calibration = {"temperature": fit_temperature(shifted, labels)}
        if candidate:
            calibration["not_a_digit_shift"] = candidate
        scores = []
        for part_logits, part_labels in parts.values():
            probs = calibrate_logits(part_logits, calibration).softmax(1)
            right = read_right(probs, part_labels, not_sure_below)
            scores.append(right.float().mean().item())
        score = sum(scores) / len(scores)
        if score > best_score + 1e-12:
            best, best_score = calibration, score
    return best


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
    """Softmax probabilities as if the logits had been divided by ``temperature``."""
    return calibrate_probabilities(probs, {"temperature": temperature})
