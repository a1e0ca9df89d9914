#!/usr/bin/env python3
"""The results tables of bench/dpo_tables.sh as JSON (one fixed row schema) and markdown rendered from it.

  python3 bench/summarize_tables.py OUT > OUT/tables.md

Reads OUT/eval/<run>.json (`v2a eval`; dangling symlinks are skipped) and the held-out flow-matching
loss of each run, writes OUT/dpo_table1.json (every system not named t2_*) and OUT/dpo_table2.json
(every t2_* system plus the base `sft` and the more-SFT baseline `sft_more`), each atomically, and
prints both tables as markdown. A run named <system>_s<seed> is seed <seed> of <system>; any other run
name is a single unseeded run of the system of that name. Only the Python standard library is used.

Row schema (a JSON list of these per table):
  {"system": str, "seeds": [int] ([] for a single unseeded run), "runs": int,
   "metrics":     {name: {"mean": x, "lo": x|null, "hi": x|null}},
   "vs_base":     {name: {"delta": x, "lo": x|null, "hi": x|null}},    # system - sft;      {} for sft
   "vs_more_sft": {name: {"delta": x, "lo": x|null, "hi": x|null}}}    # system - sft_more; {} for sft_more
  and, only when the control run sft_winners exists (SFT on the winner rows of a DPO update alone), on every
  other row but the base and more SFT: "vs_sft_winners" (system - sft_winners: what the preference term adds
  to a ground-truth-winner row's own flow term).
  names: ib_score desync kl_cnn is_cnn fd_cnn clap onset_f1 av_align sim_quality sim_good_rate heldout_fm;
  a metric a row has no data for is left out (e.g. sim_* in eval files older than them).

Statistics (all 95%, all resampling with 1000 resamples from a fixed seed, 0):
  Per-clip metrics (ib_score, desync = mean |desync_offsets| of the clip, clap, onset_f1, av_align,
    sim_quality, sim_good_rate = the per-clip sim_good 0/1): each clip's value is averaged over the
    system's runs (seeds), on the clips that have a value in every run; mean = the mean of those
    per-clip averages over clips; [lo, hi] = percentile bootstrap over clips (sorted resampled means,
    the 25th and 975th of 1000 (0-based)). A metric some runs of a system have per clip and others lack
    is left out of the row (warning on stderr).
  Set-level metrics (fd_cnn, kl_cnn, is_cnn, and heldout_fm, one number per run): mean over the runs that
    have it; [lo, hi] = mean -/+ t(0.975, n-1) * sd / sqrt(n) with n runs and sample sd, when n >= 2;
    else null. (A per-clip metric an eval file stores only as a set value is treated as set-level, and
    so are its deltas.)
  Deltas (system - other, other = the base sft or sft_more):
    per-clip metrics: paired bootstrap over the clips both have of (system's seed-averaged value -
      other's seed-averaged value); delta = mean difference.
    set-level metrics: delta = difference of the means; [lo, hi] = Welch t-interval, delta -/+
      t(0.975, df) * sqrt(s1^2/n1 + s2^2/n2) with Welch-Satterthwaite df, when both sides have >= 2
      runs; when only one side has >= 2 runs, that side's own t-interval shifted by the delta (the
      single run taken as exact); else null.
  One set of resampled clips for all metrics of a row or of a comparison: the clips are drawn (with
  replacement, as many as there are) from the union of the clips of every per-clip metric of that row
  or comparison, and each metric's resampled mean is over the drawn clips that have it (a clip drawn
  twice counts twice). For a metric every clip has, this is the usual bootstrap; for one only some clips
  have (clap: captioned clips, onset_f1: clips with events) it is the bootstrap of a subgroup mean.
  Fewer than 2 clips or runs: lo = hi = null.

Held-out FM (heldout_fm) of a run, the first of:
  - "heldout_loss" of OUT/<run>/result.json (`v2a dpo` writes it: the EXPORTED model's loss, which with
    --max-drift / --heldout-pairs model selection is not the last validation's);
  - the last "kind": "val" record of OUT/<run>/metrics.jsonl: its heldout_flow_loss (DPO / DDPO), else
    loss_ema (SFT, the EMA weights it exports, where logged), else loss (SFT, the live weights).
The base `sft`: OUT/sft/metrics.jsonl when it has such a record, else the heldout_loss_init of the first
OUT/*/result.json (sorted by folder name) that has one, else none. Caution: OUT/sft's validation clips
are those of the base's own data (not a SUBSET manifest), and without loss_ema its value is the live
weights': when both base values exist and differ, stderr says so.

sim_* = the SIMULATED annotator (noiseless), a stand-in for human raters, never a person.
"""
import functools
import json
import math
import operator
import os
import pathlib
import random
import re
import sys

