#!/usr/bin/env python3
"""The first N train, M val and T test rows of a manifest, written next to it (so its relative video and
audio paths still resolve): subset_manifest.py manifest.csv N M T out_name.csv"""
import csv, os, pathlib, sys

src = pathlib.Path(sys.argv[1])
limits = {"train": int(sys.argv[2]), "val": int(sys.argv[3]), "test": int(sys.argv[4])}
dst = src.parent / sys.argv[5]
with src.open(newline="") as f:
    reader = csv.DictReader(f)
    fields, rows = reader.fieldnames, list(reader)
kept, count = [], {k: 0 for k in limits}
for r in rows:
    s = r["split"]
    if s in limits and count[s] < limits[s]:
        kept.append(r)
        count[s] += 1
tmp = dst.with_suffix(f".{os.getpid()}.tmp")  # per process: two table instances may write it at once
with tmp.open("w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(kept)
tmp.replace(dst)
print(f"{dst}: {count}")
