#!/usr/bin/env bash
# Every tutorial experiment, then the results table. Hours on a laptop CPU; minutes on a GPU.
source "$(dirname "$0")/common.sh"
for recipe in mlp sigmoid_vs_relu cnn_adam lenet5 cnn5; do
  bash "training/$recipe.sh" "$@"
done
.venv/bin/python training/collect_results.py