KEYS = ["ib_score", "desync", "kl_cnn", "is_cnn", "fd_cnn", "clap", "onset_f1", "av_align",
        "sim_quality", "sim_good_rate", "heldout_fm"]
PER_CLIP = ["ib_score", "desync", "clap", "onset_f1", "av_align", "sim_quality", "sim_good_rate"]
SET_LEVEL = ["kl_cnn", "is_cnn", "fd_cnn", "heldout_fm"]
CLIP_KEY = {"sim_good_rate": "sim_good"}  # the metric's name in a clip's values, where it differs
LOWER_IS_BETTER = {"desync", "kl_cnn", "fd_cnn", "heldout_fm"}
BASE, MORE_SFT, WINNERS_ONLY = "sft", "sft_more", "sft_winners"
REPS, SEED = 1000, 0
NOTE = ("± / [lo, hi] = 95% bootstrap over test clips (per-clip metrics; seeds averaged per clip) or "
        "t-interval over seeds (FD, KL, IS, held-out FM); sim_* = the SIMULATED annotator (a stand-in for "
        "human raters, noiseless), never a person.")


def warn(msg):
    print(f"summarize_tables: {msg}", file=sys.stderr)


def number(v):
    """v as a finite float, or None (null, NaN, Inf, or not a number)."""
    if isinstance(v, bool):
        v = int(v)
    if not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


# --- inputs ----------------------------------------------------------------------------------------

def per_clip_value(key, clip):
    if key == "desync":
        offs = [number(o) for o in clip.get("desync_offsets") or []]
        return None if not offs or None in offs else sum(abs(o) for o in offs) / len(offs)
    return number(clip.get(CLIP_KEY.get(key, key)))


def load(path):
    j = json.loads(path.read_text())
    return j.get("metrics", j), j.get("per_clip", {}) or {}


def read_jsonl(path):
    recs = []
    for line in path.read_text().splitlines():
        try:
            recs.append(json.loads(line))
        except ValueError:
            pass  # a torn last line of a run still writing
    return recs


def val_loss(record):
    # DPO/DDPO log it as heldout_flow_loss; SFT's validation records call it loss (live weights) and
    # loss_ema (the EMA weights, which are what it exports).
    for key in ("heldout_flow_loss", "loss_ema", "loss"):
        v = number(record.get(key))
        if v is not None:
            return v
    return None


def flow_loss(out, run, use_result=True):
    """The run's held-out flow-matching loss (see the docstring), or None."""
    if use_result:
        try:
            v = number(json.loads((out / run / "result.json").read_text()).get("heldout_loss"))
        except (ValueError, OSError, AttributeError):
            v = None
        if v is not None:
            return v
    f = out / run / "metrics.jsonl"
    if not f.is_file():
        return None
    vals = [val_loss(r) for r in read_jsonl(f) if isinstance(r, dict) and r.get("kind") == "val"]
    vals = [v for v in vals if v is not None]
    return vals[-1] if vals else None


def base_loss_from_results(out):
    """heldout_loss_init of the first OUT/*/result.json (by folder name) that has one, or None."""
    for f in sorted(out.glob("*/result.json")):
        try:
            v = number(json.loads(f.read_text()).get("heldout_loss_init"))
        except (ValueError, OSError, AttributeError):
            continue
        if v is not None:
            return v
    return None


def split_run(stem):
    m = re.fullmatch(r"(.+)_s(\d+)", stem)
    return (m.group(1), int(m.group(2))) if m else (stem, None)


