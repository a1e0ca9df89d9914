#!/usr/bin/env python3
"""Training diagnostics of every Flow-DPO run under OUT (bench/dpo_tables.sh), from the runs' own logs.

  python3 bench/dpo_diagnostics.py OUT [--json OUT/dpo_diagnostics.json]

A run is a folder with result.json and metrics.jsonl (`v2a dpo --log-every 1`); an online run
(`--online-rounds`) is a folder with round_<r>/dpo/ runs, whose updates are read in round order.
Per run, over its logged updates:
  implicit_acc       mean implicit accuracy (z > 0)
  gradient_factor    mean sigma(-z): near 0 = the DPO term has stopped teaching
  saturated_share    share of updates with gradient_factor < 0.05
  negative_share     mean share of pairs with z < 0
  beta               mean beta (changes with --auto-beta)
  sdpo_scale         mean SDPO loser scale (when on)
  winner_err_change  (model_w_err - ref_w_err) / ref_w_err, mean over the last 10 updates: the
                     winners' own error relative to the reference (> 0: DPO raised it)
  loser_err_change   the same for the losers
  heldout_drift, exported_step, steps_trained, stopped_early: from result.json
Prints a markdown table; --json writes the rows atomically. Standard library only.
"""
import json
import math
import os
import pathlib
import sys


def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def mean(xs):
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(xs) / len(xs) if xs else None


def run_logs(run):
    """The run's train records in update order (online rounds concatenated), or None if not a DPO run."""
    run = pathlib.Path(run)
    rounds = sorted(run.glob("round_*/dpo/metrics.jsonl"), key=lambda p: int(p.parent.parent.name.split("_")[1]))
    files = rounds if rounds else [run / "metrics.jsonl"]
    if not (run / "result.json").exists() or not all(f.exists() for f in files):
        return None
    recs = []
    for f in files:
        recs += [r for r in read_jsonl(f) if r.get("kind") == "train" and "gradient_factor" in r]
    return recs


def diagnose(run):
    recs = run_logs(run)
    if not recs:
        return None
    result = json.loads((pathlib.Path(run) / "result.json").read_text())
    col = lambda k: [r.get(k) for r in recs]
    last = recs[-10:]

    def change(m, ref):
        vals = [(r[m] - r[ref]) / r[ref] for r in last if r.get(ref)]
        return mean(vals)

    gf = [g for g in col("gradient_factor") if g is not None]
    row = {
        "run": pathlib.Path(run).name,
        "updates": len(recs),
        "implicit_acc": mean(col("implicit_acc")),
        "gradient_factor": mean(gf),
        "saturated_share": sum(g < 0.05 for g in gf) / len(gf) if gf else None,
        "negative_share": mean(col("negative_share")),
        "beta": mean(col("beta")),
        "sdpo_scale": mean(col("sdpo_scale")),
        "winner_err_change": change("model_w_err", "ref_w_err"),
        "loser_err_change": change("model_l_err", "ref_l_err"),
        "heldout_drift": result.get("heldout_drift"),
        "exported_step": result.get("exported_step"),
        "steps_trained": result.get("steps_trained", len(recs)),
        "stopped_early": result.get("stopped_early"),
    }
    if "rounds" in result:
        row["rounds_run"] = result.get("rounds_run")
        row["exported_step"] = [r.get("exported_step") for r in result["rounds"]]
        row["stopped_early"] = any(r.get("stopped_early") for r in result["rounds"])
    return row


def fmt(v, pct=False):
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, int)):
        return str(v)
    return f"{100 * v:+.1f}%" if pct else f"{v:.3g}"


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: dpo_diagnostics.py OUT [--json FILE]")
    out = pathlib.Path(argv[1])
    if not out.is_dir():
        sys.exit(f"dpo_diagnostics: {out}: not a folder")
    rows = [r for r in (diagnose(d) for d in sorted(out.iterdir()) if d.is_dir()) if r]
    print("| run | updates | implicit acc. | gradient factor | updates with factor < 0.05 | negative share | beta |"
          " SDPO scale | winner err. vs ref | loser err. vs ref | held-out FM drift | exported | stopped early |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['run']} | {r['updates']} | {fmt(r['implicit_acc'])} | {fmt(r['gradient_factor'])} | "
              f"{fmt(r['saturated_share'], True).lstrip('+')} | {fmt(r['negative_share'])} | {fmt(r['beta'])} | "
              f"{fmt(r['sdpo_scale'])} | {fmt(r['winner_err_change'], True)} | {fmt(r['loser_err_change'], True)} | "
              f"{fmt(r['heldout_drift'], True)} | {fmt(r['exported_step'])} | {fmt(r['stopped_early'])} |")
    if "--json" in argv:
        path = pathlib.Path(argv[argv.index("--json") + 1])
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(rows, indent=1) + "\n")
        os.replace(tmp, path)


if __name__ == "__main__":
    main(sys.argv)
