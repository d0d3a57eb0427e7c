"""Look inside a model while it reads one drawing: every layer's output and a "why" map.

The layer list is read from the model itself with forward hooks on its leaf modules, so the
same code serves every registry model (MLPs, LeNet-5, the tutorial CNNs, desknet) and any
new one. Leaf modules are grouped into the layers a person thinks in: a convolution (with
the BatchNorm and activation that follow it), a pooling step, a dense layer, then the
softmax. Dropout, Flatten and friends change nothing at inference and are not shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_desk.core.predict import DIGITS, Predictor, softmax_rows

INVISIBLE = (nn.Dropout, nn.Dropout2d, nn.Flatten, nn.Identity)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
FEATURE_DIM_CAP = 256  # penultimate features wider than this are projected (see neighbours.py)


@dataclass
class Layer:
    """One layer as a person sees it: its output for the current drawing and its range."""

    name: str  # "conv 1", "pool 2", "dense 1", "softmax"
    kind: str  # "input", "conv", "pool", "dense", "softmax"
    module: str  # the leaf module's qualified name ("features.0"); "" for input/softmax
    detail: str  # what follows it, e.g. "BatchNorm2d → ReLU"
    values: np.ndarray  # (C, H, W) feature maps or (N,) a vector

    @property
    def is_maps(self) -> bool:
        return self.values.ndim == 3 and self.values.shape[1] * self.values.shape[2] > 1

    @property
    def value_range(self) -> tuple[float, float]:
        return float(self.values.min()), float(self.values.max())


@dataclass
class Explanation:
    """A class-specific map over the 28×28 input, scaled to [-1, 1] (0 = no influence)."""

    target: int  # class index (10 = "not a digit" for 11-class models)
    method: str  # "Grad-CAM on conv 3" or "input gradient"
    heat: np.ndarray  # (28, 28) float32


@dataclass
class Inspection:
    layers: list[Layer]
    probabilities: np.ndarray  # all classes, calibrated (10 or 11)
    explanations: dict[int, Explanation] = field(default_factory=dict)
    features: np.ndarray | None = None  # penultimate features, unit length, ≤ FEATURE_DIM_CAP


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if n and not list(m.children())]


def last_linear(model: nn.Module) -> tuple[str, nn.Linear]:
    """The classifier's final Linear: its input is the penultimate feature vector."""
    linears = [(n, m) for n, m in _leaves(model) if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no Linear layer to read features from.")
    return linears[-1]


def _record(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list, torch.Tensor]:
    """Run ``model`` once with hooks; returns logits, [(name, module, output)], features."""
    calls: list[tuple[str, nn.Module, torch.Tensor]] = []
    features: list[torch.Tensor] = []
    handles = []
    for name, module in _leaves(model):
        handles.append(
            module.register_forward_hook(
                lambda mod, _inp, out, name=name: calls.append((name, mod, out))
            )
        )
    _, final = last_linear(model)
    handles.append(final.register_forward_pre_hook(lambda _m, inp: features.append(inp[0])))
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return logits, calls, features[-1]


def _group(calls) -> list[tuple[str, str, str, list[str], torch.Tensor]]:
    """Leaf calls → (name, kind, module, followers, output) for the layers worth showing."""
    groups: list[list] = []
    counts = {"conv": 0, "pool": 0, "dense": 0}
    for name, module, out in calls:
        if isinstance(module, INVISIBLE):
            continue
        if isinstance(module, nn.Conv2d):
            kind = "conv"
        elif isinstance(module, POOLS):
            kind = "pool"
        elif isinstance(module, nn.Linear):
            kind = "dense"
        elif groups:  # BatchNorm, activation: part of the layer before it
            groups[-1][3].append(type(module).__name__)
            groups[-1][4] = out
            continue
        else:
            continue
        counts[kind] += 1
        groups.append([f"{kind} {counts[kind]}", kind, name, [], out])
    return [tuple(g) for g in groups]


def _as_array(out: torch.Tensor) -> np.ndarray:
    array = out.detach()[0].float().cpu().numpy()
    if array.ndim == 3 and array.shape[1] * array.shape[2] == 1:
        array = array.reshape(-1)  # global pooling: a vector, shown as a strip
    return np.ascontiguousarray(array, dtype=np.float32)


def inspect(
    predictor: Predictor, image28: np.ndarray, targets: tuple[int, ...] = (), top: bool = True
) -> Inspection:
    """Every layer's output for one drawing, plus "why" maps for ``targets`` (and the top).

    One forward pass with hooks; one backward pass per explained class.
    """
    model = predictor.model
    image = np.asarray(image28, dtype=np.float32)
    x = predictor._tensor(image).requires_grad_(True)
    with torch.enable_grad():
        logits, calls, penultimate = _record(model, x)
        groups = _group(calls)
        probs = predictor.calibrate(logits.detach().float()).softmax(dim=1)[0].numpy()
        layers = [Layer("input", "input", "", "28×28 pixels", image.copy())]
        for name, kind, module, followers, out in groups:
            layers.append(Layer(name, kind, module, " → ".join(followers), _as_array(out)))
        layers.append(Layer("softmax", "softmax", "", _softmax_detail(predictor), probs))
        convs = [g for g in groups if g[1] == "conv"]
        wanted = list(dict.fromkeys(([int(probs[:DIGITS].argmax())] if top else []) + [*targets]))
        wanted = [t for t in wanted if 0 <= t < probs.shape[0]]
        explanations = {}
        for i, target in enumerate(wanted):
            retain = i < len(wanted) - 1
            if convs:
                cam_name, *_rest, cam_out = convs[-1]
                heat = _grad_cam(logits[0, target], cam_out, retain)
                explanations[target] = Explanation(target, f"Grad-CAM on {cam_name}", heat)
            else:
                heat = _input_gradient(logits[0, target], x, retain)
                explanations[target] = Explanation(target, "input gradient", heat)
    return Inspection(layers, probs, explanations, penultimate_features(penultimate))


def _softmax_detail(predictor: Predictor) -> str:
    t = predictor.temperature
    shift = float(predictor.calibration.get("not_a_digit_shift", 0.0))
    detail = f"logits ÷ {t:.2f} (calibration)" if abs(t - 1.0) > 1e-6 else "probabilities"
    return detail + (f", not-a-digit prior −{shift:g}" if shift else "")


def _grad_cam(score: torch.Tensor, maps: torch.Tensor, retain: bool) -> np.ndarray:
    """Selvaraju et al. 2017: weigh each map by its mean gradient, keep the positive part."""
    (grad,) = torch.autograd.grad(score, maps, retain_graph=retain)
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * maps).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=(28, 28), mode="bilinear", align_corners=False)[0, 0]
    return _scaled(cam.numpy())


