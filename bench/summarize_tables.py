#!/usr/bin/env python3
"""Markdown tables from bench/dpo_tables.sh's eval JSON files. A system with several runs (seeds) gets
mean ± 95% t-interval over them; a system with one run gets mean ± half-width of a 95% bootstrap interval
over its test clips for the metrics `v2a eval` stores per clip (set-level ones, FD / KL / IS, get none)."""
import json, math, pathlib, random, re, sys

out = pathlib.Path(sys.argv[1])
KEYS = ["ib_score", "desync", "kl_cnn", "is_cnn", "fd_cnn", "clap", "onset_f1", "av_align"]
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571}


def per_clip_value(key, clip):
    if key == "desync":
        offs = clip.get("desync_offsets")
        return None if offs is None else sum(abs(o) for o in offs) / len(offs)
    return clip.get(key)


def load(path):
    j = json.loads(path.read_text())
    return j.get("metrics", j), j.get("per_clip", {})


def flow_loss(run):
    f = out / run / "metrics.jsonl"
    recs = [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []
    # DPO/DDPO log it as heldout_flow_loss; SFT's validation records call it loss.
    vals = [r.get("heldout_flow_loss", r.get("loss")) for r in recs if r.get("kind") == "val"]
    vals = [v for v in vals if v is not None]
    return vals[-1] if vals else float("nan")


def bootstrap_interval(values, reps=1000, seed=0):
    """95% percentile-bootstrap interval (lo, hi) of the mean of values."""
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(reps))
    return means[int(0.025 * reps)], means[int(0.975 * reps)]


def bootstrap_half_width(values):
    lo, hi = bootstrap_interval(values)
    return (hi - lo) / 2


def cell(values, clips=None):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return "–"
    m = sum(values) / len(values)
    if len(values) >= 2:
        sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
        return f"{m:.4g} ± {T95.get(len(values) - 1, 2.0) * sd / math.sqrt(len(values)):.2g}"
    clips = [c for c in (clips or []) if c is not None]
    if len(clips) >= 2:
        return f"{m:.4g} ± {bootstrap_half_width(clips):.2g}"
    return f"{m:.4g}"


groups = {}
for f in sorted(p for p in (out / "eval").glob("*.json") if p.exists()):  # skips dangling aliases
    name = re.sub(r"_s\d+$", "", f.stem)
    groups.setdefault(name, []).append((f.stem, *load(f)))
print("| system | runs | " + " | ".join(KEYS) + " | held-out FM loss |")
print("|---" * (len(KEYS) + 3) + "|")
for name, runs in groups.items():
    row = []
    for k in KEYS:
        clips = [per_clip_value(k, c) for c in runs[0][2].values()] if len(runs) == 1 else None
        row.append(cell([m.get(k) for _, m, _ in runs], clips))
    fm = cell([flow_loss(stem) for stem, _, _ in runs])
    print(f"| {name} | {len(runs)} | " + " | ".join(row) + f" | {fm} |")
print()
print("± = 95% t-interval over runs (seeds) when runs > 1, else 95% bootstrap over test clips (per-clip metrics).")


def paired_delta(base_clips, clips, key):
    """Mean of (system - base) over the test clips both have, and a 95% paired-bootstrap interval."""
    pairs = [(per_clip_value(key, clips[i]), per_clip_value(key, base_clips[i])) for i in sorted(set(base_clips) & set(clips))]
    d = [a - b for a, b in pairs if a is not None and b is not None]
    if len(d) < 2:
        return "–"
    lo, hi = bootstrap_interval(d)
    mark = " *" if lo > 0 or hi < 0 else ""
    return f"{sum(d) / len(d):+.3g} [{lo:+.3g}, {hi:+.3g}]{mark}"


PER_CLIP = [k for k in KEYS if k not in ("kl_cnn", "is_cnn", "fd_cnn")]
if "sft" in groups:
    base = groups["sft"][0][2]
    print()
    print("Difference from the SFT base on the same test clips (first run of each system), mean [95% paired bootstrap];")
    print("* = the interval excludes 0.")
    print()
    print("| system | " + " | ".join(PER_CLIP) + " |")
    print("|---" * (len(PER_CLIP) + 1) + "|")
    for name, runs in groups.items():
        if name == "sft":
            continue
        print(f"| {name} | " + " | ".join(paired_delta(base, runs[0][2], k) for k in PER_CLIP) + " |")
