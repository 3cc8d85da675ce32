#!/usr/bin/env python3
"""The figures the comparison scripts print, from one run's output (one line, spaces).

  bench-figures.py transfers KAMINO_JSON request|transfer
      `kamino bench --mix transfers --json`: transfers/s, create_transfers p50 and p99 (ms),
      client and server CPU µs per request (or per transfer)
  bench-figures.py bank KAMINO_JSON
      `kamino bench --mix bank --json`: bank actions/s, the median action p50 and the worst
      action p99 (ms), client and server CPU µs per action
  bench-figures.py tigerbeetle LOG
      `tigerbeetle benchmark` output: transfers/s (`load accepted`), batch p50 and p99 (ms,
      whole milliseconds as TigerBeetle prints them)
  bench-figures.py tb-prepares REPLICA_LOG
      a TigerBeetle replica's log: transfers per prepare (its periodic state machine timings)
  bench-figures.py redis LOG
      `redis-transfer.sh` output: transfers/s (requests/s), p50 and p99 (ms) of its `always` row
A figure that is not known prints as n/a. Exits 1 when the run's money invariants failed."""
import json
import re
import statistics
import sys


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


def kamino(path):
    r = json.load(open(path))
    if not r["invariants_ok"]:
        sys.exit(f"{path}: money invariants FAILED")
    return r, r.get("cpu") or {}


mode, path = sys.argv[1], sys.argv[2]
if mode == "transfers":
    per = sys.argv[3]
    r, cpu = kamino(path)
    ct = r["operations"]["create_transfers"]["latency_us"]
    print(f'{r["transfers_per_second"]:.0f} {ct["p50"] / 1000:.2f} {ct["p99"] / 1000:.2f} '
          f'{fmt(cpu.get(f"client_us_per_{per}"), 2)} {fmt(cpu.get(f"server_us_per_{per}"), 2)}')
elif mode == "bank":
    r, cpu = kamino(path)
    actions = r["actions"]
    rate = sum(a["per_second"] for a in actions.values())
    p50 = statistics.median(a["latency_us"]["p50"] for a in actions.values())
    p99 = max(a["latency_us"]["p99"] for a in actions.values())
    print(f'{rate:.0f} {p50 / 1000:.2f} {p99 / 1000:.2f} '
          f'{fmt(cpu.get("client_us_per_action"), 2)} {fmt(cpu.get("server_us_per_action"), 2)}')
elif mode == "tigerbeetle":
    text = open(path).read()
    tps = re.search(r"^load accepted = (\d+) tx/s", text, re.M)
    p50 = re.search(r"^batch latency p50 += (\d+) ms", text, re.M)
    p99 = re.search(r"^batch latency p99 += (\d+) ms", text, re.M)
    if not tps:
        sys.exit(f"{path}: no `load accepted` line")
    print(tps.group(1), p50.group(1) if p50 else "n/a", p99.group(1) if p99 else "n/a")
elif mode == "tb-prepares":
    # The replica's periodic state machine timings: `create_transfers: ... count=<prepares>
    # count_batch=<transfers>`; prints transfers per prepare (n/a before the first report).
    prepares = transfers = 0
    for m in re.finditer(r"info\(state_machine\): create_transfers: .* count=(\d+) count_batch=(\d+)", open(path).read()):
        prepares += int(m.group(1))
        transfers += int(m.group(2))
    print(f"{transfers / prepares:.2f}" if prepares else "n/a")
elif mode == "redis":
    # config P requests transfers/s avg_ms p50_ms p99_ms max_ms committed flush/s
    rows = [l.split() for l in open(path) if l.startswith("always ")]
    if not rows or len(rows[-1]) < 7:
        sys.exit(f"{path}: no `always` row")
    row = rows[-1]
    if any("INVARIANT VIOLATED" in l for l in open(path)):
        sys.exit(f"{path}: money invariant violated")
    print(f"{float(row[3]):.0f} {row[5]} {row[6]}")
else:
    sys.exit(__doc__)
