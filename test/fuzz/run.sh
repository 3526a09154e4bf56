#!/usr/bin/env bash
# Builds the libFuzzer targets from the sources of lib/Sim (no MLIR, no
# CMake: clang++ directly) and runs each for SECONDS.
#
#   test/fuzz/run.sh BUILD_DIR SECONDS
#
# Targets: fuzz_program (program reader + disassembly round trip),
# fuzz_assembler (assembly text), fuzz_sim (simulator, functional and
# timing-only, with small limits). Seeds come from examples/accel and
# test/Sim/Inputs. Exits non-zero if a build fails or a target finds a
# crash, a sanitizer report, a timeout or an invariant violation.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
src="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1/fuzz"
seconds="$2"
cxx="${ADAGP_FUZZ_CXX:-/usr/lib/llvm-22/bin/clang++}"
mkdir -p "$out/obj"
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer
       -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -I"$src/include" -I"$src/test/fuzz")

# Compile the library sources (two at a time: the machine has two cores).
libsrcs=(ISA Assembler Config Host Kernels Report Simulator)
pids=()
for s in "${libsrcs[@]}"; do
  o="$out/obj/$s.o"
  if [[ ! -f "$o" || "$src/lib/Sim/$s.cpp" -nt "$o" ||
        -n "$(find "$src/include/adagp" "$src/lib/Sim" -newer "$o" -name '*.h')" ]]; then
    "$cxx" "${flags[@]}" -c "$src/lib/Sim/$s.cpp" -o "$o" &
    pids+=($!)
    if [[ ${#pids[@]} -ge 2 ]]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
objs=()
for s in "${libsrcs[@]}"; do objs+=("$out/obj/$s.o"); done

link=(-fsanitize=fuzzer,address,undefined "${objs[@]}" -lfmt)
for t in fuzz_program fuzz_assembler fuzz_sim; do
  "$cxx" "${flags[@]}" "$src/test/fuzz/$t.cpp" "${link[@]}" -o "$out/$t"
done
"$cxx" -std=c++17 -O1 -I"$src/include" "$src/test/fuzz/make_seeds.cpp" \
  "$src/lib/Sim/ISA.cpp" "$src/lib/Sim/Assembler.cpp" -lfmt \
  -o "$out/make_seeds"

# Seed corpora.
mkdir -p "$out/corpus/program" "$out/corpus/assembler" "$out/corpus/sim"
cp "$src"/examples/accel/*.s "$src"/test/Sim/Inputs/*.s "$out/corpus/assembler/"
"$out/make_seeds" "$out/corpus/program" "$src"/examples/accel/*.s \
  "$src"/test/Sim/Inputs/*.s
cp "$out"/corpus/program/*.agp "$out/corpus/sim/"

status=0
for t in program assembler sim; do
  echo "== fuzz_$t for ${seconds}s"
  if ! (cd "$out" && "./fuzz_$t" -seed="${FUZZ_SEED:-1}" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=0 "corpus/$t" \
        > "fuzz_$t.log" 2>&1); then
    echo "fuzz_$t FAILED; last lines of $out/fuzz_$t.log:" >&2
    tail -n 40 "$out/fuzz_$t.log" >&2
    status=1
  else
    grep -E "^#[0-9]+.*DONE" "$out/fuzz_$t.log" | tail -n 1 || true
  fi
done
exit $status
