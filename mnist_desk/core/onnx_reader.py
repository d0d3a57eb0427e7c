"""onnxruntime for the live pad's small forward passes, when it is installed.

The pad reads every drawing with one image's forward pass. For such a pass PyTorch spends
most of its time in per-operator overhead, and after the pause between two strokes it is
slower still (cold caches): desknet's forward takes 1.2 ms back to back and 3.5 ms after
100 ms of idle on a 2-core CPU (p50), the whole reading through onnxruntime 0.3 and 1.5 ms
with the same weights (``benchmarks/latency.py``, benchmarks/RESULTS.md, 07:16 UTC
2026-11-26). So the inference worker reads through onnxruntime, and PyTorch keeps everything
that needs autograd or hooks (the "why" maps, the Network tab's layers).

The model is exported in memory when it is loaded (about 30 ms) and the session is used only
if it computes what PyTorch computes on probe images; otherwise, or without onnxruntime
(``pip install 'mnist-desk[export]'``), PyTorch answers as before. ``MNIST_DESK_ONNXRUNTIME=0``
turns it off (to compare the two in a benchmark).
"""

from __future__ import annotations

import copy
import io
import os
import threading
import warnings

import numpy as np
import torch
from torch import nn

# Raw logits of the two engines differ by float rounding only (1e-5 here); a wrong graph
# differs by whole units.
PARITY_TOLERANCE = 1e-3
SWITCH = "MNIST_DESK_ONNXRUNTIME"
# The TorchScript exporter keeps module-level state: two exports at once in two threads
# fail (13 of 20 in a test), and each would then silently leave its model on PyTorch.
_EXPORT_LOCK = threading.Lock()
# What that exporter says on every call, and nothing else: (message, module it is blamed on).
_EXPORTER_WARNINGS = (
    (r"You are using the legacy TorchScript-based ONNX export", ""),  # blamed on its caller
    (r"The feature will be removed", r"torch\.onnx\."),
)


class _Readout(nn.Module):
    """(N, 28, 28) images in [0, 1] → raw logits, and the last Linear's input when asked."""

    def __init__(self, model: nn.Module, mean: float, std: float, final: nn.Linear | None):
        super().__init__()
        self.model, self.mean, self.std, self.final = model, mean, std, final

    def forward(self, images: torch.Tensor):
        from mnist_desk.core.inspect import with_final_input

        x = (images.unsqueeze(1) - self.mean) / self.std
        if self.final is None:
            return self.model(x)
        return with_final_input(self.final, lambda: self.model(x))


class OnnxReader:
    """An onnxruntime session over one model's weights: logits and penultimate features."""

    def __init__(self, session, has_features: bool) -> None:
        self.session = session
        self.has_features = has_features

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, 28, 28) floats in [0, 1] → raw (N, C) logits and (N, D) features (or None)."""
        batch = np.ascontiguousarray(images, dtype=np.float32)
        outputs = self.session.run(None, {"images": batch})
        return outputs[0], (outputs[1] if self.has_features else None)


def wanted() -> bool:
    """Whether ``MNIST_DESK_ONNXRUNTIME`` leaves onnxruntime on (benchmarks turn it off)."""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def build_reader(model: nn.Module, mean: float, std: float) -> OnnxReader | None:
    """The model as an onnxruntime session, or None when that cannot be had or disagrees."""
    if not wanted():
        return None
    try:
        import onnxruntime
    except ImportError:
        return None
    from mnist_desk.core.inspect import last_linear

    model = copy.deepcopy(model).cpu().eval()  # the caller's model keeps no export state
    for module in model.modules():  # hooks copied along (an inspection under way) stay out
        module._forward_hooks.clear()
        module._forward_pre_hooks.clear()
    try:
        final = last_linear(model)[1]
    except ValueError:
        final = None
    readout = _Readout(model, mean, std, final).eval()
    probe = torch.rand(3, 28, 28, generator=torch.Generator().manual_seed(7))
    probe[0] = 0  # an empty pad
    names = ["logits", "features"] if final is not None else ["logits"]
    try:
        session = onnxruntime.InferenceSession(
            _exported(readout, probe, names),
            _session_options(onnxruntime),
            providers=["CPUExecutionProvider"],
        )
    except Exception:  # any exporter or runtime failure: PyTorch keeps answering
        return None
    reader = OnnxReader(session, final is not None)
    with torch.no_grad():
        expected = readout(probe)
    expected = expected if isinstance(expected, tuple) else (expected,)
    # The pad passes one drawing: a graph that kept the probe's batch size fails on it.
    one = tuple(want[1:2] for want in expected)
    agrees = _agrees(reader, probe, expected) and _agrees(reader, probe[1:2], one)
    return reader if agrees else None


def _exported(readout: _Readout, probe: torch.Tensor, names: list[str]) -> bytes:
    """The readout as ONNX bytes, made with the TorchScript exporter.

    It is deprecated, but it exports in 30 ms; the dynamo one (used by `mnist-desk export`)
    takes 3 s of Python at every model switch, with the GUI thread waiting for the GIL. If it
    goes away, PyTorch answers.
    """
    buffer = io.BytesIO()
    with _EXPORT_LOCK, torch.no_grad():
        # Filters for its own two deprecation notices, not ``catch_warnings``: that swaps the
        # process-wide filter list, so beside another thread's ``catch_warnings`` (checkpoint
        # loading in a job) one thread's exit restored the other's list, the notices reached
        # the terminal and an "ignore everything" filter stayed behind. Added again at every
        # export: a test framework or a ``catch_warnings`` elsewhere may have dropped them.
        for message, module in _EXPORTER_WARNINGS:
            warnings.filterwarnings("ignore", message, DeprecationWarning, module)
        torch.onnx.export(
            readout,
            (probe,),
            buffer,
            input_names=["images"],
            output_names=names,
            dynamic_axes={name: {0: "n"} for name in ["images", *names]},
            dynamo=False,
        )
    return buffer.getvalue()


def _session_options(onnxruntime):
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one drawing: see ui.workers.use_torch_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Without this the session keeps its largest batch's buffers for good: 1.7 GB after
    # the My digits tab's 4,000 drawings, and one such pool per compared model. A drawing's
    # pass is no slower without it (0.66 against 0.69 ms).
    options.enable_cpu_mem_arena = False
    return options


def _agrees(reader: OnnxReader, probe: torch.Tensor, expected: tuple[torch.Tensor, ...]) -> bool:
    try:
        got = reader.run(probe.numpy())
    except Exception:
        return False
    for want, have in zip(expected, got, strict=False):
        if have is None or have.shape != tuple(want.shape):
            return False
        if not np.isfinite(have).all():
            return False
        if np.abs(have - want.numpy()).max() > PARITY_TOLERANCE:
            return False
    return True
