#!/usr/bin/env bash
# The main job on the bundled default model: installs what is missing,
# builds, and compares BP with ADA-GP on Fashion-MNIST, on the CPU and on
# the simulated accelerator.
#
#   scripts/demo.sh                              # models/lenet5.onnx, 4 epochs
#   MODEL=models/resnet20.onnx EPOCHS=1 TRAIN_IMAGES=6400 scripts/demo.sh
#
# Steps: import and summarise the model; train it with BP and with ADA-GP
# (same seed, data and epochs); compile a plain BP step, ADA-GP's BP step
# and its GP step for the accelerator and cost each run's sequence of steps
# in the simulator; print one comparison table and plot both runs
# (scripts/experiments.py does the measuring). Outputs go to $OUT (default
# out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
MODEL=${MODEL:-models/lenet5.onnx}
EPOCHS=${EPOCHS:-4}
TRAIN_IMAGES=${TRAIN_IMAGES:-0}
OUT=${OUT:-out/demo}
PY=/usr/bin/python3
mkdir -p "$OUT"
scripts/setup.sh >/dev/null

name=$(basename "$MODEL" .onnx)
bin="$BUILD_DIR/bin"
echo "== $MODEL: import into the nn dialect (batch 64)"
"$bin/adagp-translate" --import-onnx "$MODEL" --batch-size 64 -o "$OUT/$name.mlir"
"$bin/adagp-opt" "$OUT/$name.mlir" --nn-model-summary -o /dev/null

echo "== BP and ADA-GP: CPU training (same seed, data and epochs), then the"
echo "   accelerator: a plain BP step, ADA-GP's BP steps (with and without the"
echo "   predictor's training) and its GP step compiled and simulated, costed"
echo "   over each run's sequence of steps"
"$PY" scripts/experiments.py --bin "$bin" --models "$MODEL" \
  --epochs "$EPOCHS" --images "$TRAIN_IMAGES" --test-images 10000 \
  --out "$OUT" --results "" --save-models --print-table
"$PY" benchmarks/plot_training.py "$OUT/$name/bp.jsonl" \
  "$OUT/$name/adagp.jsonl" --labels BP,ADA-GP -o "$OUT/curves.svg"
echo "wrote $OUT/ (metrics, logs and trained models in $OUT/$name/, curves.svg)"
