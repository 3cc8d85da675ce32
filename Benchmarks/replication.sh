#!/usr/bin/env bash
# Replication cost (issue 12): `kamino bench --scenario load --batch-size 8189` with 0, 1
# and 2 followers in async and sync mode (0 followers = no replication), the five
# configurations alternating round-robin, ROUNDS rounds. Each run starts its own primary
# and followers (temporary dirs, ephemeral ports on 127.0.0.1), checks the money and that
# every follower's digest equals the primary's, and writes its JSON. Prints each run, then
# per configuration the median throughput and median create_transfers p99, and the ratio
# of "1 sync follower" to "0 followers" (target >= 0.7).
#
# Usage: Benchmarks/replication.sh
# Env:   ROUNDS=3 DURATION=20         rounds, and seconds of load per run
#        KAMINO=.build/release/kamino the binary (build: swift build -c release --product kamino)
#        BENCH_ARGS=""                extra `kamino bench` args (e.g. "--accounts 100000")
#        OUT=dir                      where the JSON and logs go (default /tmp/kamino-replication-DATE)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
KAMINO=${KAMINO:-$REPO/.build/release/kamino}
BENCH_ARGS=${BENCH_ARGS:-}
OUT=${OUT:-/tmp/kamino-replication-$(date +%Y%m%d-%H%M%S)}
[[ -x $KAMINO ]] || { echo "no kamino binary at $KAMINO (swift build -c release --product kamino, or set KAMINO)" >&2; exit 1; }
mkdir -p "$OUT"
# The bench stops the servers it starts itself; on Ctrl-C stop the bench that is running.
BENCH=""
trap '[[ -n $BENCH ]] && kill -TERM "$BENCH" 2>/dev/null; wait 2>/dev/null || true' EXIT

CONFIGS=("0 none" "1 async" "2 async" "1 sync" "2 sync")
echo "== machine: nproc=$(nproc), memory $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== kamino bench --scenario load --duration $DURATION --batch-size 8189 $BENCH_ARGS; $ROUNDS rounds; output in $OUT"
printf '%-6s %-18s %14s %10s %10s  %s\n' round configuration "transfers/s" "p50 ms" "p99 ms" followers
for round in $(seq 1 "$ROUNDS"); do
    for config in "${CONFIGS[@]}"; do
        read -r followers mode <<<"$config"
        name=$followers-$mode
        args=()
        [[ $mode != none ]] && args=(--followers "$followers" --replication "$mode")
        json=$OUT/$name-$round.json
        # BENCH_ARGS is split into words on purpose.
        # shellcheck disable=SC2086
        "$KAMINO" bench --scenario load --duration "$DURATION" --batch-size 8189 "${args[@]}" \
            --json "$json" --quiet $BENCH_ARGS >"$OUT/$name-$round.txt" 2>&1 &
        BENCH=$!
        if ! wait "$BENCH"; then
            BENCH=""
            echo "kamino bench failed ($name, round $round):" >&2
            tail -20 "$OUT/$name-$round.txt" >&2
            exit 1
        fi
        BENCH=""
        python3 - "$json" "$round" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ct = r["operations"]["create_transfers"]["latency_us"]
assert r["invariants_ok"], "money invariants failed"
rep = r.get("replicas")
assert rep is None or rep["digests_equal"], "follower digests differ"
check = "-" if rep is None else f'{rep["followers"]}, digests equal'
print(f'{sys.argv[2]:<6} {sys.argv[3]:<18} {r["transfers_per_second"]:14.0f} {ct["p50"]/1000:10.1f} {ct["p99"]/1000:10.1f}  {check}')
PY
    done
done

echo
echo "== medians over $ROUNDS rounds"
python3 - "$OUT" "${CONFIGS[@]}" <<'PY'
import glob, json, statistics, sys
out, configs = sys.argv[1], sys.argv[2:]
medians = {}
print(f'{"configuration":<18} {"runs":>5} {"transfers/s":>14} {"p99 ms":>10}')
for c in configs:
    name = c.replace(" ", "-")
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{name}-*.json"))]
    if not runs: continue
    tps = statistics.median(r["transfers_per_second"] for r in runs)
    p99 = statistics.median(r["operations"]["create_transfers"]["latency_us"]["p99"] / 1000 for r in runs)
    medians[name] = (tps, p99)
    label = "0 followers" if name == "0-none" else name.replace("-", " ") + (" follower" if name[0] == "1" else " followers")
    print(f'{label:<18} {len(runs):>5} {tps:14.0f} {p99:10.1f}')
if "0-none" in medians and "1-sync" in medians and medians["0-none"][0] > 0:
    ratio = medians["1-sync"][0] / medians["0-none"][0]
    print(f'\n1 sync follower / 0 followers (median throughput): {ratio:.2f}x (target >= 0.70x)')
PY
