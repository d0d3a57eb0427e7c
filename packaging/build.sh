#!/usr/bin/env bash
# Build build/dist/mnist-desk (a folder bundle) in its own venv with a CPU-only torch,
# then run the smoke test on it (it trains a tiny run, so it needs MNIST: $MNIST_DESK_DATA).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=build/package-venv
PYTHON="${PYTHON:-python3.11}"
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -r packaging/requirements.txt
"$VENV/bin/python" -m pip install -q --no-deps -e .
if ! "$VENV/bin/python" -c "import sys, torch; sys.exit(torch.version.cuda is not None)"; then
  echo "build/package-venv has a CUDA torch; the bundle needs the CPU-only wheel" \
    "(see packaging/requirements.txt)" >&2
  exit 2
fi
started=$(date +%s)
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN \
  --distpath build/dist --workpath build/pyinstaller packaging/mnist_desk.spec
echo "built in $(( $(date +%s) - started ))s: $(du -sh build/dist/mnist-desk | cut -f1)"
"$VENV/bin/python" packaging/smoke_test.py build/dist/mnist-desk
