"""mnist-desk: draw a digit, watch a CNN read it, retrain and inspect MNIST models."""

__version__ = "0.1.0"
