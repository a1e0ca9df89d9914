#!/usr/bin/env bash
# Issue 17's measurement on this machine: the same SFT (global batch, seed, steps) as
#   (a) 1 process x 2 threads     and     (b) `v2a launch` 2 processes x 1 thread,
# for the bench model and (communication cost only) small_16k; writes docs/results/bench_distributed.json.
#   DATA=data/bench VAE=runs/base/vae/vae.safetensors bash bench/distributed.sh
# Environment: V2A, DATA, VAE, STEPS (30 bench), SMALL=0 skips small_16k (SMALL_STEPS 4; ~8 min here),
# OUT (scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
V2A=${V2A:-build/v2a}
DATA=${DATA:-data/bench}
VAE=${VAE:?VAE=<vae.safetensors>}
OUT=${OUT:-runs/bench_distributed}
M=$DATA/manifest.csv
rm -rf "$OUT"; mkdir -p "$OUT"
one() {  # name preset steps: 1 process x 2 threads
  local t0 t1
  t0=$(date +%s.%N)
  "$V2A" --threads 2 --log-level warn train --data "$M" --vae "$VAE" --preset "$2" --steps "$3" --batch 8 --warmup 0 \
      --val-every 100000 --checkpoint-every 100000 --out "$OUT/$1" > /dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/$1/wall.txt"
}
two() {  # name preset steps: 2 processes x 1 thread
  local t0 t1
  t0=$(date +%s.%N)
  "$V2A" --log-level warn launch --nproc-per-node 2 --threads-per-process 1 -- train --data "$M" --vae "$VAE" \
      --preset "$2" --steps "$3" --batch 8 --warmup 0 --val-every 100000 --checkpoint-every 100000 --out "$OUT/$1" > /dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" > "$OUT/$1/wall.txt"
}
S=${STEPS:-30}
one bench_1x2 bench "$S"
two bench_2x1 bench "$S"
[ "${SMALL:-1}" = 1 ] && two small16k_2x1 small_16k "${SMALL_STEPS:-4}"
python3 - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
rows = {}
for run in sorted(p for p in out.iterdir() if p.is_dir()):
    recs = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    train = [r for r in recs if r.get("kind") == "train"]
    tp = run / "throughput.json"
    dist = [json.loads(tp.read_text())] if tp.exists() else []
    t0, t1 = map(float, (run / "wall.txt").read_text().split())
    row = {"updates": train[-1]["step"] if train else None, "wall_seconds": round(t1 - t0, 1)}
    if dist:
        d = dist[-1]
        row.update({k: d[k] for k in ("world_size", "train_updates_per_second", "updates_per_second", "validation_checkpoint_seconds", "bytes_per_update",
                                       "comm_ms_per_update", "collectives_per_update") if k in d})
    rows[run.name] = row
res = {"command": "bash bench/distributed.sh", "batch": 8, "note":
       "train_updates_per_second: the loop's updates alone (validation at the last step and checkpoints "
       "excluded); updates_per_second: the loop's wall clock; wall_seconds: the whole command (data loading, VAE "
       "encoding, model build included); communication is rank 0's collectives", "runs": rows}
dst = pathlib.Path("docs/results/bench_distributed.json")
tmp = dst.with_suffix(".tmp"); tmp.write_text(json.dumps(res, indent=2) + "\n"); tmp.replace(dst)
print(json.dumps(res, indent=2))
PY
