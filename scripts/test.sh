#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${V2A_BUILD_DIR:-build}"
ctest --output-on-failure -j "${V2A_JOBS:-$(nproc)}" --timeout 1200
