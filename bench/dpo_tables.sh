#!/usr/bin/env bash
# The V2A-DPO results tables (issue 5) from scratch, every step a v2a verb, every result a JSON file:
#   Table 1: SFT base | base + more SFT (same compute) | base + DDPO | base + DPO curriculum | base + DPO mixed
#   Table 2: beta sweep, tau sweep (tau = 1.0 = no stage 1), and the optional SFT term on the winners
# over SEEDS (the tuning seed; the base, judges, ratings and pairs are shared), evaluated on the TEST
# split, which is never used for ratings or pairs (ratings: val videos; pairs: train videos).
# Pair quality: pair_agreement.json (bench/pair_agreement.py) scores AudioScore's within-video ranking
# of the rated samples against the SIMULATED annotator.
# Stand-ins: the judges, the SIMULATED annotator and the benchmark (docs/JUDGES.md, docs/AUDIOSCORE.md).
#
#   bench/dpo_tables.sh                       full size (hours on 2 cores; see docs/RESULTS.md)
#   SMALL=1 bench/dpo_tables.sh               a quick pass (synth 256/64/64, short runs)
# Environment: V2A (binary), OUT (run folder), DATA (benchmark folder), SEEDS ("0 1 2"), THREADS;
#   VAE, BASE, JUDGES: reuse existing models (e.g. bench/generator_onset.sh's) instead of training them;
#   SUBSET="N M T": use the first N train / M val / T test clips of DATA (the base keeps its own data);
#   K, STEPS (Euler steps), DPO_STEPS, DDPO_STEPS override the size presets; LR, WARMUP: DPO's and
#   the more-SFT row's peak learning rate and warmup (defaults 1e-5, 40: the `v2a dpo` defaults);
#   BETAS ("500 2000 8000"), TAUS ("0.5 0.7 0.9 1.0"), SFT_TERM (1: run the SFT-term row) trim Table 2;
#   TABLES="1 2" (default) or "1" / "2": two instances (one per table, e.g. --threads 1 each on 2 cores)
#   can run side by side once the pairs exist.
# Compute matching: a DPO update is 2 x batch (8) = 16 rows forward + backward; a DDPO update trains
# on videos (4) x K (4) x 10 SDE transitions = 160 rows plus its sampling, so DDPO_STEPS = DPO_STEPS / 10
# gives DDPO the same number of trained rows (and extra sampling cost on top).
# Re-running resumes: every step is skipped when its output exists.
set -euo pipefail
cd "$(dirname "$0")/.."
V2A=${V2A:-build/v2a}
OUT=${OUT:-runs/tables}
SEEDS=${SEEDS:-"0 1 2"}
T=(--threads "${THREADS:-2}")
if [ "${SMALL:-0}" = 1 ]; then
  DATA=${DATA:-data/bench_small}; SYNTH=(--train 256 --val 64 --test 64)
  VAE_STEPS=400; SFT_STEPS=300; K=${K:-4}; DPO_STEPS=${DPO_STEPS:-120}; DDPO_STEPS=${DDPO_STEPS:-12}
  STEPS=${STEPS:-10}
else
  DATA=${DATA:-data/bench}; SYNTH=()
  VAE_STEPS=1500; SFT_STEPS=3000; K=${K:-5}; DPO_STEPS=${DPO_STEPS:-600}; DDPO_STEPS=${DDPO_STEPS:-60}
  STEPS=${STEPS:-25}
fi
LR=${LR:-1e-5}
WARMUP=${WARMUP:-40}
M=$DATA/manifest.csv
mkdir -p "$OUT"
run() { local done_file=$1; shift; [ -e "$done_file" ] && return 0; echo "+ $*"; "$@"; }

run "$M" "$V2A" "${T[@]}" synth --out "$DATA" "${SYNTH[@]}"
VAE=${VAE:-$OUT/vae/vae.safetensors}
run "$VAE" "$V2A" "${T[@]}" train-vae --data "$M" --out "$(dirname "$VAE")" --steps "$VAE_STEPS"
BASE=${BASE:-$OUT/sft/generator.safetensors}
run "$BASE" "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --out "$(dirname "$BASE")" --steps "$SFT_STEPS"
J=${JUDGES:-$OUT/judges}
run "$J/judges.json" "$V2A" "${T[@]}" train-judges --data "$M" --out "$J"
if [ -n "${SUBSET:-}" ]; then  # the preference stages on a subset of the clips
  read -r n_train n_val n_test <<< "$SUBSET"
  python3 bench/subset_manifest.py "$M" "$n_train" "$n_val" "$n_test" "manifest_${n_train}_${n_val}_${n_test}.csv"
  M=$DATA/manifest_${n_train}_${n_val}_${n_test}.csv
fi
# Ratings of K samples per VALIDATION video by the SIMULATED annotator (3 annotators) -> AudioScore.
run "$OUT/ratings/samples.csv" "$V2A" "${T[@]}" generate --model "$BASE" --vae "$VAE" --manifest "$M" --split val \
    --samples-per-clip "$K" --steps "$STEPS" --seed 1000 --out-dir "$OUT/ratings"
run "$OUT/ratings/labels.csv" "$V2A" "${T[@]}" labels simulate --data "$M" --samples "$OUT/ratings/samples.csv" \
    --annotator sim0,sim1,sim2 --out "$OUT/ratings/labels.csv"
run "$OUT/audioscore.safetensors" "$V2A" "${T[@]}" audioscore train --data "$M" --samples "$OUT/ratings/samples.csv" \
    --labels "$OUT/ratings/labels.csv" --judges "$J" --out "$OUT/audioscore.safetensors"
