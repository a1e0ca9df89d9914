#!/usr/bin/env bash
# The Flow-DPO tables (issues 14, 5), every step a v2a verb, every result a JSON file, resumable per row:
#   Table 1: SFT base | + more SFT (same generator compute) | [control: SFT on the winner rows only] | + DPO on ORACLE pairs (the SIMULATED
#            annotator's noiseless ranking: the ceiling, not a method; anchored on ground truth) | + SyncDPO
#            (ground truth vs rule-based temporal negatives; syncdpo_ab: with auto-beta) | + GT-vs-sample DPO (ground truth vs the base's
#            own sample) | + online GT-vs-sample (pairs re-sampled from the current policy each round;
#            gtvs_online4_lin: 4 rounds of DPO_STEPS/4 instead of 2)
#            [+ V2A-DPO on AudioScore pairs, curriculum and mixed, + DDPO, with AUDIOSCORE=1]
#   Table 2: beta, lambda (the winners' flow-loss weight) and auto-beta on the GT-vs-sample pairs, seed 0
# over SEEDS (the tuning seed; base, judges and pairs are shared), evaluated on the TEST split, which
# nothing but `eval` reads (pairs: train videos; early stopping and AudioScore ratings: val videos).
# Stand-ins: the judges, the SIMULATED annotator and the benchmark (docs/JUDGES.md, docs/AUDIOSCORE.md).
#
#   bash bench/dpo_tables.sh                  full size (hours on 2 cores; see docs/RESULTS.md)
#   SMALL=1 bash bench/dpo_tables.sh          a quick pass (synth 256/64/64, short runs)
# Environment: V2A (binary), OUT (run folder), DATA (benchmark folder), SEEDS ("0 1 2"), THREADS;
#   VAE, BASE, JUDGES: reuse existing models instead of training them here (bench/base_sft.sh trains
#   the converged base); SUBSET="N M T": first N train / M val / T test clips for the preference stages;
#   K (samples per video for oracle pairs), STEPS (Euler steps), DPO_STEPS, LR, WARMUP;
#   DPO_OPTS: the Flow-DPO options every DPO row shares (default: winners' flow loss 1.0, SDPO 0.9,
#   early stop at +2% held-out flow loss); ORACLE_OPTS: the oracle row's (its winners are samples, so
#   the anchor is a flow loss on the clips' ground truth, --gt-anchor, instead of on the winners);
#   ONLINE_ROUNDS (2); PREF_T_MAX (0.5: the *_t and *_lin rows' --pref-t-max); LIN_BETA (5: the *_lin rows' beta); Table 2 also: T2_AUTOBETA (1),
#   SYNC_BETAS / GTVS_T_BETAS (betas of SyncDPO-subtle / GT-vs-sample with --pref-t-max); REPORT_CLIPS (16:
#   test clips in the report, $OUT/report/index.html); BETAS, LAMBDAS: Table 2; AUTOBETA_OPTS (--auto-beta-decay 0.9: auto-beta starts at
#   --beta and only lowers it, stop 15); TABLES="1 2" or one of them;
#   AUDIOSCORE=1 adds the AudioScore rows (ratings, AudioScore, pairs, V2A-DPO curriculum/mixed, DDPO);
#   ROWS="sft_more dpo_oracle ..." runs only those Table 1 rows (two instances at --threads 1 each can
#   split the rows between them once the pairs exist); CONTROL=0 skips the shuffled-video control.
# Compute matching: a DPO update is 2 x batch (8) = 16 generator rows forward + backward; more SFT
# gets DPO_STEPS updates of 16 clips; the oracle row's anchor adds 8 rows, so it gets 2/3 of the updates.
# Online rounds and the pair sets also sample (forward passes only), which is not counted.
# DDPO_STEPS = DPO_STEPS / 10 trains the same number of rows.
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
  VAE_STEPS=1500; SFT_STEPS=3000; K=${K:-4}; DPO_STEPS=${DPO_STEPS:-200}; DDPO_STEPS=${DDPO_STEPS:-20}
  STEPS=${STEPS:-10}
