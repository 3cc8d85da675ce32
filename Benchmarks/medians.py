#!/usr/bin/env python3
"""Medians of Benchmarks/compare-builds.sh output: `python3 Benchmarks/medians.py results.txt`."""
import re, statistics, sys
from collections import defaultdict
series = defaultdict(list)
for line in open(sys.argv[1]):
    if line.startswith("#"):
        print(line.rstrip()); continue
    parts = line.split()
    if not parts: continue
    if parts[0] == "core":
        # core [two-phase] <build> <M/s> digest: X
        mode = "two-phase" if parts[1] == "two-phase" else "single-phase"
        build = parts[2] if mode == "two-phase" else parts[1]
        value = parts[3] if mode == "two-phase" else parts[2]
        series[(f"core-footprint {mode} (M/s, thread CPU)", build)].append(float(value))
    elif parts[0] == "shards":
        cross, build = parts[1], parts[2]
        for kv in parts[3:]:
            k, v = kv.split("=")
            if v: series[(f"bench-shards {cross} {k} (M/s)", build)].append(float(v))
    elif parts[0] == "bench8189" and "failed" not in line:
        build = parts[1]
        for kv in parts[2:]:
            k, v = kv.split("=")
            if k != "invariants_ok": series[(f"kamino bench 8189 {k}", build)].append(float(v))
names = sorted({k for k, _ in series})
print(f"{'figure':55} {'before (median, n)':>22} {'after (median, n)':>22} {'after/before':>12}")
for n in names:
    b, a = series.get((n, "before"), []), series.get((n, "after"), [])
    mb = statistics.median(b) if b else float("nan")
    ma = statistics.median(a) if a else float("nan")
    print(f"{n:55} {mb:>14.3f} ({len(b)}) {ma:>14.3f} ({len(a)}) {ma/mb if b and a else float('nan'):>12.3f}")