def _input_gradient(score: torch.Tensor, x: torch.Tensor, retain: bool) -> np.ndarray:
    """For an MLP: how each pixel would move the class score (red raises, blue lowers)."""
    (grad,) = torch.autograd.grad(score, x, retain_graph=retain)
    return _scaled(grad[0, 0].detach().numpy())


def _scaled(heat: np.ndarray) -> np.ndarray:
    peak = float(np.abs(heat).max())
    return (heat / peak if peak > 0 else heat).astype(np.float32)


def explain(predictor: Predictor, image28: np.ndarray, target: int | None = None) -> Explanation:
    """One class-specific map; ``target`` None means the top digit."""
    targets = () if target is None else (target,)
    inspection = inspect(predictor, image28, targets, top=target is None)
    return next(iter(inspection.explanations.values()))


# ----- penultimate features ----------------------------------------------------------------
_PROJECTIONS: dict[int, torch.Tensor] = {}


def _projection(dim: int) -> torch.Tensor:
    """A fixed random projection (Johnson–Lindenstrauss) that keeps cosines roughly intact."""
    if dim not in _PROJECTIONS:
        generator = torch.Generator().manual_seed(20151)
        matrix = torch.randn(dim, FEATURE_DIM_CAP, generator=generator) / FEATURE_DIM_CAP**0.5
        _PROJECTIONS[dim] = matrix
    return _PROJECTIONS[dim]


def penultimate_features(features: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, D) or (1, D) → unit-length float32 rows, D capped by a fixed projection."""
    if isinstance(features, torch.Tensor):
        features = features.detach().float().cpu().numpy()
    f = np.asarray(features, np.float32)
    f = f.reshape(f.shape[0], int(np.prod(f.shape[1:])))  # not -1: that fails on 0 rows
    if f.shape[1] > FEATURE_DIM_CAP:
        f = f @ _projection(f.shape[1]).numpy()
    return f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)


def probabilities_and_features(predictor: Predictor, image28: np.ndarray):
    """``predictor.all_probabilities`` of one drawing, and its penultimate features as well
    (for the Network tab's neighbours), from the same single forward pass; features None
    for a model without a Linear layer to read them from."""
    if predictor.onnx is not None and predictor.onnx.has_features and np.shape(image28) == (28, 28):
        logits, features = predictor.onnx.run(np.asarray(image28, np.float32)[None])
        return softmax_rows(predictor.calibrate(logits))[0], penultimate_features(features)[0]
    try:
        _, final = last_linear(predictor.model)
    except ValueError:
        return predictor.all_probabilities(image28), None
    with torch.inference_mode():
        logits, features = _logits_and_final_input(predictor, final, image28)
        probs = predictor.calibrate(logits).softmax(dim=1).cpu().numpy()[0]
    return probs, penultimate_features(features)[0]


def batch_features(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """Penultimate features of many 28×28 images (floats in [0, 1])."""
    _, final = last_linear(predictor.model)
    with torch.inference_mode():
        _, features = _logits_and_final_input(predictor, final, images)
    return penultimate_features(features)


def _logits_and_final_input(
    predictor: Predictor, final: nn.Linear, images: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass: the raw logits, and what ``final`` (the last Linear) was given."""
    return with_final_input(final, lambda: predictor.logits(images))


def with_final_input(final: nn.Module, forward) -> tuple[torch.Tensor, torch.Tensor]:
    """``forward()``'s result and the input ``final`` received during it (the penultimate
    features): one pass gives both, here and in the graph core.onnx_reader exports."""
    captured: list[torch.Tensor] = []
    handle = final.register_forward_pre_hook(lambda _m, inp: captured.append(inp[0]))
    try:
        result = forward()
    finally:
        handle.remove()
    return result, captured[-1]


# ----- weights ----------------------------------------------------------------------------
def display_weights(model: nn.Module) -> dict[str, np.ndarray]:
    """Weights worth drawing, by leaf module name, as numpy (made once per model).

    A conv layer: its kernels (out, in, k, k), one small image per input channel. A dense
    layer that reads the 28×28 input (an MLP's first layer): one 28×28 template per unit.
    Other dense layers are not pictures and are left out.
    """
    weights = {}
    for name, module in _leaves(model):
        if isinstance(module, nn.Conv2d):
            weights[name] = module.weight.detach().float().cpu().numpy()
        elif isinstance(module, nn.Linear) and module.in_features == 28 * 28:
            weights[name] = module.weight.detach().float().cpu().numpy().reshape(-1, 28, 28)
    return weights


def class_names(num_classes: int) -> list[str]:
    names = [str(d) for d in range(DIGITS)]
    return names + ["not a digit"] * (num_classes - DIGITS)
