#!/usr/bin/env bash
# Vanishing gradients: the same 784-128-256-10 MLP with Sigmoid and with ReLU, same SGD settings.
source "$(dirname "$0")/common.sh"
for arch in mlp-sigmoid mlp-relu; do
  "${TRAIN[@]}" --arch "$arch" --epochs 20 --batch-size 64 --optimizer sgd --momentum 0 --lr 0.01 \
    --select-by last --seed 1 --out "$RUNS/tutorial-$arch" "$@"
done
