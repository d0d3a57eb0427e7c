"""Grids of digits with captions, built on torchvision's ``make_grid``."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from mnist_desk.core.data import MnistSplit, augment_batch

CELL = 28
PAD = 2
CAPTION = 12
SCALE = 2


def captioned_grid(
    images: torch.Tensor, captions: list[str], per_row: int = 16, colours=None
) -> Image.Image:
    """``images`` float in [0, 1] (N, 28, 28); each digit gets a caption line under it."""
    n = images.shape[0]
    if n == 0:
        image = Image.new("RGB", (320, 40), "white")
        ImageDraw.Draw(image).text((8, 12), "(no digits)", fill="black")
        return image
    padded = torch.nn.functional.pad(images.unsqueeze(1), (0, 0, 0, CAPTION // SCALE + 2))
    grid = make_grid(padded, nrow=per_row, padding=PAD, pad_value=0.2)
    array = (grid.permute(1, 2, 0).numpy() * 255).clip(0, 255).astype(np.uint8)
    image = Image.fromarray(array).resize(
        (array.shape[1] * SCALE, array.shape[0] * SCALE), Image.NEAREST
    )
    draw = ImageDraw.Draw(image)
    cell_w = (CELL + PAD) * SCALE
    cell_h = (CELL + CAPTION // SCALE + 2 + PAD) * SCALE
    for i, text in enumerate(captions):
        row, col = divmod(i, per_row)
        x = PAD * SCALE + col * cell_w + 2
        y = PAD * SCALE + row * cell_h + CELL * SCALE + 1
        colour = colours[i] if colours else (255, 255, 0)
        draw.text((x, y), text, fill=colour)
    return image


def samples_grid(split: MnistSplit, augment: bool = False, seed: int = 1) -> Image.Image:
    x = split.images.float().div(255.0).unsqueeze(1)
    if augment:
        x = augment_batch(x, torch.Generator().manual_seed(seed))
    return captioned_grid(x[:, 0], [str(int(y)) for y in split.labels])


def mistakes_grid(images: torch.Tensor, result, limit: int = 400) -> Image.Image:
    """Misclassified test digits captioned "true>predicted confidence%", most confident first."""
    idx = result.mistakes()
    confidence = result.probabilities[idx, result.predictions[idx]]
    idx = idx[np.argsort(-confidence)][:limit]
    captions = [
        f"{result.labels[i]}>{result.predictions[i]} {result.probabilities[i].max() * 100:.0f}"
        for i in idx
    ]
    x = images[torch.from_numpy(idx)].float().div(255.0) if len(idx) else torch.zeros(0, 28, 28)
    return captioned_grid(x, captions)
