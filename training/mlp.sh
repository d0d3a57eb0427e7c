#!/usr/bin/env bash
# The classic MLP tutorial: 784-120-84-10 ReLU, plain SGD lr 0.005, 50 epochs.
source "$(dirname "$0")/common.sh"
"${TRAIN[@]}" --arch mlp --epochs 50 --batch-size 64 --optimizer sgd --momentum 0 --lr 0.005 \
  --select-by last --seed 1 --out "$RUNS/tutorial-mlp" "$@"
