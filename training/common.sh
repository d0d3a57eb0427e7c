# Shared by the recipes: where MNIST is, where runs go, which command trains.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export MNIST_DESK_DATA="${MNIST_DESK_DATA:-$(cd .. && pwd)/shared/mnist}"
RUNS="${RUNS:-runs}"
TRAIN=(.venv/bin/mnist-desk train --data "$MNIST_DESK_DATA")
