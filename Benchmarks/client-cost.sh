#!/usr/bin/env bash
# Two builds of kamino side by side on the small-request path (issue 13: the bench's client
# must not be the bottleneck): each run starts `kamino serve` with a new data directory and
# runs `kamino bench` against it with --server-pid, so that the report has the client's and
# the server's CPU per request. The builds alternate run by run, their order flipping every
# round (the machine is shared and noisy: medians of alternating runs, never two series one
# after the other). Each round runs the transfers mix with one transfer per request over 256
# connections; the bank mix runs BANK_ROUNDS rounds.
#
# Usage (defaults shown):
#   BASE=/tmp/kamino-base NEW=.build/release/kamino ROUNDS=3 BANK_ROUNDS=1 DURATION=15 \
#     Benchmarks/client-cost.sh
# Prints one Markdown row per run (transfers/s or bank actions/s, p50 and p99 in ms, client
# and server CPU µs per request or per action), then the medians per build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BASE=$(realpath "${BASE:-/tmp/kamino-base}")
NEW=$(realpath "${NEW:-.build/release/kamino}")
ROUNDS=${ROUNDS:-3}
BANK_ROUNDS=${BANK_ROUNDS:-1}
DURATION=${DURATION:-15}
work=$(mktemp -d /tmp/kamino-client-cost-XXXXXX)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

run() { # round build-label binary mix
    local round=$1 label=$2 K=$3 mix=$4
    local data port="" figures
    data=$(mktemp -d "$work/data-XXXXXX")
    "$K" serve --data "$data" --listen 127.0.0.1:0 --metrics off > "$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 200); do
        port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/server.log" | head -1 | sed 's/.*://' || true)
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$work/server.log" >&2; exit 1; }
    local shape=(--mix bank)
    [ "$mix" = transfers ] && shape=(--mix transfers --batch-size 1 --connections 256 --in-flight 256)
    rm -f "$work/run.json"
    "$K" bench --address "127.0.0.1:$port" --server-pid "$server" --scenario load "${shape[@]}" \
        --duration "$DURATION" --json "$work/run.json" --quiet > "$work/bench.txt" 2>&1 \
        || { tail -20 "$work/bench.txt" >&2; exit 1; }
    if [ "$mix" = transfers ]; then
        figures=$(python3 "$here/bench-figures.py" transfers "$work/run.json" request)
    else
        figures=$(python3 "$here/bench-figures.py" bank "$work/run.json")
    fi
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=""
    rm -rf "$data"
    echo "$round $label $mix $figures" >> "$work/runs.txt"
    read -r rate p50 p99 cus sus <<< "$figures"
    echo "| $round | $label | $mix | $rate | $p50 | $p99 | $cus | $sus |"
}

echo "# $(date -u +%FT%TZ) nproc=$(nproc) mem=$(free -g | awk '/Mem:/ {print $2}')GiB base=$BASE new=$NEW"
echo "| round | build | mix | per second | p50 ms | p99 ms | client µs | server µs |"
echo "|---:|---|---|---:|---:|---:|---:|---:|"
: > "$work/runs.txt"
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order=(base new); else order=(new base); fi
    for b in "${order[@]}"; do
        if [ "$b" = base ]; then run "$round" base "$BASE" transfers; else run "$round" new "$NEW" transfers; fi
    done
done
for round in $(seq "$BANK_ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order=(base new); else order=(new base); fi
    for b in "${order[@]}"; do
        if [ "$b" = base ]; then run "$round" base "$BASE" bank; else run "$round" new "$NEW" bank; fi
    done
done
echo
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    _, label, mix, *figs = line.split()
    rows.setdefault((mix, label), []).append(figs)
print("| mix | build | runs | per second | p50 ms | p99 ms | client µs | server µs |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for (mix, label), runs in sorted(rows.items()):
    med = []
    for col in zip(*runs):
        vals = [float(v) for v in col if v != "n/a"]
        med.append(f"{statistics.median(vals):g}" if vals else "n/a")
    print(f"| {mix} | {label} | {len(runs)} | " + " | ".join(med) + " |")
PY