AS=$OUT/audioscore.safetensors
# Pair quality against the SIMULATED annotator: does AudioScore rank the samples OF A VIDEO as it does?
run "$OUT/ratings/scores.jsonl" "$V2A" "${T[@]}" audioscore score --data "$M" --model "$AS" --judges "$J" \
    --samples "$OUT/ratings/samples.csv" --out "$OUT/ratings/scores.jsonl"
run "$OUT/ratings/details.jsonl" "$V2A" "${T[@]}" labels simulate --data "$M" --samples "$OUT/ratings/samples.csv" \
    --annotator sim0 --error-rate 0 --out "$OUT/ratings/labels_sim0_noiseless.csv" --details "$OUT/ratings/details.jsonl"
run "$OUT/pair_agreement.json" bash -c "python3 bench/pair_agreement.py '$OUT/ratings/scores.jsonl' \
    '$OUT/ratings/details.jsonl' > '$OUT/pair_agreement.tmp' && mv '$OUT/pair_agreement.tmp' '$OUT/pair_agreement.json'"
# Pairs on the TRAIN videos.
# (pairs resumes by itself; the marker only records that it finished)
run "$OUT/pairs/.done" bash -c "'$V2A' ${T[*]} pairs --data '$M' --model '$BASE' --vae '$VAE' --judges '$J' \
    --audioscore '$AS' -K $K --steps $STEPS --out '$OUT/pairs' && touch '$OUT/pairs/.done'"

evaluate() {  # name generator [generate args...]
  local name=$1 gen=$2; shift 2
  run "$OUT/eval/$name/.generated" bash -c "'$V2A' ${T[*]} generate --model '$gen' --vae '$VAE' --manifest '$M' \
      --split test --steps $STEPS --seed 42 --out-dir '$OUT/eval/$name' $* && touch '$OUT/eval/$name/.generated'"
  run "$OUT/eval/$name.json" "$V2A" "${T[@]}" eval --gt "$M" --pred "$OUT/eval/$name" --judges "$J" --allow-silent \
      --out "$OUT/eval/$name.json"
}
dpo_run() {  # name dpo-args...: one `v2a dpo` from the base on the pairs, then its evaluation
  local name=$1; shift
  run "$OUT/$name/generator.safetensors" "$V2A" "${T[@]}" dpo --data "$M" --init "$BASE" --vae "$VAE" \
      --pairs "$OUT/pairs" --steps "$DPO_STEPS" --lr "$LR" --warmup "$WARMUP" "$@" --out "$OUT/$name"
  evaluate "$name" "$OUT/$name/generator.safetensors"
}
TABLES=${TABLES:-"1 2"}
if [[ " $TABLES " == *" 1 "* ]]; then
evaluate sft "$BASE"
# A control, not a system: the base fed other clips' videos (how much of each metric is the video).
evaluate control_shuffled_video "$BASE" --video-source shuffled
for s in $SEEDS; do
  dpo_run "dpo_cur_s$s" --seed "$s"
  dpo_run "dpo_mix_s$s" --seed "$s" --no-curriculum
  # More SFT at the same number of generator forward+backward passes as DPO (2 rows per pair).
  run "$OUT/sft_more_s$s/generator.safetensors" "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --init "$BASE" \
      --steps "$DPO_STEPS" --batch 16 --lr "$LR" --warmup "$WARMUP" --seed "$s" --out "$OUT/sft_more_s$s"
  evaluate "sft_more_s$s" "$OUT/sft_more_s$s/generator.safetensors"
  run "$OUT/ddpo_s$s/generator.safetensors" "$V2A" "${T[@]}" ddpo --data "$M" --init "$BASE" --vae "$VAE" \
      --judges "$J" --audioscore "$AS" --steps "$DDPO_STEPS" --lr "$LR" --seed "$s" --out "$OUT/ddpo_s$s"
  evaluate "ddpo_s$s" "$OUT/ddpo_s$s/generator.safetensors"
done
fi
# Table 2 (seed 0): beta and tau sweeps. beta 2000 and tau 0.7 are the defaults, i.e. dpo_cur_s0.
first_seed=${SEEDS%% *}
alias_run() {  # name: the default configuration under another name (same run, same eval)
  [ -e "$OUT/$1" ] || ln -s "dpo_cur_s$first_seed" "$OUT/$1"
  [ -e "$OUT/eval/$1.json" ] || ln -s "dpo_cur_s$first_seed.json" "$OUT/eval/$1.json"
}
if [[ " $TABLES " == *" 2 "* ]]; then
for beta in ${BETAS:-500 2000 8000}; do
  if [ "$beta" = 2000 ]; then alias_run beta2000; continue; fi
  dpo_run "beta$beta" --beta "$beta" --seed "$first_seed"
done
for tau in ${TAUS:-0.5 0.7 0.9 1.0}; do
  if [ "$tau" = 0.7 ]; then alias_run tau0.7; continue; fi
  dpo_run "tau$tau" --tau "$tau" --seed "$first_seed"
done
# Does the optional supervised term on the winners help? (curriculum DPO + 1.0 x winners' flow loss)
if [ "${SFT_TERM:-1}" = 1 ]; then
dpo_run sft_term --sft-weight 1.0 --seed "$first_seed"
fi
fi
python3 bench/summarize_tables.py "$OUT" > "$OUT/tables.md"
cat "$OUT/tables.md"
