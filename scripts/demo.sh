#!/usr/bin/env bash
# The main job on the bundled default model: installs what is missing,
# builds, and shows what adagp does with the model.
#
#   scripts/demo.sh                       # models/resnet20.onnx
#   MODEL=models/lenet5.onnx scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
MODEL=${MODEL:-models/resnet20.onnx}
OUT=${OUT:-out/demo}
mkdir -p "$OUT"
scripts/setup.sh >/dev/null

name=$(basename "$MODEL" .onnx)
bin="$BUILD_DIR/bin"
echo "== $MODEL: import into the nn dialect (batch 64)"
"$bin/adagp-translate" --import-onnx "$MODEL" --batch-size 64 -o "$OUT/$name.mlir"
"$bin/adagp-opt" "$OUT/$name.mlir" --nn-model-summary -o /dev/null
echo "== round trip: canonicalize and export back to ONNX"
"$bin/adagp-opt" "$OUT/$name.mlir" --canonicalize -o "$OUT/$name.canonical.mlir"
"$bin/adagp-translate" --export-onnx "$OUT/$name.canonical.mlir" -o "$OUT/$name.onnx"
echo "wrote $OUT/$name.mlir and $OUT/$name.onnx"
