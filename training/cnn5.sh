#!/usr/bin/env bash
# The 5x5 CNN (32/64, fc 1000) with a 10% validation split choosing the best epoch.
source "$(dirname "$0")/common.sh"
"${TRAIN[@]}" --arch cnn5 --epochs 10 --batch-size 64 --optimizer adam --lr 0.001 \
  --val-split 0.1 --select-by val --seed 1 --out "$RUNS/tutorial-cnn5" "$@"