fi
LR=${LR:-2e-5}
PREF_T_MAX=${PREF_T_MAX:-0.5}
LIN_BETA=${LIN_BETA:-5}
WARMUP=${WARMUP:-10}
DPO_OPTS=${DPO_OPTS:-"--sft-weight 1.0 --sdpo-mu 0.9 --max-drift 0.02 --val-every 20 --log-every 1"}
ORACLE_OPTS=${ORACLE_OPTS:-"--gt-anchor 1.0 --sdpo-mu 0.9 --max-drift 0.02 --val-every 20 --log-every 1"}
M=$DATA/manifest.csv
mkdir -p "$OUT"
run() { local done_file=$1; shift; [ -e "$done_file" ] && return 0; echo "+ $*"; "$@"; }
want() { [ -z "${ROWS:-}" ] || [[ " $ROWS " == *" $1 "* ]]; }  # is Table 1 row $1 selected?

run "$M" "$V2A" "${T[@]}" synth --out "$DATA" "${SYNTH[@]}"
VAE=${VAE:-$OUT/vae/vae.safetensors}
run "$VAE" "$V2A" "${T[@]}" train-vae --data "$M" --out "$(dirname "$VAE")" --steps "$VAE_STEPS"
BASE=${BASE:-$OUT/sft/generator.safetensors}
run "$BASE" "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --out "$(dirname "$BASE")" --steps "$SFT_STEPS" \
    --lr-schedule step --lr-milestones "$((SFT_STEPS * 8 / 10)),$((SFT_STEPS * 9 / 10))"
J=${JUDGES:-$OUT/judges}
run "$J/judges.json" "$V2A" "${T[@]}" train-judges --data "$M" --out "$J"
if [ -n "${SUBSET:-}" ]; then  # the preference stages on a subset of the clips
  read -r n_train n_val n_test <<< "$SUBSET"
  python3 bench/subset_manifest.py "$M" "$n_train" "$n_val" "$n_test" "manifest_${n_train}_${n_val}_${n_test}.csv"
  M=$DATA/manifest_${n_train}_${n_val}_${n_test}.csv
fi

# Pairs correct by construction, on the TRAIN videos (`pairs` resumes by itself; .done marks the end).
pairs_set() {  # dir pairs-args...
  local dir=$1; shift
  run "$dir/.done" bash -c "'$V2A' ${T[*]} pairs --data '$M' --model '$BASE' --vae '$VAE' --steps $STEPS $* \
      --out '$dir' && touch '$dir/.done'"
}
TABLES=${TABLES:-"1 2"}
{ want dpo_oracle || want dpo_oracle_lin; } && [[ " $TABLES " == *" 1 "* ]] && pairs_set "$OUT/pairs_oracle" --ranking oracle -K "$K"
{ want gtvs || [[ " $TABLES " == *" 2 "* ]]; } && pairs_set "$OUT/pairs_gt" --ranking gt-vs-sample -K 1

if [ "${AUDIOSCORE:-0}" = 1 ]; then
  # Ratings of K samples per VALIDATION video by the SIMULATED annotator (3 annotators) -> AudioScore.
  run "$OUT/ratings/samples.csv" "$V2A" "${T[@]}" generate --model "$BASE" --vae "$VAE" --manifest "$M" --split val \
      --samples-per-clip "$K" --steps "$STEPS" --seed 1000 --out-dir "$OUT/ratings"
  run "$OUT/ratings/labels.csv" "$V2A" "${T[@]}" labels simulate --data "$M" --samples "$OUT/ratings/samples.csv" \
      --annotator sim0,sim1,sim2 --out "$OUT/ratings/labels.csv"
  AS=$OUT/audioscore.safetensors
  run "$AS" "$V2A" "${T[@]}" audioscore train --data "$M" --samples "$OUT/ratings/samples.csv" \
      --labels "$OUT/ratings/labels.csv" --judges "$J" --out "$AS"
  # Pair quality against the SIMULATED annotator: does AudioScore rank the samples OF A VIDEO as it does?
  run "$OUT/ratings/scores.jsonl" "$V2A" "${T[@]}" audioscore score --data "$M" --model "$AS" --judges "$J" \
      --samples "$OUT/ratings/samples.csv" --out "$OUT/ratings/scores.jsonl"
  run "$OUT/ratings/details.jsonl" "$V2A" "${T[@]}" labels simulate --data "$M" --samples "$OUT/ratings/samples.csv" \
      --annotator sim0 --error-rate 0 --out "$OUT/ratings/labels_sim0_noiseless.csv" --details "$OUT/ratings/details.jsonl"
  run "$OUT/pair_agreement.json" bash -c "python3 bench/pair_agreement.py '$OUT/ratings/scores.jsonl' \
      '$OUT/ratings/details.jsonl' > '$OUT/pair_agreement.tmp' && mv '$OUT/pair_agreement.tmp' '$OUT/pair_agreement.json'"
  pairs_set "$OUT/pairs" --judges "$J" --audioscore "$AS" -K "$K"
