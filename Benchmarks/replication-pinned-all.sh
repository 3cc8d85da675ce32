#!/bin/bash
# Issue 12's table with the followers on a core of their own (Benchmarks/replication-pinned.sh):
# 0 followers, 1 and 2 async, 1 and 2 sync, alternating round-robin for ROUNDS rounds; prints
# every run, then per configuration the median rate and p99 and the ratio to 0 followers.
# Usage: ROUNDS=3 DURATION=10 [KAMINO=path] Benchmarks/replication-pinned-all.sh
here=$(cd "$(dirname "$0")" && pwd)
ROUNDS=${ROUNDS:-3}
out=$(mktemp)
echo "== nproc=$(nproc), memory $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
for round in $(seq 1 "$ROUNDS"); do
  for config in "none 1" "async 1" "async 2" "sync 1" "sync 2"; do
    read -r mode n <<<"$config"
    text=$("$here/replication-pinned.sh" "$mode" "$n")
    rate=$(grep 'transfers created' <<<"$text" | sed 's/.*, \([0-9,]*\) per second.*/\1/' | tr -d ,)
    p99=$(grep '^create_transfers' <<<"$text" | awk '{print $11 $12}')  # e.g. 16.8ms
    label=$([ "$mode" = none ] && echo "0 followers" || echo "$n $mode")
    echo "$round|$label|$rate|$p99" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import statistics, sys
rows = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
def ms(text):
    for unit, scale in (("ms", 1.0), ("µs", 0.001), ("us", 0.001), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float("nan")
by = {}
for _, label, rate, p99 in rows:
    if rate: by.setdefault(label, []).append((float(rate), ms(p99)))
base = statistics.median(r for r, _ in by.get("0 followers", [(0, 0)]))
print(f'{"configuration":<14} {"runs":>4} {"transfers/s":>12} {"p99 ms":>8} {"vs 0":>6}')
for label in ["0 followers", "1 async", "2 async", "1 sync", "2 sync"]:
    runs = by.get(label, [])
    if not runs: continue
    rate = statistics.median(r for r, _ in runs); p99 = statistics.median(p for _, p in runs)
    print(f'{label:<14} {len(runs):>4} {rate:12.0f} {p99:8.1f} {rate / base if base else 0:6.2f}')
PY
rm -f "$out"
