"""Small Pillow charts for files the CLI writes (the GUI draws live charts with pyqtgraph)."""

from __future__ import annotations

from PIL import Image, ImageDraw

SERIES = (
    ("train", (31, 119, 180)),
    ("val", (255, 127, 14)),
    ("test", (44, 160, 44)),
)


def _panel(draw, box, history, key, title):
    left, top, right, bottom = box
    draw.rectangle(box, outline=(160, 160, 160))
    draw.text((left + 6, top + 4), title, fill=(0, 0, 0))
    values = [h[f"{s}_{key}"] for h in history for s, _ in SERIES if f"{s}_{key}" in h]
    if not values:
        return
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    n = len(history)
    inner = (left + 40, top + 20, right - 10, bottom - 20)

    def xy(i, v):
        x = inner[0] + (inner[2] - inner[0]) * (i / max(n - 1, 1))
        y = inner[3] - (inner[3] - inner[1]) * ((v - lo) / (hi - lo))
        return x, y

    draw.text((left + 4, inner[1] - 6), f"{hi:.3g}", fill=(90, 90, 90))
    draw.text((left + 4, inner[3] - 6), f"{lo:.3g}", fill=(90, 90, 90))
    draw.text((inner[2] - 60, bottom - 16), f"epoch 1..{n}", fill=(90, 90, 90))
    for legend_i, (split, colour) in enumerate(SERIES):
        points = [
            xy(i, h[f"{split}_{key}"]) for i, h in enumerate(history) if f"{split}_{key}" in h
        ]
        if not points:
            continue
        draw.text((right - 140 + 45 * legend_i, top + 4), split, fill=colour)
        if len(points) == 1:
            x, y = points[0]
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        else:
            draw.line(points, fill=colour, width=2)


def plot_history(history: list[dict[str, float]], size=(800, 320)) -> Image.Image:
    """Loss and accuracy per epoch for train/val/test, side by side."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    half = width // 2
    _panel(draw, (4, 4, half - 4, height - 4), history, "loss", "loss")
    _panel(draw, (half + 4, 4, width - 4, height - 4), history, "acc", "accuracy")
    return image
