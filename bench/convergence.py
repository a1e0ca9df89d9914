#!/usr/bin/env python3
"""Is an SFT base converged? Reads `v2a train`'s metrics.jsonl (validation records: `loss` = live
weights, `loss_ema` = the exported EMA weights, `loss_swapped_video`) and prints the held-out curve and
the relative fall of the EMA loss over the last 20% of the updates so far (issue 14: converged when
it falls by less than 1% there). Writes the same as JSON with --json PATH.

    python3 bench/convergence.py runs/base/sft/metrics.jsonl [--json docs/results/base_convergence.json]
"""
import json
import sys


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    path = argv[1]
    out = argv[argv.index("--json") + 1] if "--json" in argv else None
    vals, lrs = [], {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line torn by a kill
            if r.get("kind") == "val":
                vals.append(r)
            elif "lr" in r:
                lrs[r["step"]] = r["lr"]
    if not vals:
        sys.exit(f"{path}: no validation records")
    print("| step | lr | held-out (live) | held-out (EMA) | swapped videos | video gap |")
    print("|---|---|---|---|---|---|")
    for r in vals:
        lr = lrs.get(r["step"], float("nan"))
        print(f"| {r['step']} | {lr:.3g} | {r.get('loss', float('nan')):.4f} | {r.get('loss_ema', float('nan')):.4f} "
              f"| {r.get('loss_swapped_video', float('nan')):.4f} | {r.get('video_gap', float('nan')):.4f} |")
    key = "loss_ema" if all("loss_ema" in r for r in vals) else "loss"
    last = vals[-1]
    start_step = 0.8 * last["step"]
    earlier = [r for r in vals if r["step"] <= start_step]
    summary = {"metrics": path, "key": key, "last_step": last["step"], "last_loss": last[key]}
    if earlier:
        ref = earlier[-1]
        fall = (ref[key] - last[key]) / ref[key]
        summary.update({"reference_step": ref["step"], "reference_loss": ref[key], "relative_fall": fall,
                        "converged": fall < 0.01})
        print(f"\n{key}: {ref[key]:.4f} at step {ref['step']} -> {last[key]:.4f} at step {last['step']}: "
              f"{100 * fall:.2f}% fall over the last 20% of updates ({'converged' if fall < 0.01 else 'still falling'}"
              f" by the <1% rule)")
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"summary": summary, "validations": vals}, f, indent=1)
        import os
        os.replace(tmp, out)


if __name__ == "__main__":
    main(sys.argv)
