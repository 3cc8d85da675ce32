#!/usr/bin/env python3
# Usage: attribute.py TRACE_FILE  (batches with server time over 10 ms, by their largest part)
import sys
exec(open(__import__('os').path.join(__import__('os').path.dirname(__file__), 'analyze.py')).read().split("# slow batches")[0].replace('print(', 'pass; (lambda *a, **k: None)('))
import collections
cnt = collections.Counter()
rolls = []
st = None
for t,k,a,b in other:
    if k == 25: st = t
    elif k == 26 and st: rolls.append((st, t)); st = None
n = 0
for bt in rows:
    tot = d(bt, 70, 30)
    if tot <= 10: continue
    n += 1
    w = d(bt, 11, 12); c = bt.get('cpu', 0) / 1e6; r = bt.get('rdelay', 0) / 1e6
    parts = {}
    parts['apply: blocked (no CPU, not runnable)'] = max(0, w - c - r) if 'rdelay' in bt else 0
    parts['apply: waiting for a CPU'] = r
    parts['apply: CPU'] = c
    inroll = any(s <= bt[21] and e >= bt[11] for s, e in rolls)
    wt = max(0, d(bt, 14, 20)) + d(bt, 20, 21) - max(0, d(bt, 11, 20)) * 0
    parts['log: segment roll' if inroll else 'log: write+fdatasync beyond the apply'] = max(0, d(bt, 12, 21))
    parts['receive'] = d(bt, 70, 71)
    cnt[max(parts, key=parts.get)] += 1
print(sys.argv[1], "batches", len(rows), "server time > 10 ms:", n)
for k, v in cnt.most_common(): print("  %-45s %d" % (k, v))
