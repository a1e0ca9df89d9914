#!/usr/bin/env python3
"""Ranks the operators of a LibTorch profiler trace (bench_generate --profile) by self time.

  python3 bench/profile_ops.py TRACE [--top 25]

Self time of an event = its duration minus the durations of the events nested directly inside it on
the same thread (the Chrome trace's "X" events with ts/dur in microseconds). Prints operator, calls,
self ms, share of the total self time, and inclusive ms. Only the Python standard library is used.
"""
import argparse
import collections
import json
import sys


def load_events(path):
    with open(path) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    return [e for e in events if e.get("ph") == "X" and "dur" in e]


def self_times(events):
    """name -> [calls, self_us, inclusive_us], nesting resolved per thread by interval containment."""
    stats = collections.defaultdict(lambda: [0, 0.0, 0.0])
    by_thread = collections.defaultdict(list)
    for e in events:
        by_thread[(e.get("pid"), e.get("tid"))].append(e)
    for evs in by_thread.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, name, child_us]
        def close(item):
            end, name, child, dur = item
            stats[name][1] += dur - child
        for e in evs:
            ts, dur = float(e["ts"]), float(e["dur"])
            while stack and stack[-1][0] <= ts:
                close(stack.pop())
            if stack:
                stack[-1][2] += dur
            stats[e["name"]][0] += 1
            stats[e["name"]][2] += dur
            stack.append([ts + dur, e["name"], 0.0, dur])
        while stack:
            close(stack.pop())
    return stats


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args(argv[1:])
    stats = self_times(load_events(a.trace))
    total = sum(s[1] for s in stats.values()) or 1.0
    print(f"{'operator':40s} {'calls':>7s} {'self ms':>9s} {'share':>6s} {'incl ms':>9s}")
    for name, (calls, self_us, incl_us) in sorted(stats.items(), key=lambda kv: -kv[1][1])[: a.top]:
        print(f"{name[:40]:40s} {calls:7d} {self_us / 1e3:9.1f} {100 * self_us / total:5.1f}% {incl_us / 1e3:9.1f}")
    print(f"total self time {total / 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
