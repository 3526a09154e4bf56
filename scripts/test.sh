#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the lit suite
# (FileCheck tests and end-to-end tests against PyTorch), the GoogleTest
# binaries, and a short run of each fuzzer.
#
#   scripts/test.sh                 # everything
#   LIT_ARGS="--filter Dialect" scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR

start=$(date +%s)
scripts/setup.sh
built=$(date +%s)
scripts/models.sh

status=0
/usr/lib/llvm-22/bin/lit -sv ${LIT_ARGS:-} "$BUILD_DIR/test" || status=1
ctest --test-dir "$BUILD_DIR" --output-on-failure || status=1
if [ -x test/fuzz/run.sh ]; then
  test/fuzz/run.sh "$BUILD_DIR" "${FUZZ_SECONDS:-20}" || status=1
fi
end=$(date +%s)
echo "test: setup and build $((built - start)) s, tests $((end - built)) s"
if [ $status -ne 0 ]; then
  echo "test: FAILED"
else
  echo "test: all passed"
fi
exit $status
