#!/usr/bin/env bash
# Generates the models of models/ that are too large to commit and are not
# there yet (deterministic: the generator exports byte-identical files).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
while read -r name _; do
  [ -f "models/$name.onnx" ] || missing+=("$name")
done < <(/usr/bin/python3 models/generate.py --list)
if ((${#missing[@]})); then
  echo "models: generating ${missing[*]}"
  /usr/bin/python3 models/generate.py "${missing[@]}"
fi
