"""One registry of models by name: the classic tutorials' networks and our own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    name: str
    summary: str
    build: Callable[..., nn.Module]


MODELS: dict[str, ModelSpec] = {}


def register(name: str, summary: str):
    def decorator(builder: Callable[..., nn.Module]):
        MODELS[name] = ModelSpec(name, summary, builder)
        return builder

    return decorator


def model_names() -> list[str]:
    return list(MODELS)


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


@register("desknet", "Our CNN: 5 conv layers with BatchNorm, augmentation-ready (shipped).")
def desknet(width: int = 32, dropout: float = 0.25, num_classes: int = 10) -> nn.Module:
    """``num_classes=11`` adds a "not a digit" class (index 10) for the shipped model."""
    return DeskNet(width=width, dropout=dropout, num_classes=num_classes)