def load_runs(out):
    """{system: [run, ...]}, run = {"name", "seed", "metrics", "per_clip", "heldout_fm"}."""
    systems = {}
    for f in sorted((out / "eval").glob("*.json")):
        if not f.exists():  # a dangling alias
            continue
        try:
            metrics, per_clip = load(f)
        except (ValueError, OSError) as e:
            warn(f"{f}: skipped ({e})")
            continue
        system, seed = split_run(f.stem)
        run = {"name": f.stem, "seed": seed, "metrics": metrics if isinstance(metrics, dict) else {},
               "per_clip": per_clip if isinstance(per_clip, dict) else {},
               "heldout_fm": flow_loss(out, f.stem, use_result=system != BASE)}
        systems.setdefault(system, []).append(run)
    if BASE in systems:
        from_results = base_loss_from_results(out)
        for run in systems[BASE]:
            if run["heldout_fm"] is None:
                run["heldout_fm"] = from_results
            elif from_results is not None and abs(run["heldout_fm"] - from_results) > 1e-9:
                warn(f"base held-out FM: {run['heldout_fm']:.6g} from {BASE}/metrics.jsonl (used) vs "
                     f"{from_results:.6g}, the heldout_loss_init of a DPO run (the exported base on its val clips)")
    return systems


def seed_mean(values):
    """The mean, exactly the value when all values are equal (x0 + mean of the differences from x0)."""
    return values[0] + math.fsum(v - values[0] for v in values) / len(values)


def aggregate(system, runs):
    """The system's data: clip[k] = {clip: value averaged over runs}, runvals[k] = [one value per run] (set-level
    metrics, and per-clip ones stored only as set values), setvals[k] = the set values of per-clip metrics
    every run has (for a delta against a system that has them only as set values)."""
    clip, runvals, setvals = {}, {}, {}
    for k in PER_CLIP:
        vals = [number(r["metrics"].get(k)) for r in runs]
        if vals and None not in vals:
            setvals[k] = vals
        per_run = [{c: v for c, v in ((c, per_clip_value(k, d)) for c, d in r["per_clip"].items()
                                      if isinstance(d, dict)) if v is not None} for r in runs]
        have = sum(1 for p in per_run if p)
        if have == len(runs):
            common = set.intersection(*(set(p) for p in per_run))
            if common:
                clip[k] = {c: seed_mean([p[c] for p in per_run]) for c in sorted(common)}
            else:
                warn(f"{system}: {k}: no clip has a value in every run; left out")
        elif have:
            warn(f"{system}: {k}: per clip in {have} of {len(runs)} runs; left out")
        else:  # no per-clip values: the set value, if every run has one
            if k in setvals:
                runvals[k] = vals
            elif any(v is not None for v in vals):
                warn(f"{system}: {k}: in {sum(v is not None for v in vals)} of {len(runs)} runs; left out")
    for k in SET_LEVEL:
        vals = [r["heldout_fm"] if k == "heldout_fm" else number(r["metrics"].get(k)) for r in runs]
        present = [v for v in vals if v is not None]
        if present and len(present) < len(vals):
            warn(f"{system}: {k}: in {len(present)} of {len(vals)} runs; mean over those")
        if present:
            runvals[k] = present
    return clip, runvals, setvals


# --- statistics ------------------------------------------------------------------------------------

def _betacf(a, b, x):
    """Continued fraction of the regularized incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t, df):
    p = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - p if t >= 0 else p


@functools.lru_cache(maxsize=None)
def t_quantile(p, df):
    """Student-t quantile for 0.5 < p < 1 and any df > 0 (bisection on the CDF)."""
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def mean_sd(values):
    m = math.fsum(values) / len(values)
    sd = math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) >= 2 else 0.0
    return m, sd


def t_interval(values):
    """(mean, lo, hi): mean -/+ t(0.975, n-1) sd / sqrt(n); lo = hi = None when n < 2."""
    m, sd = mean_sd(values)
    if len(values) < 2:
        return m, None, None
    h = t_quantile(0.975, len(values) - 1) * sd / math.sqrt(len(values))
    return m, m - h, m + h


def welch_delta(a, b):
    """(delta, lo, hi) of mean(a) - mean(b); see the docstring for the cases."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    d = ma - mb
    if len(a) >= 2 and len(b) >= 2:
        va, vb = sa * sa / len(a), sb * sb / len(b)
        se = math.sqrt(va + vb)
        if se == 0.0:
            return d, d, d
        df = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
        h = t_quantile(0.975, df) * se
        return d, d - h, d + h
    for side in (a, b):
        if len(side) >= 2:
            _, lo, hi = t_interval(side)
            m = mean_sd(side)[0]
            return d, d + lo - m, d + hi - m
    return d, None, None


