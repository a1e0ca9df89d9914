#!/usr/bin/env bash
# Installs every Debian package v2a needs (skipping what is already there) and builds it in Release
# with a precompiled LibTorch header and ccache. Safe to run again: it only does what is missing.
#   bash scripts/setup.sh            install + build
#   V2A_BUILD_DIR=dir V2A_JOBS=n ... to choose the build folder and parallelism
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config ccache git
  libtorch-dev libopenblas0-pthread            # tensors/autograd; OpenBLAS: without it matmuls run ~10x slower
  libgloo-dev                                  # headers of the Gloo backend LibTorch's c10d was built with (data parallel)
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libswscale-dev   # media decode/encode/mux
  libsndfile1-dev nlohmann-json3-dev libcli11-dev libsqlite3-dev libcpp-httplib-dev libgtest-dev
  libopencv-dev                                # drawing for the benchmark, Farneback flow for AV-Align
  libfluidsynth-dev fluid-soundfont-gm libespeak-ng-dev espeak-ng sound-theme-freedesktop   # real sound sources
  gnuplot-nox                                  # training curves and reliability plots (PNG/SVG)
  chromium                                     # v2a serve's end-to-end browser test (headless, offline)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# playwright-core (pinned in tests/serve/e2e/package-lock.json) drives Debian's chromium in the
# browser test of v2a serve; it downloads no browser of its own. Node from Debian unless one with npm
# is already installed (a NodeSource nodejs ships npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -d tests/serve/e2e/node_modules/playwright-core ]; then
  npm ci --prefix tests/serve/e2e --no-audit --no-fund --loglevel=error >/dev/null
fi

BUILD_DIR="${V2A_BUILD_DIR:-build}"
JOBS="${V2A_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release ${V2A_CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"
echo "setup: built $BUILD_DIR/v2a"
