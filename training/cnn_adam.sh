#!/usr/bin/env bash
# The tutorial CNN (3x3 convs 16/32/64) with Adam lr 1e-3, 10 epochs.
source "$(dirname "$0")/common.sh"
"${TRAIN[@]}" --arch cnn --epochs 10 --batch-size 64 --optimizer adam --lr 0.001 \
  --select-by last --seed 1 --out "$RUNS/tutorial-cnn" "$@"
