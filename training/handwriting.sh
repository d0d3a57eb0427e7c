#!/usr/bin/env bash
# The shipped model (resources/desknet.pt): MNIST + real pen digits + conventions + "not a
# digit", trained from scratch, then calibrated. See resources/MODEL_CARD.md.
# The training steps want a GPU (about 4 min each on an H200; hours on a 2-core CPU).
# Epochs are fixed here (33: what the GPU sweep's time budget gave, chosen before any score).
source "$(dirname "$0")/common.sh"
PY=.venv/bin/python
HW=(--data "$MNIST_DESK_DATA" --renders 5 --non-digits 15000)
LWO=(--exclude-writers gmd/kast,val/val02)
RECIPE=(--from-scratch --width 48 --lr 3e-3 --label-smoothing 0.05 --epochs 33 --device "${DEVICE:-auto}")
# 1. the extra training digits, with and without the two writers left out for the LWO check
$PY training/handwriting.py --prepare-only "${HW[@]}" --out "$RUNS/hw-data"
$PY training/handwriting.py --prepare-only "${HW[@]}" "${LWO[@]}" --out "$RUNS/hw-data-lwo"
# 2. the model, and the same recipe without two writers (leave-writers-out)
$PY training/handwriting.py "${RECIPE[@]}" --data "$MNIST_DESK_DATA" \
  --extra "$RUNS/hw-data/extra_train.npz" --out "$RUNS/handwriting-train"
$PY training/handwriting.py "${RECIPE[@]}" "${LWO[@]}" --data "$MNIST_DESK_DATA" \
  --extra "$RUNS/hw-data-lwo/extra_train.npz" --out "$RUNS/handwriting-lwo"
# 3. calibration: "not a digit" fitted on the writers the LWO model never saw, then carried over
$PY training/handwriting.py --recalibrate "$RUNS/handwriting-lwo/desknet.pt" "${LWO[@]}" \
  --data "$MNIST_DESK_DATA" --out "$RUNS/handwriting-lwo/calibrated"
$PY training/handwriting.py --recalibrate "$RUNS/handwriting-train/desknet.pt" \
  --not-a-digit-from "$RUNS/handwriting-lwo/calibrated/handwriting.json" \
  --data "$MNIST_DESK_DATA" --out "$RUNS/handwriting"
echo "To ship it: cp $RUNS/handwriting/desknet.pt resources/desknet.pt && $PY training/model_card.py"
