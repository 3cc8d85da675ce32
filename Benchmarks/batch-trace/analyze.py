#!/usr/bin/env python3
import struct, sys, collections
# Usage: analyze.py TRACE_FILE  (prints each step's percentiles, the slowest batches, the provisioner's pieces)
recs = []
data = open(sys.argv[1], 'rb').read()
for i in range(0, len(data) - 31, 32):
    recs.append(struct.unpack_from('<QQQQ', data, i))
recs.sort()
t0 = recs[0][0]
batches = collections.OrderedDict()
cur = {}
writes = {}  # lsn -> (start, end, bytes)
wstart = {}
prov = []
pstart = None
other = []
order = []
for t, k, a, b in recs:
    if k in (70, 71, 72, 10):
        cur[k] = t
    elif k == 11:
        bt = dict(cur); bt[11] = t; bt['lsn'] = a; bt['bytes'] = b
        batches[a] = bt; cur = {}; last = a
    elif k == 15:
        bt = batches.get(a)
        if bt is not None: bt['rdelay'] = b
    elif k in (12, 13, 14):
        bt = batches.get(a)
        if bt is None: continue
        if k == 12: bt[12] = t; bt['minflt'] = b
        elif k == 13: bt['cpu'] = b
        else: bt[14] = t; bt['snap'] = b
    elif k == 20:
        wstart = (t, a, b)
    elif k == 21:
        if wstart:
            for l in range(wstart[1], a + 1):
                if l in batches: batches[l][20] = wstart[0]; batches[l][21] = t; batches[l]['wbytes'] = wstart[2]
    elif k in (30, 31):
        bt = batches.get(a)
        if bt is not None: bt[k] = t
    elif k in (40, 41):
        prov.append((t, k, a, b))
    else:
        other.append((t, k, a, b))
def ms(x): return x / 1e6
rows = []
for l, bt in batches.items():
    if not all(k in bt for k in (70, 71, 72, 10, 11, 12, 14, 20, 21, 30)): continue
    rows.append(bt)
print("batches", len(rows))
def d(bt, a, b): return ms(bt[b] - bt[a])
cols = [("recv(64K->full)", 70, 71), ("verify+decode", 71, 72), ("to enqueue", 72, 10), ("lock+append", 10, 11), ("apply", 11, 12), ("after apply", 12, 14), ("wait writer", 14, 20), ("write+fsync", 20, 21), ("to deliver", 21, 30), ("server total", 70, 30)]
import statistics
def pct(v, p): v = sorted(v); return v[min(len(v)-1, int(len(v)*p))]
for name, a, b in cols:
    v = [d(bt, a, b) for bt in rows]
    print("%-18s p50 %7.2f p90 %7.2f p99 %7.2f max %7.2f mean %6.2f" % (name, pct(v,.5), pct(v,.9), pct(v,.99), max(v), sum(v)/len(v)))
# gaps: deliver of n -> 70 of n+1
gaps = []
for i in range(1, len(rows)):
    if rows[i]['lsn'] == rows[i-1]['lsn'] + 1: gaps.append(ms(rows[i][70] - rows[i-1][30]))
print("%-18s p50 %7.2f p90 %7.2f p99 %7.2f max %7.2f mean %6.2f" % ("client+net gap", pct(gaps,.5), pct(gaps,.9), pct(gaps,.99), max(gaps), sum(gaps)/len(gaps)))
cpu = [bt.get('cpu',0)/1e6 for bt in rows]
print("apply cpu p50 %.2f p99 %.2f max %.2f" % (pct(cpu,.5), pct(cpu,.99), max(cpu)))
# slow batches
tot = sorted(rows, key=lambda bt: bt[30]-bt[70])
thr = pct([d(bt,70,30) for bt in rows], .98)
print("slowest (server total >= p98 %.2f):" % thr)
roll = [t for t,k,a,b in other if k == 25]
for bt in rows:
    tt = d(bt, 70, 30)
    if tt < thr: continue
    parts = " ".join("%s=%.1f" % (n.split('(')[0][:8], d(bt, a, b)) for n, a, b in cols[:-1])
    # overlapping events
    ev = [ (k, ms(t - bt[70])) for t, k, a, b in other if bt[70] - 5e6 <= t <= bt[30]]
    pr = sum(1 for t,k,a,b in prov if k == 41 and bt[70] <= t <= bt[30])
    print("lsn %d t=%.2fs total %.1f %s cpu=%.1f flt=%d wbytes=%d snap=%d prov=%d ev=%s" % (bt['lsn'], (bt[70]-t0)/1e9, tt, parts, bt.get('cpu',0)/1e6, bt.get('minflt',0), bt.get('wbytes',0), bt.get('snap',0), pr, ev[:8]))
# other events summary
c = collections.Counter(k for t,k,a,b in other)
print(c)
for t,k,a,b in other:
    if k in (60,61,62,63,64,65): print("ev", k, "t=%.2f" % ((t-t0)/1e9), a, b)
# provisioner pieces
ps = {}
durs = {0: [], 1: [], 2: []}
st = None
pieces = []
for t,k,a,b in prov:
    if k == 40: st = (t, b)
    elif k == 41 and st: durs[b].append(ms(t - st[0])); pieces.append((st[0], t, b)); st = None
for u in (0, 1, 2):
    v = durs[u]
    if v: print("prov urgent=%d n=%d p50 %.2f p90 %.2f p99 %.2f max %.2f" % (u, len(v), pct(v,.5), pct(v,.9), pct(v,.99), max(v)))
# overlap: slow applies vs pieces
slow = [bt for bt in rows if d(bt,11,12) > 10]
ov = 0
for bt in slow:
    lst = [(ms(s-bt[11]), ms(e-s), u) for s,e,u in pieces if s < bt[12] and e > bt[11]]
    longp = [x for x in lst if x[1] > 5]
    if longp: ov += 1
print("slow applies", len(slow), "with a piece >5ms overlapping", ov)
for bt in slow[:10]:
    print(bt['lsn'], "apply %.1f" % d(bt,11,12), [(round(ms(s-bt[11]),1), round(ms(e-s),1), u) for s,e,u in pieces if s < bt[12] and e > bt[11]])
strides = collections.Counter(a for t,k,a,b in other if k == 50)
print("chunk strides", strides)

# classify applies > 8 ms: cpu, runqueue wait, blocked
print("apply > 8 ms: wall cpu runq blocked flt")
tot = {'n':0,'wall':0,'cpu':0,'runq':0,'blk':0}
for bt in rows:
    w = d(bt,11,12)
    if w <= 8: continue
    c = bt.get('cpu',0)/1e6; r = bt.get('rdelay',0)/1e6
    tot['n']+=1; tot['wall']+=w; tot['cpu']+=c; tot['runq']+=r; tot['blk']+=w-c-r
print({k: round(v,1) for k,v in tot.items()})
for bt in rows:
    w = d(bt,11,12)
    if w > 15:
        c = bt.get('cpu',0)/1e6; r = bt.get('rdelay',0)/1e6
        print("  lsn %d t=%.2f wall %.1f cpu %.1f runq %.1f blocked %.1f flt %d" % (bt['lsn'], (bt[11]-t0)/1e9, w, c, r, w-c-r, bt.get('minflt',0)))
