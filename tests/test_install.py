"""The app as a new user installs it: the wheel's contents, a fresh venv, `mnist-desk predict`.

The wheel is built offline from a copy of the sources (no stale build/ folder, nothing written
into the checkout); the fresh venv reuses this interpreter's torch, Qt etc. through a .pth
file, so the test needs no network and takes seconds.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import mnist_desk
from mnist_desk.cli import main

ROOT = Path(__file__).resolve().parent.parent
RESOURCE_PATTERNS = ("*.pt", "*.md", "*.png")  # [tool.setuptools.package-data] in pyproject


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would point the child at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MNIST_DESK_RESOURCES")}
    return env | extra


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("mnist_desk", "resources"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )
    (built,) = out.glob("mnist_desk-*.whl")
    return built


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_wheel_carries_every_module_and_the_shipped_resources(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        modules = {
            p.relative_to(ROOT).as_posix()
            for p in (ROOT / "mnist_desk").rglob("*.py")
            if "__pycache__" not in p.parts
        }
        assert modules - names == set(), "add new sub-packages to [tool.setuptools] packages"
        shipped = {p for pattern in RESOURCE_PATTERNS for p in (ROOT / "resources").glob(pattern)}
        assert {"desknet.pt", "MODEL_CARD.md", "icon.png"} <= {p.name for p in shipped}
        for path in shipped:
            inside = archive.read(f"mnist_desk/resources/{path.name}")
            assert _sha(inside) == _sha(path.read_bytes()), path.name
        assert not any(n.startswith(("resources/", "tests/", "training/")) for n in names)
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        meta = Parser().parsestr(archive.read(meta_name).decode())
        (license_name,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert archive.read(license_name) == (ROOT / "LICENSE").read_bytes()
    assert meta["Version"] == mnist_desk.__version__
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "Draw a digit with the" in meta.get_payload()  # README is the long description
    requires = meta.get_all("Requires-Dist")
    onnx_lines = [r for r in requires if r.startswith(("onnx", "onnxruntime", "onnxscript"))]
    assert len(onnx_lines) == 3 and all('extra == "export"' in r for r in onnx_lines)
    assert any(r.startswith("mnist-desk[export]") and 'extra == "dev"' in r for r in requires)
    assert {"torch", "torchvision", "PySide6-Essentials"} <= {
        r.split(">")[0].split("<")[0].split(";")[0].strip() for r in requires
    }


def _fresh_venv(folder: Path) -> Path:
    """A venv without pip whose site-packages also sees this interpreter's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_outer_site_packages.pth").write_text("\n".join(sorted(outer)) + "\n")
    return python


def _drawn_three(folder: Path) -> Path:
    from mnist_desk.core.handwriting import our_digit
    from mnist_desk.core.preprocess import render_strokes

    strokes, pen = our_digit(3, "plain")
    ink = np.pad(render_strokes(strokes, pen, 160), 40)
    path = folder / "three.png"
    Image.fromarray(((1 - ink) * 255).astype(np.uint8)).save(path)  # dark ink on white
    return path


def test_the_installed_wheel_predicts_a_drawn_digit_from_another_folder(wheel, tmp_path):
    python = _fresh_venv(tmp_path / "venv")
    env = _clean_env(MNIST_DESK_HOME=str(tmp_path / "home"))
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall"]
        + ["-q", str(wheel)],
        check=True,
        capture_output=True,
        env=env,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    image = _drawn_three(elsewhere)

    def run(*args: str) -> str:
        done = subprocess.run(
            args, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    where = run(
        str(python),
        "-c",
        "import mnist_desk, mnist_desk.paths as p; print(mnist_desk.__file__); "
        "print(p.default_checkpoint_path())",
    ).splitlines()
    venv = str(tmp_path / "venv")
    assert all(line.startswith(venv) for line in where), where  # the wheel's copy, not ours
    script = tmp_path / "venv" / "bin" / "mnist-desk"
    assert run(str(script), "--version") == f"mnist-desk {mnist_desk.__version__}"
    (answer,) = json.loads(run(str(script), "predict", "--json", image.name))
    assert answer["image"] == "three.png" and answer["top_k"][0]["digit"] == 3, answer


def test_export_without_its_extra_says_what_to_install(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__

    def no_onnxscript(name, *args, **kwargs):
        if name.split(".")[0] == "onnxscript":
            raise ImportError(f"No module named {name!r}", name="onnxscript")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxscript)
    assert main(["export", "--onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'mnist-desk[export]'" in err and "\n" not in err
    assert not (tmp_path / "m.onnx").exists()
