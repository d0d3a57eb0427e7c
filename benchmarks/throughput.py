"""Training throughput: our in-memory batches vs a tutorial-style per-sample DataLoader.

Both loops train the same model with the same optimizer for the same number of batches
in one run, so the ratio is fair on whatever machine runs it.

    python benchmarks/throughput.py [--models mlp,lenet5,cnn,desknet] [--batches 60] [--device auto]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

from mnist_desk.core.data import NORMALIZATION, iterate_batches, load_mnist
from mnist_desk.core.device import device_label, select_device
from mnist_desk.core.models import build_model


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _train_steps(model, optimizer, batches, device, count) -> float:
    """Seconds for ``count`` optimisation steps after 3 warm-up steps."""
    started = None
    for done, (x, y) in enumerate(batches, start=1):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if done == 3:
            _sync(device)
            started = time.perf_counter()
        if done == count + 3:
            break
    _sync(device)
    return time.perf_counter() - started


def tutorial_loader(root: str, batch_size: int):
    """What the tutorials do: torchvision MNIST + ToTensor/Normalize, decoded per sample."""
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((NORMALIZATION[0],), (NORMALIZATION[1],))]
    )
    dataset = datasets.MNIST(root, train=True, download=False, transform=transform)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)


def measure(models, batches, batch_size, device, data_root, augment=False):
    data = load_mnist(data_root, download=False)
    train = data.train.to(device)
    rows = []
    for name in models:
        for loop in ("in-memory (ours)", "DataLoader (tutorial)"):
            torch.manual_seed(0)
            model = build_model(name).to(device).train()
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            if loop.startswith("in-memory"):
                source = iterate_batches(
                    train, batch_size, True, torch.Generator(), augment=augment
                )
            else:
                source = iter(tutorial_loader(str(data_root), batch_size))
            seconds = _train_steps(model, optimizer, source, device, batches)
            images_per_s = batches * batch_size / seconds
            rows.append((name, loop, images_per_s, len(data.train) / images_per_s))
    return rows


def table(rows, device_text, batch_size) -> str:
    lines = [
        f"Training throughput on {device_text}, batch {batch_size}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads",
        "",
        "| model | data loop | images/s | s/epoch (60k) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for i in range(0, len(rows), 2):
        ours, tutorial = rows[i], rows[i + 1]
        for row, ratio in ((ours, ours[2] / tutorial[2]), (tutorial, 1.0)):
            lines.append(f"| {row[0]} | {row[1]} | {row[2]:,.0f} | {row[3]:.1f} | {ratio:.1f}× |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,lenet5,cnn,desknet")
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", default=os.environ.get("MNIST_DESK_DATA", "../shared/mnist"))
    args = parser.parse_args(argv)
    device = select_device(args.device)
    rows = measure(args.models.split(","), args.batches, args.batch_size, device, args.data)
    print(table(rows, device_label(device), args.batch_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
