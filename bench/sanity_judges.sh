#!/bin/sh
# Judge sanity table (issue 4): on a benchmark's test split, ground-truth audio must score better than
# shuffled / mismatched-class audio on IB-score, CLAP, DeSync, KL and FD, and audio delayed by 0.5 s
# must score worse on DeSync and AV-Align. Trains the judges first when DIR/judges has none.
#   bench/sanity_judges.sh [MANIFEST] [JUDGES_DIR] [OUT_JSON]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
v2a="$root/build/v2a"
manifest=${1:-$root/data/bench_default/manifest.csv}
judges=${2:-$(dirname "$manifest")/judges}
out=${3:-$(dirname "$manifest")/sanity_judges.json}
if [ ! -f "$judges/judges.json" ]; then
    "$v2a" train-judges --data "$manifest" --out "$judges"
fi
"$v2a" eval --gt "$manifest" --judges "$judges" --sanity --shift 0.5 --out "$out"
