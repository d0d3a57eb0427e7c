"""What the bundle leaves out: files PyInstaller's hooks collect that the app never loads.

mnist_desk.spec applies these rules; ``python packaging/trim.py FOLDER`` lists what a built
bundle still holds that they would cut (empty after a build with them). Paths are relative to
the bundle's ``_internal`` folder, with forward slashes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

UNUSED = (
    # torch's C++ test programs, test libraries and build tools (protoc, shm manager tests).
    "torch/test/*",
    "torch/bin/*",
    "torch/lib/*test*.so",
    "torch/lib/libaoti_custom_ops.so",
    "torch/lib/libbackend_with_compiler.so",
    "torch/include/*",
    "torch/share/*",
    # CUDA and triton: the bundle is CPU-only (build.sh refuses a CUDA torch).
    "nvidia/*",
    "triton/*",
    "torch/lib/libcu*",
    "torch/lib/libnccl*",
    "torch/lib/libnv*",
    # Qt's own translations: the app installs no QTranslator, so Qt never loads them.
    "PySide6/Qt/translations/*",
    # Test folders of any package.
    "*/tests/*",
)
# Exceptions to the patterns: `import torch` looks for its shared-memory manager.
NEEDED = ("torch/bin/torch_shm_manager",)

# Python modules the app never imports; pyqtgraph tries QtSvg and QtTest and copes without.
# (QtOpenGL and QtOpenGLWidgets stay: pyqtgraph's PlotCurveItem imports them unconditionally.)
EXCLUDED_MODULES = [
    "tkinter",
    "matplotlib",
    "IPython",
    "torchvision",  # MNIST is read by mnist_desk.core.idx in the bundle
    "onnxscript",  # only `mnist-desk export` (the dynamo exporter) needs it
    "triton",
    "pytest",
    "hypothesis",
    "tensorboard",
    "pyqtgraph.opengl",
    "PySide6.QtSvg",
    "PySide6.QtTest",
    "PySide6.QtNetwork",
]


def is_unused(dest: str) -> bool:
    return dest not in NEEDED and any(fnmatch(dest, pattern) for pattern in UNUSED)


def keep(entries):
    """PyInstaller's (dest, source, kind) entries without the unused ones."""
    return [entry for entry in entries if not is_unused(entry[0].replace("\\", "/"))]


# Large libraries that ship their symbol tables (about 100 MiB of libtorch); `strip` keeps the
# dynamic symbols they are linked by. Not PyInstaller's strip=True: stripping every library
# breaks the ones auditwheel patched (numpy's and Pillow's vendored libraries).
STRIP = ("torch/lib/libtorch_cpu.so", "torch/lib/libtorch_python.so", "torch/lib/libc10.so")


def stripped(entries, folder: Path):
    """The entries with stripped copies (made in ``folder``) of the STRIP libraries."""
    if shutil.which("strip") is None:
        print("packaging/trim.py: no `strip` here (binutils); libtorch stays unstripped")
        return entries
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for dest, source, kind in entries:
        if dest.replace("\\", "/") in STRIP:
            copy = folder / Path(dest).name
            if not copy.exists() or copy.stat().st_mtime < Path(source).stat().st_mtime:
                subprocess.run(["strip", "-o", str(copy), source], check=True)
            source = str(copy)
        out.append((dest, source, kind))
    return out


def main(folder: str) -> int:
    internal = Path(folder) / "_internal"
    cut = [
        p
        for p in internal.rglob("*")
        if p.is_file() and is_unused(p.relative_to(internal).as_posix())
    ]
    for path in cut:
        print(path.relative_to(internal).as_posix())
    size = sum(p.stat().st_size for p in cut) / 2**20
    print(f"{len(cut)} files, {size:,.0f} MiB that the rules cut", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