@functools.lru_cache(maxsize=64)
def resamples(n, reps=REPS, seed=SEED):
    """reps resamples (with replacement) of the indices 0..n-1, the same for a given (n, reps, seed)."""
    rng = random.Random(seed)
    idx = range(n)
    return [rng.choices(idx, k=n) for _ in range(reps)]


def bootstrap_means(series, reps=REPS, seed=SEED):
    """series {name: {clip: value}} -> {name: (mean, lo, hi)}, 95% percentile bootstrap over clips, the same
    resampled clips for every series (drawn from the union of their clips; each series' mean over the
    drawn clips it has). lo = hi = None for a series with fewer than 2 clips."""
    union = sorted(set().union(*(s.keys() for s in series.values()))) if series else []
    draws = resamples(len(union), reps, seed) if len(union) >= 2 else []
    res = {}
    for name, s in series.items():
        mean = math.fsum(s.values()) / len(s)
        if len(s) < 2:
            res[name] = (mean, None, None)
            continue
        vals = [s.get(c, 0.0) for c in union]
        if len(s) == len(union):
            means = [math.fsum(operator.itemgetter(*d)(vals)) / len(d) for d in draws]
        else:
            has = [1 if c in s else 0 for c in union]
            means = []
            for d in draws:
                k = sum(operator.itemgetter(*d)(has))
                if k:
                    means.append(math.fsum(operator.itemgetter(*d)(vals)) / k)
        means.sort()
        res[name] = (mean, means[int(0.025 * len(means))], means[min(len(means) - 1, int(0.975 * len(means)))])
    return res


def bootstrap_interval(values, reps=REPS, seed=SEED):
    """95% percentile-bootstrap interval (lo, hi) of the mean of values."""
    _, lo, hi = bootstrap_means({"v": dict(enumerate(values))}, reps, seed)["v"]
    return lo, hi


# --- rows ------------------------------------------------------------------------------------------

def row_metrics(data):
    clip, runvals, _ = data
    boot = bootstrap_means({k: clip[k] for k in PER_CLIP if k in clip})
    res = {}
    for k in KEYS:
        if k in boot:
            m, lo, hi = boot[k]
        elif k in runvals:
            m, lo, hi = t_interval(runvals[k])
        else:
            continue
        res[k] = {"mean": m, "lo": lo, "hi": hi}
    return res


def compare(data, other):
    """{name: {"delta", "lo", "hi"}} of data - other."""
    (clip, runvals, setvals), (oclip, orunvals, osetvals) = data, other
    diffs = {}
    for k in PER_CLIP:
        if k in clip and k in oclip:
            common = sorted(set(clip[k]) & set(oclip[k]))
            if common:
                diffs[k] = {c: clip[k][c] - oclip[k][c] for c in common}
    boot = bootstrap_means(diffs)
    res = {}
    for k in KEYS:
        if k in boot:
            d, lo, hi = boot[k]
        elif k in runvals and k in orunvals:
            d, lo, hi = welch_delta(runvals[k], orunvals[k])
        elif (k in runvals or k in setvals) and (k in orunvals or k in osetvals):  # one side has no clip values
            d, lo, hi = welch_delta(runvals.get(k) or setvals[k], orunvals.get(k) or osetvals[k])
        else:
            continue
        res[k] = {"delta": d, "lo": lo, "hi": hi}
    return res


