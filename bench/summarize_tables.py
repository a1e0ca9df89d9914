#!/usr/bin/env python3
"""Markdown tables (mean ± 95% t-interval over seeds) from bench/dpo_tables.sh's eval JSON files."""
import json, math, pathlib, re, sys

out = pathlib.Path(sys.argv[1])
KEYS = ["ib_score", "desync", "kl_cnn", "is_cnn", "fd_cnn", "clap", "onset_f1", "av_align"]
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}


def metrics(path):
    j = json.loads(path.read_text())
    return j.get("metrics", j)


def flow_loss(run):
    f = out / run / "metrics.jsonl"
    recs = [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []
    # DPO/DDPO log it as heldout_flow_loss; SFT's validation records call it loss.
    vals = [r.get("heldout_flow_loss", r.get("loss")) for r in recs if r.get("kind") == "val"]
    vals = [v for v in vals if v is not None]
    return vals[-1] if vals else float("nan")


def cell(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "–"
    m = sum(values) / len(values)
    if len(values) < 2:
        return f"{m:.4g}"
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return f"{m:.4g} ± {T95.get(len(values) - 1, 2.0) * sd / math.sqrt(len(values)):.2g}"


groups = {}
for f in sorted(p for p in (out / "eval").glob("*.json") if p.exists()):  # skips dangling aliases
    name = re.sub(r"_s\d+$", "", f.stem)
    groups.setdefault(name, []).append((f.stem, metrics(f)))
print("| system | n | " + " | ".join(KEYS) + " | held-out FM loss |")
print("|---" * (len(KEYS) + 3) + "|")
for name, runs in groups.items():
    row = [cell([m.get(k) for _, m in runs]) for k in KEYS]
    fm = cell([flow_loss(stem) for stem, _ in runs])
    print(f"| {name} | {len(runs)} | " + " | ".join(row) + f" | {fm} |")
