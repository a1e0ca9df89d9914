#!/usr/bin/env python3
"""Onset F1 (+-100 ms) per system from `v2a eval` JSON files, with 95% bootstrap intervals over clips,
and paired differences against the first system (same clips, so the difference interval is tighter).

    summarize_onset.py DIR first_system other_system...      (reads DIR/<system>.json)
"""
import json, pathlib, random, sys

d = pathlib.Path(sys.argv[1])
names = sys.argv[2:]
OTHER = ["ib_score", "desync", "kl_cnn", "fd_cnn", "is_cnn", "clap", "av_align"]


def load(name):
    j = json.loads((d / f"{name}.json").read_text())
    per = {k: v["onset_f1"] for k, v in j.get("per_clip", {}).items() if "onset_f1" in v}
    return j.get("metrics", {}), per


def boot(values, reps=2000, seed=0):
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(reps))
    return sum(values) / n, means[int(0.025 * reps)], means[int(0.975 * reps)]


data = {n: load(n) for n in names}
base_metrics, base = data[names[0]]
print("| system | clips | onset F1 [95% CI] | Δ vs " + names[0] + " [95% CI] | " + " | ".join(OTHER) + " |")
print("|---" * (4 + len(OTHER)) + "|")
for n in names:
    m, per = data[n]
    ids = sorted(per)
    mean, lo, hi = boot([per[i] for i in ids])
    if n == names[0]:
        delta = "–"
    else:
        common = [i for i in ids if i in base]
        dm, dlo, dhi = boot([per[i] - base[i] for i in common])
        delta = f"{dm:+.3f} [{dlo:+.3f}, {dhi:+.3f}]"
    other = " | ".join(f"{m.get(k, float('nan')):.3f}" for k in OTHER)
    print(f"| {n} | {len(ids)} | {mean:.3f} [{lo:.3f}, {hi:.3f}] | {delta} | {other} |")
