#!/usr/bin/env bash
# The main job on the bundled default model: installs what is missing,
# builds, and compares BP with ADA-GP on Fashion-MNIST, on the CPU and on
# the simulated accelerator.
#
#   scripts/demo.sh                              # models/lenet5.onnx, 2 epochs
#   MODEL=models/resnet20.onnx EPOCHS=1 TRAIN_IMAGES=6400 scripts/demo.sh
#
# Steps: import and summarise the model; train it with BP and with ADA-GP
# (same seed, data and epochs) and plot both runs; compile a BP and a GP
# step for the accelerator and cost them in the simulator. Outputs go to
# $OUT (default out/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
MODEL=${MODEL:-models/lenet5.onnx}
EPOCHS=${EPOCHS:-2}
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

train=("$bin/adagp-train" "$MODEL" --dataset fashion-mnist --epochs "$EPOCHS"
       --batch-size 64 --lr 0.01 --momentum 0.9 --seed 1)
if [[ "$TRAIN_IMAGES" != 0 ]]; then
  train+=(--train-images "$TRAIN_IMAGES")
fi
echo "== CPU: BP, $EPOCHS epochs on Fashion-MNIST"
"${train[@]}" --mode bp --metrics "$OUT/bp.jsonl" --save "$OUT/$name-bp.onnx"
echo "== CPU: ADA-GP (adaptive schedule), same seed and data"
"${train[@]}" --mode adagp --metrics "$OUT/adagp.jsonl" \
  --save "$OUT/$name-adagp.onnx"
"$PY" - "$OUT/bp.jsonl" "$OUT/adagp.jsonl" <<'EOF'
import json, sys
def last(path):
    rs = [json.loads(l) for l in open(path) if l.strip()]
    es = [r for r in rs if "test_accuracy" in r]
    return es[-1]["test_accuracy"], sum(e["seconds"] for e in es), \
        sum(e.get("gp_steps", 0) for e in es), \
        sum(e.get("gp_steps", 0) + e.get("bp_steps", 0) for e in es)
(a_bp, t_bp, _, _), (a_ag, t_ag, gp, n) = last(sys.argv[1]), last(sys.argv[2])
print(f"CPU: BP {100*a_bp:.2f}% in {t_bp:.1f} s; ADA-GP {100*a_ag:.2f}% in "
      f"{t_ag:.1f} s with {gp}/{n} GP steps; speedup {t_bp/t_ag:.2f}x, "
      f"accuracy {100*(a_ag-a_bp):+.2f} points")
EOF
"$PY" benchmarks/plot_training.py "$OUT/bp.jsonl" "$OUT/adagp.jsonl" \
  --labels BP,ADA-GP -o "$OUT/curves.svg"

echo "== accelerator: a BP step and a GP step in the simulator (timing only)"
for mode in bp gp; do
  if "$bin/adagp-compile" "$MODEL" --target=accel --mode=$mode \
       --accel-config configs/default.json --batch-size 64 \
       -o "$OUT/$name-$mode.agp" 2> "$OUT/compile-$mode.log"; then
    "$bin/adagp-sim" "$OUT/$name-$mode.agp" --config configs/default.json \
      --timing-only --steps 2 --report "$OUT/sim-$mode.json" --quiet
  else
    echo "adagp-compile --target=accel --mode=$mode failed:"
    tail -n 3 "$OUT/compile-$mode.log"
  fi
done
"$PY" - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
def get(mode):
    p = os.path.join(out, f"sim-{mode}.json")
    return json.load(open(p)) if os.path.exists(p) else None
bp, gp = get("bp"), get("gp")
for mode, r in (("BP", bp), ("GP", gp)):
    if not r:
        print(f"accelerator: no {mode} step report")
        continue
    k = mode.lower()
    c, e = r.get(f"{k}_step_cycles"), r.get(f"{k}_step_energy_joules")
    if c is None:
        print(f"accelerator: the {mode} report has no {k}_step_cycles")
    else:
        print(f"accelerator: {mode} step {c:,.0f} cycles, {1e3*e:.3f} mJ")
if bp and gp and bp.get("bp_step_cycles") and gp.get("gp_step_cycles"):
    print(f"accelerator: GP/BP step cycles "
          f"{gp['gp_step_cycles']/bp['bp_step_cycles']:.2f}, energy "
          f"{gp['gp_step_energy_joules']/bp['bp_step_energy_joules']:.2f}")
EOF
echo "wrote $OUT/ (metrics, trained models, curves.svg, simulator reports)"
