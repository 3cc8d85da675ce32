#!/usr/bin/env bash
# Before/after comparison of two builds of Kamino, alternating run by run (the machines
# are shared and noisy: medians of alternating runs, never two series one after the
# other). Each tree must have release builds of kamino, kamino-ledgerstress and
# Benchmarks' core-footprint:
#   swift build -c release && (cd Benchmarks && swift build -c release --product core-footprint)
# Usage: Benchmarks/compare-builds.sh BEFORE_TREE AFTER_TREE [ROUNDS] > results.txt
# Prints one line per run: `<what> <build> <figure>` and the raw tool lines, then medians.
set -euo pipefail
before=$1
after=$2
rounds=${3:-5}
transfers=${TRANSFERS:-10000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "# $(date -u +%FT%TZ) nproc=$(nproc) mem=$(free -g | awk '/Mem:/ {print $2}')GiB rounds=$rounds"
echo "# before=$(git -C "$before" rev-parse --short HEAD) after=$(git -C "$after" rev-parse --short HEAD)"

run_core() {  # tree label mode...
    local out
    out=$("$1/Benchmarks/.build/release/core-footprint" "$transfers" 10000 "${@:3}" 2>&1)
    echo "core ${*:3} $2 $(grep -o '[0-9.]* M/s by thread CPU time' <<<"$out" | awk '{print $1}') $(grep -o 'digest: [0-9a-f]*' <<<"$out")"
}
run_shards() {  # tree label cross
    local out
    out=$("$1/.build/release/kamino-ledgerstress" bench-shards - --transfers 2000000 --runs 1 --layout 2 --cross "$3" 2>&1)
    local line one two
    line=$(grep -E '^layout 2 shards' <<<"$out" | head -1)
    one=$(grep -oE '\| 1 shard [0-9.]+' <<<"$line" | awk '{print $4}')
    two=$(grep -oE '\| 2 shards [0-9.]+' <<<"$line" | awk '{print $4}')
    echo "shards cross=$3 $2 1shard=$one 2shards=$two"
}
run_bench() {  # tree label
    local json="$tmp/b.json"
    rm -f "$json"
    "$1/.build/release/kamino" bench --mix transfers --scenario load --accounts 10000 \
        --transfers "$((transfers / 5))" --batch-size 8189 --seed 5 --json "$json" >/dev/null 2>&1 || true
    python3 - "$json" "$2" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    op = d["operations"]["create_transfers"]
    print(f"bench8189 {sys.argv[2]} tps={d['transfers_per_second']:.0f} p50_ms={op['latency_us']['p50']/1000:.1f} "
          f"p99_ms={op['latency_us']['p99']/1000:.1f} invariants_ok={d['invariants_ok']}")
except Exception as e:
    print(f"bench8189 {sys.argv[2]} failed: {e}")
PY
}

for r in $(seq 1 "$rounds"); do
    for pair in "before $before" "after $after"; do
        set -- $pair
        run_core "$2" "$1"
        run_core "$2" "$1" two-phase
    done
    for pair in "after $after" "before $before"; do
        set -- $pair
        run_shards "$2" "$1" 0
        run_shards "$2" "$1" 50
        run_bench "$2" "$1"
    done
done

echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
