#!/usr/bin/env bash
# README command 2: install what is missing, build, run every test (CTest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cd "${V2A_BUILD_DIR:-build}"
# One intra-op thread per test while CTest runs one test per core: two tests of two spinning OpenMP
# threads each on two cores ran up to 10x slower (the train suite: 48 s instead of minutes).
export V2A_TEST_THREADS="${V2A_TEST_THREADS:-1}"
# setup.sh installed chromium: a browser test that would skip for want of it fails instead.
export V2A_REQUIRE_BROWSER="${V2A_REQUIRE_BROWSER:-1}"
ctest --output-on-failure -j "${V2A_JOBS:-$(nproc)}" --timeout 1200
