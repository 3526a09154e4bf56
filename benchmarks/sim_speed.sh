#!/usr/bin/env bash
# Measures adagp-sim's own speed in timing mode (--timing-only) on large
# generated programs and prints instructions per second.
#
#   benchmarks/sim_speed.sh [BUILD_DIR] [LOOP_ITERATIONS] [STATIC_INSTRUCTIONS]
#
# loop.s runs 8 x LOOP_ITERATIONS dynamic instructions (default 5 M) from a
# 30-instruction program; unrolled.s has STATIC_INSTRUCTIONS static
# instructions (default 1 M), so loading and decoding are included. The
# target is >= 1 M instructions/s on the 2-core development machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
iters="${2:-625000}"
static="${3:-1000000}"
sim="$build/bin/adagp-sim"
[[ -x "$sim" ]] || { echo "sim_speed.sh: no $sim (build first)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 "$here/gen_sim_speed.py" "$work" "$iters" "$static"
"$sim" --assemble "$work/unrolled.s" -o "$work/unrolled.agp"

status=0
for prog in loop.s unrolled.agp; do
  start=$(date +%s.%N)
  out="$("$sim" "$work/$prog" --timing-only)"
  end=$(date +%s.%N)
  n=$(awk '/^instructions:/ {print $2}' <<<"$out")
  speed=$(awk '/^sim speed:/ {print $3}' <<<"$out")
  total=$(awk -v n="$n" -v s="$start" -v e="$end" \
    'BEGIN {printf "%.2f", n / (e - s) / 1e6}')
  echo "$prog: $n instructions, simulator loop $speed M instructions/s," \
       "whole process (load + simulate) $total M instructions/s"
  if awk -v s="$speed" 'BEGIN {exit !(s < 1.0)}'; then
    echo "  below the 1 M instructions/s target" >&2
    status=1
  fi
done
exit $status
