"""One registry of models by name: the classic tutorials' networks and our own."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass(frozen=True)
class Arg:
    """One keyword a builder accepts, with the bounds a checkpoint's value must respect.

    Checked before building, so a file asking for a 2,500-wide network is refused in
    milliseconds instead of costing gigabytes first.
    """

    kind: type  # int or float
    low: float
    high: float
    choices: tuple = ()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is unusable, or ``None`` when it is fine."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"is {value!r}, not a number"
        if self.kind is int and not isinstance(value, int):
            return f"is {value!r}, not a whole number"
        if not math.isfinite(value) or not self.low <= value <= self.high:
            return f"is {value!r}, outside {self.low:g}..{self.high:g}"
        if self.choices and value not in self.choices:
            return f"is {value!r}, not one of {', '.join(map(str, self.choices))}"
        return None


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    build: Callable[..., nn.Module]
    args: dict[str, Arg] = field(default_factory=dict)


MODELS: dict[str, ModelSpec] = {}


def register(name: str, summary: str, args: dict[str, Arg] | None = None):
    def decorator(builder: Callable[..., nn.Module]):
        MODELS[name] = ModelSpec(name, summary, builder, dict(args or {}))
        return builder

    return decorator


def model_names() -> list[str]:
    return list(MODELS)


def model_args_problems(name: str, model_args: Any) -> list[str]:
    """What is wrong with ``model_args`` for model ``name`` (empty when they can be built)."""
    if not isinstance(model_args, dict):
        return [f"model_args is a {type(model_args).__name__}, not a dict"]
    spec = MODELS[name].args
    problems = []
    for key, value in model_args.items():
        if key not in spec:
            known = f"it takes {', '.join(spec)}" if spec else "it takes none"
            problems.append(f"{name} has no argument {key!r} ({known})")
            continue
        reason = spec[key].problem(value)
        if reason:
            problems.append(f"{key} {reason}")
    return problems


def build_model(name: str, **kwargs) -> nn.Module:
    if name not in MODELS:
        raise KeyError(f"Unknown model {name!r}; known models: {', '.join(MODELS)}.")
    return MODELS[name].build(**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _mlp(sizes: list[int], activation: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


@register("mlp", "Classic MLP 784-120-84-10 with ReLU (tutorial baseline).")
def mlp() -> nn.Module:
    return _mlp([784, 120, 84, 10], nn.ReLU)


@register("mlp-sigmoid", "MLP 784-128-256-10 with Sigmoid: shows vanishing gradients.")
def mlp_sigmoid() -> nn.Module:
    return _mlp([784, 128, 256, 10], nn.Sigmoid)


@register("mlp-relu", "MLP 784-128-256-10 with ReLU: the same shape as mlp-sigmoid.")
def mlp_relu() -> nn.Module:
    return _mlp([784, 128, 256, 10], nn.ReLU)


@register("lenet5", "LeNet-5 as in LeCun et al. 1998: Tanh and average pooling.")
def lenet5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.Tanh(),
        nn.Linear(120, 84),
        nn.Tanh(),
        nn.Linear(84, 10),
    )


@register("cnn", "Tutorial CNN: 3x3 convs 16/32/64 with pooling, then 64*7*7 -> 10.")
def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 10),
    )


@register("cnn5", "Tutorial CNN: 5x5 convs 32/64 with pooling, fc 1000, dropout.")
def cnn5() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(64 * 7 * 7, 1000),
        nn.ReLU(),
        nn.Linear(1000, 10),
    )


def _conv_bn(n_in: int, n_out: int) -> list[nn.Module]:
    return [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out), nn.ReLU()]


class DeskNet(nn.Module):
    """Our shipped model: small VGG-style CNN with BatchNorm, sized for < 2 ms CPU inference."""

    def __init__(self, width: int = 32, dropout: float = 0.25, num_classes: int = 10) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_conv_bn(1, w),
            *_conv_bn(w, w),
            nn.MaxPool2d(2),
            nn.Dropout(dropout / 2),
            *_conv_bn(w, 2 * w),
            *_conv_bn(2 * w, 2 * w),
            nn.MaxPool2d(2),
            nn.Dropout(dropout / 2),
            *_conv_bn(2 * w, 4 * w),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


@register(
    "desknet",
    "Our CNN: 5 conv layers with BatchNorm, augmentation-ready (shipped).",
    # width 256 is already 40x the shipped model's compute; 11 classes add "not a digit".
    args={
        "width": Arg(int, 1, 256),
        "dropout": Arg(float, 0.0, 0.9),
        "num_classes": Arg(int, 10, 11),
    },
)
def desknet(width: int = 32, dropout: float = 0.25, num_classes: int = 10) -> nn.Module:
    """``num_classes=11`` adds a "not a digit" class (index 10) for the shipped model."""
    return DeskNet(width=width, dropout=dropout, num_classes=num_classes)
