"""``Predictor``: a loaded checkpoint that turns 28×28 images into probabilities."""

from __future__ import annotations

import os

import numpy as np
import torch

from mnist_desk.core.checkpoint import Checkpoint, load_checkpoint

DIGITS = 10
NOT_A_DIGIT = 10  # index of the extra class a model with 11 outputs has
# Below this calibrated probability the app says "Not sure" instead of naming a digit.
NOT_SURE_BELOW = 0.6


def reading_state(digit_probs: np.ndarray, not_digit: float = 0.0) -> str:
    """ "digit", "not-sure" or "not-a-digit", from calibrated probabilities (one drawing)."""
    top = float(np.max(digit_probs)) if len(digit_probs) else 0.0
    if not_digit >= NOT_SURE_BELOW or (not_digit > top and top < NOT_SURE_BELOW):
        return "not-a-digit"
    return "digit" if top >= NOT_SURE_BELOW else "not-sure"


class Predictor:
    """Holds one model in eval mode on the CPU; safe to use from one worker thread.

    Probabilities are calibrated (logits divided by the checkpoint's temperature) so that
    "90%" means right about nine times in ten. A model with an 11th output also says how
    likely the drawing is not a digit at all; ``probabilities`` still returns the ten digit
    probabilities (they then sum to 1 - P(not a digit)).
    """

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        self.checkpoint = checkpoint
        self.device = torch.device(device)
        self.model = checkpoint.build().to(self.device)
        self.mean, self.std = checkpoint.normalization
        self.calibration = dict(checkpoint.calibration)
        self.temperature = float(self.calibration.get("temperature", 1.0))
        self.num_classes = int(checkpoint.model_args.get("num_classes", DIGITS))
        self.onnx = None  # a core.onnx_reader.OnnxReader once use_onnxruntime() found one
        self._onnx_tried = False

    def use_onnxruntime(self) -> bool:
        """Read through onnxruntime from now on (the live pad's worker asks for it); False
        when it is not installed or does not compute what PyTorch computes. Tried once: a
        model that cannot be exported is not exported again at every call."""
        from mnist_desk.core.onnx_reader import build_reader

        if self.device.type == "cpu" and not self._onnx_tried:
            self._onnx_tried = True
            self.onnx = build_reader(self.model, float(self.mean), float(self.std))
        return self.onnx is not None

    @classmethod
    def from_path(cls, path: str | os.PathLike, device: str = "cpu") -> Predictor:
        return cls(load_checkpoint(path), device)

    @property
    def name(self) -> str:
        return self.checkpoint.model_name

    @property
    def knows_non_digits(self) -> bool:
        return self.num_classes > DIGITS

    def _tensor(self, images: np.ndarray) -> torch.Tensor:
        array = np.asarray(images, dtype=np.float32)
        if array.ndim == 2:
            array = array[None]
        x = torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1).to(self.device)
        return (x - self.mean) / self.std

    def logits(self, images: np.ndarray) -> torch.Tensor:
        """The model's raw (N, C) logits, before calibration; autograd follows the caller's mode."""
        return self.model(self._tensor(images)).float()

    def calibrate(self, logits):
        """Raw logits → the checkpoint's calibrated logits (core.calibration); torch or numpy."""
        from mnist_desk.core.calibration import calibrate_logits

        return calibrate_logits(logits, self.calibration)

    def all_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(28, 28) or (N, 28, 28) floats in [0, 1] → (C,) or (N, C), C = 10 or 11."""
        array = np.asarray(images, dtype=np.float32)
        if self.onnx is not None and array.shape[-2:] == (28, 28):  # the exported shape
            # numpy after the pass too: a torch op on ten numbers costs more than the
            # whole onnxruntime pass when it follows a pause (core.onnx_reader)
            logits = self.onnx.run(array[None] if array.ndim == 2 else array)[0]
            probs = softmax_rows(self.calibrate(logits))
        else:
            with torch.inference_mode():
                probs = self.calibrate(self.logits(array)).softmax(dim=1).cpu().numpy()
        return probs[0] if array.ndim == 2 else probs

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """The ten digit probabilities, (10,) or (N, 10)."""
        return self.all_probabilities(images)[..., :DIGITS]

    def not_digit_probability(self, probs: np.ndarray) -> np.ndarray | float:
        """P(not a digit) from ``all_probabilities``' output: 0 for 10-class models."""
        probs = np.asarray(probs)
        if probs.shape[-1] <= DIGITS:
            return 0.0 if probs.ndim == 1 else np.zeros(probs.shape[0], np.float32)
        return probs[..., NOT_A_DIGIT] if probs.ndim > 1 else float(probs[NOT_A_DIGIT])

    def top_k(self, image28: np.ndarray, k: int = 3) -> list[tuple[int, float]]:
        return top_k_of(self.probabilities(image28), k)

    def explain(self, image28: np.ndarray, target: int | None = None):
        """What drove the answer for one class (the top digit by default).

        Grad-CAM on the last conv layer, or the input gradient for an MLP: a signed 28×28
        map in [-1, 1] (core.inspect.Explanation) that changes with the class it explains,
        unlike |gradient × ink|, which lit up all the ink almost evenly whatever the class.
        """
        from mnist_desk.core.inspect import explain

        return explain(self, image28, target)


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis of numpy logits (float32 in, float32 out)."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def top_k_of(probs: np.ndarray, k: int) -> list[tuple[int, float]]:
    order = np.argsort(-probs)[: max(1, min(k, len(probs)))]
    return [(int(d), float(probs[d])) for d in order]