fi

evaluate() {  # name generator [generate args...]
  local name=$1 gen=$2; shift 2
  run "$OUT/eval/$name/.generated" bash -c "'$V2A' ${T[*]} generate --model '$gen' --vae '$VAE' --manifest '$M' \
      --split test --steps $STEPS --seed 42 --out-dir '$OUT/eval/$name' $* && touch '$OUT/eval/$name/.generated'"
  run "$OUT/eval/$name.json" "$V2A" "${T[@]}" eval --gt "$M" --pred "$OUT/eval/$name" --judges "$J" --allow-silent \
      --simulated-annotator sim0 --out "$OUT/eval/$name.json"
}
dpo_run() {  # name dpo-args...: one `v2a dpo` from the base (RUN_STEPS updates), then its evaluation
  local name=$1; shift
  run "$OUT/$name/generator.safetensors" "$V2A" "${T[@]}" dpo --data "$M" --init "$BASE" --vae "$VAE" \
      --steps "${RUN_STEPS:-$DPO_STEPS}" --lr "$LR" --warmup "$WARMUP" "$@" --out "$OUT/$name"
  evaluate "$name" "$OUT/$name/generator.safetensors"
}
if [[ " $TABLES " == *" 1 "* ]]; then
want sft && evaluate sft "$BASE"
# A control, not a system: the base fed other clips' videos (how much of each metric is the video).
[ "${CONTROL:-1}" = 1 ] && want control_shuffled_video && evaluate control_shuffled_video "$BASE" --video-source shuffled
for s in $SEEDS; do
  # More SFT at the same number of generator forward+backward rows as a DPO run (2 rows per pair).
  if want sft_more; then
    run "$OUT/sft_more_s$s/generator.safetensors" "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --init "$BASE" \
        --steps "$DPO_STEPS" --batch 16 --lr "$LR" --warmup "$WARMUP" --seed "$s" --out "$OUT/sft_more_s$s"
    evaluate "sft_more_s$s" "$OUT/sft_more_s$s/generator.safetensors"
  fi
  # A control for attribution, not a system: SFT on only the WINNER rows of a DPO update (8 ground-truth
  # clips per update, the same updates and lr). A ground-truth-winner DPO row with lambda = 1 trains exactly
  # these rows plus the preference term, so row - sft_winners is what the preference term adds.
  if want sft_winners; then
    run "$OUT/sft_winners_s$s/generator.safetensors" "$V2A" "${T[@]}" train --data "$M" --vae "$VAE" --init "$BASE" \
        --steps "$DPO_STEPS" --batch 8 --lr "$LR" --warmup "$WARMUP" --seed "$s" --out "$OUT/sft_winners_s$s"
    evaluate "sft_winners_s$s" "$OUT/sft_winners_s$s/generator.safetensors"
  fi
  # shellcheck disable=SC2086
  want dpo_oracle && RUN_STEPS=$((DPO_STEPS * 2 / 3)) dpo_run "dpo_oracle_s$s" --pairs "$OUT/pairs_oracle" \
      --no-curriculum --seed "$s" $ORACLE_OPTS
  # The oracle ceiling in the linear regime (stop 17): beta LIN_BETA (the preference gradient of the size of the
  # anchor's, not ~300x it), the preference term on t <= PREF_T_MAX, the ground-truth anchor.
  # shellcheck disable=SC2086
  want dpo_oracle_lin && RUN_STEPS=$((DPO_STEPS * 2 / 3)) dpo_run "dpo_oracle_lin_s$s" --pairs "$OUT/pairs_oracle" \
      --no-curriculum --seed "$s" --beta "$LIN_BETA" --pref-t-max "$PREF_T_MAX" $ORACLE_OPTS
  # shellcheck disable=SC2086
  want syncdpo && dpo_run "syncdpo_s$s" --syncdpo --seed "$s" $DPO_OPTS
  # SyncDPO with beta calibrated toward a gradient factor of 0.2 (at beta 2000 its factor is < 0.05 on
  # 60-70% of updates: the preference term stops teaching, stop 14).
  # shellcheck disable=SC2086
  want syncdpo_ab && dpo_run "syncdpo_ab_s$s" --syncdpo --seed "$s" --auto-beta 0.2 \
      ${AUTOBETA_OPTS:---auto-beta-decay 0.9} $DPO_OPTS
  # SyncDPO on the subtle band only (shifts 0.04-0.16 s, local shifts, stretches: what DeSync measures); the
  # coarse band is separable within 5 updates and its early stop exported the base (stop 16).
  # shellcheck disable=SC2086
  want syncdpo_sub && dpo_run "syncdpo_sub_s$s" --syncdpo --syncdpo-first-stage 2 --seed "$s" $DPO_OPTS
  # ... and with the preference term on the noisy half of the path only (--pref-t-max): near the data end a
  # loser's error is a denoising error, and raising it degrades every sample (stop 17's hypothesis).
  # shellcheck disable=SC2086
  want syncdpo_sub_t && dpo_run "syncdpo_sub_t_s$s" --syncdpo --syncdpo-first-stage 2 --pref-t-max "$PREF_T_MAX" \
      --seed "$s" $DPO_OPTS
  # shellcheck disable=SC2086
  want gtvs && dpo_run "gtvs_s$s" --pairs "$OUT/pairs_gt" --no-curriculum --seed "$s" $DPO_OPTS
  # GT-vs-sample in the linear regime: beta LIN_BETA, the preference term on t <= PREF_T_MAX (stop 17's Table 2).
  # shellcheck disable=SC2086
  want gtvs_lin && dpo_run "gtvs_lin_s$s" --pairs "$OUT/pairs_gt" --no-curriculum --beta "$LIN_BETA" \
      --pref-t-max "$PREF_T_MAX" --seed "$s" $DPO_OPTS
  # shellcheck disable=SC2086
  want gtvs_t && dpo_run "gtvs_t_s$s" --pairs "$OUT/pairs_gt" --no-curriculum --pref-t-max "$PREF_T_MAX" \
      --seed "$s" $DPO_OPTS
  # Online rounds in the linear regime: fresh losers from the current policy each round (stop 17).
  # shellcheck disable=SC2086
  want gtvs_online_lin && dpo_run "gtvs_online_lin_s$s" --online-rounds "${ONLINE_ROUNDS:-2}" --online-ranking gt-vs-sample \
      --online-K 1 --online-steps "$STEPS" --no-curriculum --beta "$LIN_BETA" --pref-t-max "$PREF_T_MAX" --seed "$s" $DPO_OPTS
  # shellcheck disable=SC2086
  want gtvs_online4_lin && dpo_run "gtvs_online4_lin_s$s" --online-rounds 4 --online-ranking gt-vs-sample \
      --online-K 1 --online-steps "$STEPS" --no-curriculum --beta "$LIN_BETA" --pref-t-max "$PREF_T_MAX" --seed "$s" $DPO_OPTS
  # shellcheck disable=SC2086
  want gtvs_online && dpo_run "gtvs_online_s$s" --online-rounds "${ONLINE_ROUNDS:-2}" --online-ranking gt-vs-sample \
      --online-K 1 --online-steps "$STEPS" --no-curriculum --seed "$s" $DPO_OPTS
  if [ "${AUDIOSCORE:-0}" = 1 ]; then
    # shellcheck disable=SC2086
    dpo_run "dpo_cur_s$s" --pairs "$OUT/pairs" --seed "$s" $DPO_OPTS
    # shellcheck disable=SC2086
    dpo_run "dpo_mix_s$s" --pairs "$OUT/pairs" --no-curriculum --seed "$s" $DPO_OPTS
    run "$OUT/ddpo_s$s/generator.safetensors" "$V2A" "${T[@]}" ddpo --data "$M" --init "$BASE" --vae "$VAE" \
        --judges "$J" --audioscore "$OUT/audioscore.safetensors" --steps "$DDPO_STEPS" --lr "$LR" --seed "$s" \
        --out "$OUT/ddpo_s$s"
    evaluate "ddpo_s$s" "$OUT/ddpo_s$s/generator.safetensors"
  fi
