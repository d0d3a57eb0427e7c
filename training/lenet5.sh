#!/usr/bin/env bash
# LeNet-5 (Tanh, average pooling): SGD momentum 0.9 lr 0.01, StepLR(step 10, gamma 0.1), 20 epochs.
source "$(dirname "$0")/common.sh"
"${TRAIN[@]}" --arch lenet5 --epochs 20 --batch-size 64 --optimizer sgd --momentum 0.9 --lr 0.01 \
  --schedule step --step-size 10 --gamma 0.1 --select-by last --seed 1 \
  --out "$RUNS/tutorial-lenet5" "$@"
