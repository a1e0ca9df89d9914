#!/usr/bin/env bash
# Kill -9 campaign (issue 19 item 3): `v2a train`, `v2a dpo` (SyncDPO), `v2a pairs` (gt-vs-sample ranking)
# and `v2a generate --manifest` are each SIGKILLed at KILLS random moments of a tiny job and re-run
# (train/dpo with --resume, pairs and generate as they are) until they finish; every finished output must
# equal an uninterrupted run's, byte for byte, and nothing may be left half-written.
#
#   KILLS=20 OUT=runs/kill bash bench/kill_resume.sh      writes $OUT/kill_resume.json
#
# Environment: V2A (binary, build/v2a), OUT, KILLS (20), SEED (random moments; 1). One thread per process.
set -euo pipefail
cd "$(dirname "$0")/.."
V2A=${V2A:-build/v2a}
OUT=${OUT:-runs/kill}
KILLS=${KILLS:-20}
RANDOM=${SEED:-1}
T=(--threads 1 --log-level error)
mkdir -p "$OUT"
M=$OUT/data/manifest.csv
[ -e "$M" ] || "$V2A" "${T[@]}" synth --out "$OUT/data" --train 8 --val 4 --test 4 --size 32 --workers 1 > /dev/null
VAE=$OUT/vae/vae.safetensors
[ -e "$VAE" ] || "$V2A" "${T[@]}" train-vae --data "$M" --preset tiny --steps 20 --batch 4 --frame-size 32 \
    --out "$OUT/vae" > /dev/null
BASE=$OUT/base/generator.safetensors
[ -e "$BASE" ] || "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --preset tiny --steps 10 --batch 4 --frame-size 32 \
    --val-every 1000 --out "$OUT/base" > /dev/null

# The four jobs: name, the command (run folder appended), the output compared, resume flag or "".
job_args() {
  case $1 in
    train) echo "train --data $M --vae $VAE --preset tiny --steps 60 --batch 4 --frame-size 32 --checkpoint-every 3 --val-every 1000 --out" ;;
    dpo) echo "dpo --data $M --init $BASE --vae $VAE --syncdpo --steps 24 --batch 4 --checkpoint-every 2 --val-every 0 --out" ;;
    pairs) echo "pairs --data $M --model $BASE --vae $VAE --ranking gt-vs-sample -K 4 --steps 5 --frame-size 32 --videos-per-chunk 2 --no-cache --out" ;;
    generate) echo "generate --model $BASE --vae $VAE --manifest $M --split train --steps 10 --vocoder-iterations 8 --batch 2 --out-dir" ;;
  esac
}
resume_flag() { case $1 in train|dpo) echo --resume ;; *) echo "" ;; esac; }
# What must be equal: the final model, or every file of the output folder (logs and progress aside).
fingerprint() {
  case $1 in
    train|dpo) sha256sum "$2/generator.safetensors" | cut -d' ' -f1 ;;
    *) (cd "$2" && find . -type f ! -name '*.log' ! -name 'metrics.jsonl' ! -name '*.png' ! -name '*.svg' -print0 \
          | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1 ;;
  esac
}
leftovers() { find "$1" -name '*.tmp*' | wc -l; }

results="["
for job in train dpo pairs generate; do
  # shellcheck disable=SC2207
  args=($(job_args $job))
  ref=$OUT/${job}_ref
  rm -rf "$ref"
  start=$(date +%s.%N)
  "$V2A" "${T[@]}" "${args[@]}" "$ref" > /dev/null 2>&1
  seconds=$(printf '%.3f' "$(echo "$(date +%s.%N) - $start" | bc)")
  want=$(fingerprint $job "$ref")
  equal=0 differ=0 corrupt=0 left=0 reruns=0
  for k in $(seq 1 "$KILLS"); do
    dir=$OUT/${job}_k$k
    rm -rf "$dir"
    # A moment uniform in (0, the reference's wall time): the process is SIGKILLed there.
    delay=$(echo "scale=3; $seconds * $((RANDOM % 1000)) / 1000" | bc)
    "$V2A" "${T[@]}" "${args[@]}" "$dir" > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2> /dev/null || true
    wait $pid 2> /dev/null || true
    # Re-run until it finishes (a run that cannot resume from what the kill left is a corrupt output).
    ok=0
    for attempt in 1 2 3; do
      reruns=$((reruns + 1))
      # shellcheck disable=SC2046
      if "$V2A" "${T[@]}" "${args[@]}" "$dir" $(resume_flag $job) > "$dir.rerun.log" 2>&1; then ok=1; break; fi
    done
    if [ $ok = 0 ]; then corrupt=$((corrupt + 1)); echo "$job kill $k: re-run failed: $(tail -1 "$dir.rerun.log")"; continue; fi
    left=$((left + $(leftovers "$dir")))
    if [ "$(fingerprint $job "$dir")" = "$want" ]; then equal=$((equal + 1)); else differ=$((differ + 1)); echo "$job kill $k (after ${delay}s): output differs"; fi
    rm -rf "$dir" "$dir.rerun.log"
  done
  echo "$job: $KILLS kills over a ${seconds}s run: $equal equal, $differ differ, $corrupt could not resume, $left temp files left"
  results+="{\"verb\": \"$job\", \"kills\": $KILLS, \"run_seconds\": $seconds, \"equal\": $equal, \"differ\": $differ, \"could_not_resume\": $corrupt, \"temp_files_left\": $left},"
done
results="${results%,}]"
echo "$results" | python3 -m json.tool > "$OUT/kill_resume.json"
echo "wrote $OUT/kill_resume.json"
