"""Pure Python + PyTorch: no Qt import may appear anywhere below this package."""
