#!/usr/bin/env bash
# Installs the Debian packages adagp needs (only the missing ones), then
# configures and builds into build/. Idempotent: a second run installs nothing
# and rebuilds only what changed.
#
#   scripts/setup.sh            # install + build
#   BUILD_DIR=out scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}

PACKAGES=(
  # Build tools and compilers.
  cmake ninja-build ccache g++ clang-22 libclang-rt-22-dev
  # LLVM/MLIR 22: headers, libMLIR.so, mlir-tblgen; lit and FileCheck.
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  # ONNX 1.12 (C++ library with checker, shape inference and text parser).
  libonnx-dev python3-onnx libprotobuf-dev protobuf-compiler
  # Libraries.
  libfmt-dev libgtest-dev nlohmann-json3-dev zlib1g-dev
  # CPU kernels: oneDNN (as PyTorch uses) on LLVM's OpenMP runtime, which
  # also runs the compiled parallel loops.
  libdnnl-dev libomp-22-dev
  # The PyTorch reference, its fast BLAS, plotting, and the data.
  python3-torch python3-torchvision python3-numpy python3-matplotlib
  libopenblas0-pthread dataset-fashion-mnist
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y --no-install-recommends "${missing[@]}"; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: all ${#PACKAGES[@]} packages are installed"
fi

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
fi
ninja -C "$BUILD_DIR" -j "$(nproc)"
