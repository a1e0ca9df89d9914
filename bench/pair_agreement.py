#!/usr/bin/env python3
"""How well AudioScore ranks the samples of ONE video, measured against the SIMULATED annotator.

AudioScore's held-out accuracy mixes two things: telling good videos from bad ones (between videos) and
telling a video's good samples from its bad ones (within a video). Preference pairs need only the second.
This script reads, for the same rated samples,
  scores.jsonl   `v2a audioscore score` (raw judge scores and P(Good/Medium/Bad) per sample)
  details.jsonl  `v2a labels simulate --error-rate 0 --details` (the annotator's quality and its parts)
and writes JSON with
  - the within-video Pearson correlation of each judge score (and P(Good)) with the annotator's quality
    and its temporal / semantic / aesthetic parts (each value minus its video's mean), pooled for scale;
  - the pair rule of `v2a pairs` (winner = argmax P(Good), loser = argmax P(Bad), winner != loser,
    P(Good)_w > P(Good)_l; no minimum margin, the `--min-margin 0` default) applied to these samples: how
    often the annotator's quality agrees with the pair, the mean quality margin, and the oracle margin
    (best minus worst sample by the annotator) over the same videos and over all videos.

  pair_agreement.py scores.jsonl details.jsonl > pair_agreement.json
"""
import json
import math
import sys
from collections import defaultdict

SCORES = ["ib_score", "clap_score", "desync", "quality", "pesq"]
PARTS = ["quality", "temporal", "semantic", "aesthetic"]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pearson(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if x is not None and y is not None]
    n = len(pts)
    if n < 3:
        return None
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxy = sum((x - mx) * (y - my) for x, y in pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    syy = sum((y - my) ** 2 for _, y in pts)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else None


def demean_by_video(values, videos):
    groups = defaultdict(list)
    for v, x in zip(videos, values):
        if x is not None:
            groups[v].append(x)
    means = {v: sum(xs) / len(xs) for v, xs in groups.items()}
    return [None if x is None else x - means[v] for v, x in zip(videos, values)]


def main(scores_path, details_path):
    scores = {r["sample_id"]: r for r in read_jsonl(scores_path)}
    details = {r["clip_id"]: r for r in read_jsonl(details_path)}  # clip_id = sample id there
    ids = sorted(set(scores) & set(details))
    if not ids:
        sys.exit(f"{scores_path} and {details_path} share no sample id")
    videos = [scores[i]["clip_id"] for i in ids]
    inputs = {n: [scores[i]["scores"].get(n) for i in ids] for n in SCORES}
    inputs["p_good"] = [scores[i]["p_good"] for i in ids]
    parts = {p: [details[i].get(p) for i in ids] for p in PARTS}

    def table(transform):  # each series transformed once, then every (input, part) correlation
        xs = {n: transform(x) for n, x in inputs.items()}
        ys = {p: transform(y) for p, y in parts.items()}
        return {n: {p: pearson(x, ys[p]) for p in PARTS} for n, x in xs.items()}

    by_video = defaultdict(list)
    for i in ids:
        by_video[scores[i]["clip_id"]].append(i)
    agree, margins, oracle, oracle_all = [], [], [], []
    for v, c in sorted(by_video.items()):
        q = {i: details[i]["quality"] for i in c}
        oracle_all.append(max(q.values()) - min(q.values()))
        w = max(c, key=lambda i: scores[i]["p_good"])
        l = max(c, key=lambda i: scores[i]["p_bad"])
        if w == l or scores[w]["p_good"] <= scores[l]["p_good"]:
            continue
        agree.append(q[w] > q[l])
        margins.append(q[w] - q[l])
        oracle.append(oracle_all[-1])
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    json.dump({
        "samples": len(ids), "videos": len(by_video),
        "within_video_correlation": table(lambda x: demean_by_video(x, videos)),
        "pooled_correlation": table(lambda x: x),
        "pair_rule": {"pairs": len(agree), "annotator_agrees": mean([float(a) for a in agree]),
                      "mean_quality_margin": mean(margins), "oracle_mean_quality_margin": mean(oracle),
                      "oracle_mean_quality_margin_all_videos": mean(oracle_all)},
    }, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
