#!/usr/bin/env bash
# The shipped model, stage 2 (after training/desknet.sh): conventions + "not a digit",
# calibrated. See resources/MODEL_CARD.md and training/handwriting.py.
source "$(dirname "$0")/common.sh"
.venv/bin/python training/handwriting.py --base "$RUNS/desknet/best.pt" --out "$RUNS/handwriting" \
  --data "$MNIST_DESK_DATA" "$@"
echo "To ship it: cp $RUNS/handwriting/desknet.pt resources/desknet.pt && .venv/bin/python training/model_card.py"
