#!/usr/bin/env bash
# Heap allocations per small request in the server: runs `kamino serve` with a counting
# allocator preloaded (Benchmarks/malloc-count), drives it with `kamino bench` (256
# connections, 1 transfer per request) for two request counts, and prints
# (allocations(N2) - allocations(N1)) / (N2 - N1), which removes start-up and set-up.
# Usage: KAMINO=.build/release/kamino Benchmarks/allocations-per-request.sh [N1] [N2]
set -euo pipefail
cd "$(dirname "$0")/.."
kamino=${KAMINO:-.build/release/kamino}
n1=${1:-20000}
n2=${2:-60000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -shared -fPIC -o "$tmp/malloc_count.so" Benchmarks/malloc-count/malloc_count.c -ldl
count() {  # requests -> server allocations
    local dir="$tmp/d$1" port
    rm -rf "$dir"
    MALLOC_COUNT_OUT="$tmp/count$1" LD_PRELOAD="$tmp/malloc_count.so" \
        "$kamino" serve --data "$dir" --listen 127.0.0.1:0 --metrics off >"$tmp/serve$1.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
        port=$(sed -nE 's/^listening on .*:([0-9]+)$/\1/p' "$tmp/serve$1.log" | head -1)
        [ -n "$port" ] && break
        sleep 0.1
    done
    "$kamino" bench --address "127.0.0.1:$port" --mix transfers --scenario load --transfers "$1" --duration 600 \
        --batch-size 1 --connections 256 --in-flight 256 --accounts 10000 --seed 7 >"$tmp/bench$1.log" 2>&1
    kill -INT "$pid"
    wait "$pid" || true
    cat "$tmp/count$1"
}
a=$(count "$n1")
b=$(count "$n2")
echo "server allocations: $a after $n1 requests, $b after $n2"
python3 -c "print(f'allocations per request (server): {($b - $a) / ($n2 - $n1):.2f}')"