done
fi
# Table 2 (seed 0, GT-vs-sample pairs, the Table 1 row's other options): beta, lambda, auto-beta.
first_seed=${SEEDS%% *}
if [[ " $TABLES " == *" 2 "* ]]; then
T2_OPTS="--pairs $OUT/pairs_gt --no-curriculum --sdpo-mu 0.9 --max-drift 0.02 --val-every 20 --log-every 1 --seed $first_seed"
for beta in ${BETAS:-500 8000}; do
  # shellcheck disable=SC2086
  dpo_run "t2_beta${beta}" --beta "$beta" --sft-weight 1.0 $T2_OPTS
done
for lambda in ${LAMBDAS:-0 0.1}; do
  # shellcheck disable=SC2086
  dpo_run "t2_lambda${lambda}" --sft-weight "$lambda" $T2_OPTS
done
# shellcheck disable=SC2086
[ "${T2_AUTOBETA:-1}" = 1 ] && dpo_run "t2_autobeta0.2" --auto-beta 0.2 ${AUTOBETA_OPTS:---auto-beta-decay 0.9} \
    --sft-weight 1.0 $T2_OPTS
# beta for the rows whose preference term is limited to t <= PREF_T_MAX. At beta 2000 the preference
# gradient (norm ~300 at the first updates) swamps the winners' flow term (norm ~1) under the global clip at
# 1.0, so lambda = 1 anchors nothing; at beta ~ 4 lambda / sigma(-z) the two terms are of one size (stop 17).
T2_T_OPTS="--pref-t-max $PREF_T_MAX --sft-weight 1.0 --sdpo-mu 0.9 --max-drift 0.02 --val-every 20 --log-every 1 --seed $first_seed"
for beta in ${SYNC_BETAS:-}; do
  # shellcheck disable=SC2086
  dpo_run "t2_syncsub_t_beta${beta}" --syncdpo --syncdpo-first-stage 2 --beta "$beta" $T2_T_OPTS