def build_rows(systems):
    """Every system's row, the base first, then sft_more, then the others in name order."""
    data = {s: aggregate(s, runs) for s, runs in systems.items()}
    order = [s for s in (BASE, MORE_SFT) if s in systems] + sorted(s for s in systems if s not in (BASE, MORE_SFT))
    rows = {}
    for s in order:
        runs = systems[s]
        rows[s] = {
            "system": s,
            "seeds": sorted(r["seed"] for r in runs if r["seed"] is not None),
            "runs": len(runs),
            "metrics": row_metrics(data[s]),
            "vs_base": compare(data[s], data[BASE]) if BASE in data and s != BASE else {},
            "vs_more_sft": compare(data[s], data[MORE_SFT]) if MORE_SFT in data and s != MORE_SFT else {},
        }
        if WINNERS_ONLY in data and s not in (BASE, MORE_SFT, WINNERS_ONLY):
            rows[s]["vs_sft_winners"] = compare(data[s], data[WINNERS_ONLY])
    return list(rows.values())


def split_tables(rows):
    t1 = [r for r in rows if not r["system"].startswith("t2_")]
    t2 = [r for r in rows if r["system"] in (BASE, MORE_SFT)] + [r for r in rows if r["system"].startswith("t2_")]
    return t1, t2


def write_json(path, obj):
    tmp = pathlib.Path(str(path) + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)


# --- markdown --------------------------------------------------------------------------------------

def fmt(x, signed=False):
    if x is None:
        return "–"
    s = f"{x:+.4g}" if signed else f"{x:.4g}"
    return "0" if s in ("+0", "-0") else s


def cell(v, key):
    if v is None:
        return "–"
    c = fmt(v[key], signed=(key == "delta"))
    if v["lo"] is not None and v["hi"] is not None:
        c += f" [{fmt(v['lo'], key == 'delta')}, {fmt(v['hi'], key == 'delta')}]"
        if key == "delta" and (v["lo"] > 0 or v["hi"] < 0):
            c += " *"
    return c


def header(k):
    return k + (" ↓" if k in LOWER_IS_BETTER else " ↑")


def markdown(title, rows):
    lines = [f"## {title}", ""]
    if not rows:
        return lines + ["(no evaluated runs)", ""]
    cols = [k for k in KEYS if any(k in r["metrics"] for r in rows)]
    lines += ["| system | runs | " + " | ".join(header(k) for k in cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for r in rows:
        runs = f"{r['runs']} (s{','.join(map(str, r['seeds']))})" if r["seeds"] else str(r["runs"])
        cells = " | ".join(cell(r["metrics"].get(k), "mean") for k in cols)
        lines.append(f"| {r['system']} | {runs} | {cells} |")
    lines += ["", NOTE, ""]
    for field, other in (("vs_base", ("the SFT base", BASE)), ("vs_more_sft", ("more SFT", MORE_SFT)),
                         ("vs_sft_winners", ("SFT on the winner rows only (what the preference term adds)",
                                             WINNERS_ONLY))):
        drows = [r for r in rows if r.get(field)]
        if not drows:
            continue
        dcols = [k for k in KEYS if any(k in r[field] for r in drows)]
        lines += [f"Difference from {other[0]}: system − {other[1]}, delta [95% interval]; "
                  "* = the interval excludes 0.", ""]
        lines += ["| system | " + " | ".join(header(k) for k in dcols) + " |", "|---" * (len(dcols) + 1) + "|"]
        for r in drows:
            lines.append(f"| {r['system']} | " + " | ".join(cell(r[field].get(k), "delta") for k in dcols) + " |")
        lines += ["", NOTE + " Deltas: paired bootstrap over the clips both have (per-clip metrics) or Welch "
                  "t-interval over seeds (set-level).", ""]
    return lines


def main(argv):
    if len(argv) != 2:
        print("usage: summarize_tables.py OUT", file=sys.stderr)
        return 2
    out = pathlib.Path(argv[1])
    rows = build_rows(load_runs(out))
    t1, t2 = split_tables(rows)
    write_json(out / "dpo_table1.json", t1)
    write_json(out / "dpo_table2.json", t2)
    lines = markdown("Table 1", t1) + markdown("Table 2", t2)
    print("\n".join(lines).rstrip("\n"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
