#!/usr/bin/env bash
# Issue 3's measurement: does the `bench` generator, trained <= 60 minutes on 2 cores, follow the video?
#   1. the default benchmark (v2a synth), a VAE, the stand-in judges (for the other metrics);
#   2. two generators trained side by side, one intra-op thread each, for the same number of updates:
#      the video-conditioned model (flow loss + the sync encoder's onset loss, D10) and the
#      video-unconditional baseline (`train --no-video`: null clip/sync features always, text kept);
#      then bench_video_use: held-out flow loss with own vs swapped videos (does the model read them?);
#   3. test-split generation (25 Euler steps, CFG 4.5, seed 42) for: own video; shuffled videos (each
#      clip gets another clip's video, its own caption); no video (the conditioned model fed the null
#      video); the unconditional model; the unconditional model with empty text too;
#   4. `v2a eval` on each, and onset F1 (+-100 ms vs the true event times) with bootstrap intervals.
#
#   bench/generator_onset.sh            Environment: V2A, DATA, OUT, STEPS (updates per model), BATCH
# Re-running resumes: each step is skipped when its output exists; the training runs resume.
set -euo pipefail
cd "$(dirname "$0")/.."
V2A=${V2A:-build/v2a}
DATA=${DATA:-data/bench}
OUT=${OUT:-runs/generator}
STEPS=${STEPS:-1600}
BATCH=${BATCH:-8}
M=$DATA/manifest.csv
mkdir -p "$OUT"
run() { local done_file=$1; shift; [ -e "$done_file" ] && return 0; echo "+ $*"; "$@"; }

run "$M" "$V2A" synth --out "$DATA" --workers 2
# VAE and judges side by side, one thread each.
run "$OUT/vae/vae.safetensors" "$V2A" --threads 1 train-vae --data "$M" --out "$OUT/vae" --steps 1500 \
    > "$OUT/vae.log" 2>&1 &
run "$OUT/judges/judges.json" "$V2A" --threads 1 train-judges --data "$M" --out "$OUT/judges" --workers 1 \
    > "$OUT/judges.log" 2>&1 &
wait
VAE=$OUT/vae/vae.safetensors
J=$OUT/judges

# Both generators at once, one thread each (2 cores); each logs to its own run folder.
train() {  # name extra-args...
  local name=$1; shift
  run "$OUT/$name/generator.safetensors" "$V2A" --threads 1 train --data "$M" --vae "$VAE" --out "$OUT/$name" \
      --steps "$STEPS" --batch "$BATCH" --checkpoint-every 100 --val-every 400 "$@" \
      $( [ -d "$OUT/$name/checkpoint" ] && echo --resume ) > "$OUT/$name.log" 2>&1
}
train sft &
train sft_novideo --no-video &
wait
tail -n 2 "$OUT/sft.log" "$OUT/sft_novideo.log"
run "$OUT/video_use.json" build/bench_video_use --model "$OUT/sft/generator.safetensors" --vae "$VAE" --manifest "$M" \
    --split val --limit 200 --out "$OUT/video_use.json" > /dev/null

gen() {  # name model extra-args...
  local name=$1 model=$2; shift 2
  run "$OUT/test/$name/.done" bash -c "'$V2A' --threads 1 generate --model '$model' --vae '$VAE' --manifest '$M' \
      --split test --steps 25 --cfg 4.5 --seed 42 --out-dir '$OUT/test/$name' $* && touch '$OUT/test/$name/.done'"
}
gen own "$OUT/sft/generator.safetensors" &
gen shuffled "$OUT/sft/generator.safetensors" --video-source shuffled &
wait
gen no_video "$OUT/sft/generator.safetensors" --video-source none &
gen uncond "$OUT/sft_novideo/generator.safetensors" --video-source none &
wait
gen uncond_no_text "$OUT/sft_novideo/generator.safetensors" --video-source none --no-text
for name in own shuffled no_video uncond uncond_no_text; do
  run "$OUT/test/$name.json" "$V2A" --threads 1 eval --gt "$M" --pred "$OUT/test/$name" --judges "$J" --allow-silent \
      --out "$OUT/test/$name.json"
done
python3 bench/summarize_onset.py "$OUT/test" own shuffled no_video uncond uncond_no_text | tee "$OUT/onset.md"
