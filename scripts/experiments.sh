#!/usr/bin/env bash
# BP against ADA-GP on every model of models/, on the CPU and on the
# simulated accelerator; writes docs/results.md and its plot.
#
#   scripts/experiments.sh --quick     # short runs: 2 h of measurements on 2 shared cores
#   scripts/experiments.sh             # the full table (hours)
#   scripts/experiments.sh --quick --models lenet5,resnet20 --resume
#
# Installs what is missing, builds, generates the models that are not in
# git, then runs scripts/experiments.py (its --help lists the options).
# Per-model metrics and logs go to out/experiments/<model>/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
scripts/setup.sh >/dev/null
scripts/models.sh
exec /usr/bin/python3 scripts/experiments.py --bin "$BUILD_DIR/bin" "$@"
