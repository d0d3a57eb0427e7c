"""Calibration: confidences that mean what they say, and a fair "not a digit".

A network trained with cross-entropy is rarely calibrated: it says 99% where it is right 95%
of the time (or, trained with label smoothing, 95% where it is right 99.7%). Dividing the
digit logits by one temperature fitted on held-out data (never the test set) fixes most of
that without changing which digit wins, so "Not sure" means something.

A model with an 11th "not a digit" output answers two questions, and each gets its own fit:

* *which digit?* — the ten digit logits ÷ T (fitted on held-out digits);
* *is it a digit at all?* — P(not a digit) = σ(a · m + b) with the raw margin
  m = z₁₀ − logsumexp(z₀…z₉), a Platt scaling fitted on held-out digits and non-digits.

The model learnt "not a digit" from a mix where one drawing in six is not a digit, and from
five writers; the bias ``b`` moves that boundary to where held-out data (best: writers a
leave-writers-out model never saw) puts it. P(digit k) = (1 − P(not a digit)) · softmax(z/T)ₖ.

A checkpoint's ``calibration`` is ``{"temperature": T}`` plus, for 11 outputs,
``"not_a_digit_scale": a, "not_a_digit_bias": b``; without them all 11 logits are ÷ T.
``calibrate_logits`` / ``calibrate_probabilities`` apply it.
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


def _two_questions(calibration: dict, classes: int) -> bool:
    return classes > NOT_A_DIGIT and "not_a_digit_scale" in calibration


def calibrate_logits(logits: torch.Tensor, calibration: dict) -> torch.Tensor:
    """Raw (N, C) logits → calibrated logits (log-probabilities; softmax gives the answer)."""
    temperature = float(calibration.get("temperature", 1.0))
    if not _two_questions(calibration, logits.shape[-1]):
        return logits / temperature
    digits = logits[..., :NOT_A_DIGIT]
    margin = logits[..., NOT_A_DIGIT] - torch.logsumexp(digits, dim=-1)
    other = float(calibration["not_a_digit_scale"]) * margin + float(
        calibration.get("not_a_digit_bias", 0.0)
    )
    log_digits = torch.log_softmax(digits / temperature, dim=-1) + F.logsigmoid(-other)[..., None]
    return torch.cat([log_digits, F.logsigmoid(other)[..., None]], dim=-1)


def calibrate_probabilities(probs: np.ndarray, calibration: dict, undo: bool = False) -> np.ndarray:
    """Softmax output at T = 1 → calibrated probabilities (``undo``: the other way round).

    log p equals the logits up to a per-row constant, so this needs no model.
    """
    probs = np.asarray(probs)
    logs = torch.from_numpy(np.log(np.clip(probs.astype(np.float64), 1e-30, 1.0)))
    temperature = float(calibration.get("temperature", 1.0))
    if not undo:
        out = calibrate_logits(logs, calibration)
    elif not _two_questions(calibration, probs.shape[-1]):
        out = logs * temperature
    else:  # invert: the digits' shares give z/T up to a constant, P(not a digit) gives m
        other = logs[..., NOT_A_DIGIT] - torch.log1p(
            -logs[..., NOT_A_DIGIT].exp().clamp(max=1 - 1e-12)
        )
        margin = (other - float(calibration.get("not_a_digit_bias", 0.0))) / float(
            calibration["not_a_digit_scale"]
        )
        digits = logs[..., :NOT_A_DIGIT] * temperature
        out = torch.cat([digits, (margin + torch.logsumexp(digits, dim=-1))[..., None]], dim=-1)
    return out.softmax(dim=-1).numpy().astype(probs.dtype)


def fit_not_a_digit(
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]], steps: int = 200
) -> tuple[float, float]:
    """(a, b) of P(not a digit) = σ(a·m + b) by log-likelihood, each held-out part weighing
    the same, so thousands of MNIST digits cannot outvote a few hundred non-digits."""
    margins, targets, weights = [], [], []
    for logits, labels in parts.values():
        logits = logits.detach().float()
        margins.append(logits[:, NOT_A_DIGIT] - torch.logsumexp(logits[:, :NOT_A_DIGIT], dim=1))
        targets.append((labels == NOT_A_DIGIT).float())
        weights.append(torch.full((len(labels),), 1.0 / max(len(labels), 1)))
    m, y, w = torch.cat(margins), torch.cat(targets), torch.cat(weights)
    w = w / w.sum()
    params = torch.tensor([1.0, 0.0], requires_grad=True)
    optimizer = torch.optim.LBFGS([params], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (
            w * F.binary_cross_entropy_with_logits(params[0] * m + params[1], y, reduction="none")
        ).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    scale, bias = (float(v) for v in params.detach())
    return min(max(scale, 0.01), 20.0), min(max(bias, -50.0), 50.0)


def fit_calibration(
    parts: dict[str, tuple[torch.Tensor, torch.Tensor]],
    not_a_digit: tuple[float, float] | None = None,
) -> dict[str, float]:
    """The temperature on held-out digits, and for 11 outputs the not-a-digit (a, b): fitted
    on ``parts``, or ``not_a_digit`` as given (from a leave-writers-out run of the recipe)."""
    logits = torch.cat([part_logits for part_logits, _ in parts.values()]).detach().float()
    labels = torch.cat([part_labels for _, part_labels in parts.values()])
    digits = labels != NOT_A_DIGIT
    calibration = {"temperature": fit_temperature(logits[digits, :NOT_A_DIGIT], labels[digits])}
    if logits.shape[1] > NOT_A_DIGIT:
        scale, bias = not_a_digit if not_a_digit is not None else fit_not_a_digit(parts)
        calibration.update(not_a_digit_scale=float(scale), not_a_digit_bias=float(bias))
    return calibration


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
