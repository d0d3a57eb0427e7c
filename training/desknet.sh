#!/usr/bin/env bash
# The shipped model: exactly the command that made resources/desknet.pt (see MODEL_CARD.md).
# Fixed epoch count (no peeking at the test set): the last epoch is kept.
source "$(dirname "$0")/common.sh"
"${TRAIN[@]}" --arch desknet --epochs 20 --batch-size 128 --optimizer adamw --lr 3e-3 \
  --weight-decay 1e-4 --schedule onecycle --augment --select-by last --seed 1 \
  --out "$RUNS/desknet" "$@"
echo "To ship it: cp $RUNS/desknet/best.pt resources/desknet.pt && .venv/bin/python training/model_card.py"