done
for beta in ${GTVS_T_BETAS:-}; do
  # shellcheck disable=SC2086
  dpo_run "t2_gtvs_t_beta${beta}" --pairs "$OUT/pairs_gt" --no-curriculum --beta "$beta" $T2_T_OPTS
done
fi
python3 bench/summarize_tables.py "$OUT" > "$OUT/tables.md"
python3 bench/dpo_diagnostics.py "$OUT" --json "$OUT/dpo_diagnostics.json" >> "$OUT/tables.md"
cat "$OUT/tables.md"
# The tables as a page to look at and listen to (v2a report): base and every seed-0 row side by side on the
# first REPORT_CLIPS test clips, their training curves, the summary tables.
systems=(); runs=(); tables=()
for j in "$OUT"/eval/*.json; do
  name=$(basename "$j" .json)
  case $name in *_s[1-9]) continue ;; esac
  systems+=("$name=$j")
  [ -e "$OUT/$name/metrics.jsonl" ] && runs+=("$OUT/$name")
done
for t in "$OUT"/dpo_table1.json "$OUT"/dpo_table2.json; do [ -e "$t" ] && tables+=("$t"); done
if [ ${#systems[@]} -gt 0 ]; then
  "$V2A" "${T[@]}" report --manifest "$M" --out "$OUT/report" --clips "${REPORT_CLIPS:-16}" \
      --title "Flow-DPO tables: $(basename "$OUT")" --runs "${systems[@]}" "${runs[@]}" \
      ${tables[@]:+--tables "${tables[@]}"}
fi
