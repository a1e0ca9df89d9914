#!/usr/bin/env bash
# The converged SFT base every preference arm branches from (issue 14), in resumable segments:
#   benchmark (v2a synth) -> VAE -> judges -> generator SFT at a constant lr until the held-out flow
#   loss of the EMA weights stops falling, then MMAudio's step decay (x0.1 twice) to the end.
# Each call trains up to UNTIL updates and exports $OUT/sft/generator.safetensors (EMA weights) there,
# so a session can stop at any segment and the next one resumes exactly (`v2a train --resume`).
#
#   UNTIL=1200 bash bench/base_sft.sh                  constant-lr segment to update 1200
#   UNTIL=4000 DECAY_AT=3200,3600 bash bench/base_sft.sh   resume and decay at 3200 and 3600
#   python3 bench/convergence.py $OUT/sft/metrics.jsonl    is it converged? (held-out EMA loss per segment)
#   UNTIL=6000 SCHEDULE=cosine DTYPE=bf16 bash bench/base_sft.sh   resume, anneal (cosine to 0 at UNTIL) in bf16
# Environment: V2A, OUT (default runs/base), DATA (default data/bench), THREADS, BATCH (8), LR (3e-4),
# DECAY_AT (step schedule milestones), SCHEDULE (constant | step | cosine), DTYPE (fp32 | bf16, D13),
# VAL_EVERY (100: held-out flow loss of live and EMA weights; each costs ~3 passes over the val clips).
set -euo pipefail
cd "$(dirname "$0")/.."
V2A=${V2A:-build/v2a}
OUT=${OUT:-runs/base}
DATA=${DATA:-data/bench}
T=(--threads "${THREADS:-2}")
M=$DATA/manifest.csv
UNTIL=${UNTIL:-1200}
mkdir -p "$OUT"
run() { local done_file=$1; shift; [ -e "$done_file" ] && return 0; echo "+ $*"; "$@"; }

run "$M" "$V2A" "${T[@]}" synth --out "$DATA"
run "$OUT/vae/vae.safetensors" "$V2A" "${T[@]}" train-vae --data "$M" --out "$OUT/vae" --steps 1500
run "$OUT/judges/judges.json" "$V2A" "${T[@]}" train-judges --data "$M" --out "$OUT/judges"
decay=()
[ -n "${DECAY_AT:-}" ] && decay=(--lr-schedule step --lr-milestones "$DECAY_AT")
[ "${SCHEDULE:-}" = cosine ] && decay=(--lr-schedule cosine --min-lr 0)
"$V2A" "${T[@]}" train --data "$M" --vae "$OUT/vae/vae.safetensors" --out "$OUT/sft" --steps "$UNTIL" \
    --batch "${BATCH:-8}" --lr "${LR:-3e-4}" --checkpoint-every 100 --val-every "${VAL_EVERY:-100}" --resume \
    --dtype "${DTYPE:-fp32}" "${decay[@]}"
cp "$OUT/sft/generator.safetensors" "$OUT/sft/generator_$UNTIL.safetensors.tmp"
mv "$OUT/sft/generator_$UNTIL.safetensors.tmp" "$OUT/sft/generator_$UNTIL.safetensors"
echo "base_sft: $OUT/sft/generator_$UNTIL.safetensors"
