#!/usr/bin/env bash
# The cost of TLS (docs/benchmarks.md, "Cost of TLS"): kamino bench against a release
# server with and without TLS, alternating, for batches of 8189 (1 connection) and
# 256 connections x 1 transfer. Certificates are made with the openssl command line.
# Odd rounds run plaintext first, even rounds TLS first (no order bias); the end prints
# each round's TLS / plaintext ratio per shape and their median.
# Usage: KAMINO=.build/release/kamino ROUNDS=2 DURATION=20 Benchmarks/tls-cost.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
K=$(realpath "${KAMINO:-.build/release/kamino}")  # absolute: the runs cd into a temporary dir
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-20}
work=$(mktemp -d /tmp/kamino-tls-cost-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$here/bench-certificates.sh"

run() { # round shape tls bench-args...
    local round=$1 shape=$2 tls=$3; shift 3
    # Removed here, not truncated by the server's redirection: that happens in the
    # background child, so the wait below could still read the last run's "listening on".
    rm -rf data server.log
    local sflags=() cflags=()
    if [ "$tls" = yes ]; then sflags=(--tls-cert server.pem --tls-key server.key); cflags=(--tls-ca ca.pem); fi
    "$K" serve --data data --listen 127.0.0.1:4510 --metrics off "${sflags[@]}" > server.log 2>&1 &
    local pid=$!
    for _ in $(seq 100); do grep -q "listening on" server.log 2>/dev/null && break; sleep 0.1; done
    "$K" bench --address 127.0.0.1:4510 --server-pid $pid "${cflags[@]}" --scenario load --mix transfers \
        --duration "$DURATION" "$@" > bench.txt 2>&1
    local rate p50 p99 cpu
    rate=$(grep 'transfers created' bench.txt | sed 's/.*, \(.*\) per second/\1/')
    p50=$(grep '^create_transfers' bench.txt | awk '{print $5 " " $6}')
    p99=$(grep '^create_transfers' bench.txt | awk '{print $11 " " $12}')
    cpu=$(grep -E "cpu per (request|transfer):" bench.txt | tail -1 | sed 's/cpu per //')
    echo "| $round | $shape | $tls | $rate | $p50 | $p99 | $cpu |"
    echo "$round|$shape|$tls|${rate//,/}" >> rates.txt
    kill $pid
    wait $pid 2>/dev/null
}

echo "| round | shape | TLS | transfers/s | p50 | p99 | CPU |"
echo "|---:|---|---|---:|---:|---:|---|"
pair() { # round shape bench-args...: both runs, in this round's order
    local round=$1 shape=$2; shift 2
    if [ $((round % 2)) = 1 ]; then
        run "$round" "$shape" no "$@"; run "$round" "$shape" yes "$@"
    else
        run "$round" "$shape" yes "$@"; run "$round" "$shape" no "$@"
    fi
}
: > rates.txt
for round in $(seq "$ROUNDS"); do
    pair "$round" 8189 --batch-size 8189
    pair "$round" "256 x 1" --batch-size 1 --connections 256 --in-flight 256
done
echo
python3 - rates.txt <<'PY'
import sys, statistics
rates = {}
for line in open(sys.argv[1]):
    rnd, shape, tls, rate = line.strip().split("|")
    if rate: rates[(rnd, shape, tls)] = float(rate)
print("| shape | TLS / plaintext per round | median |")
print("|---|---|---:|")
for shape in ("8189", "256 x 1"):
    ratios = [rates[(r, s, "yes")] / rates[(r, s, "no")] for (r, s, t) in sorted(rates)
              if s == shape and t == "no" and (r, s, "yes") in rates]
    if ratios:
        print(f"| {shape} | {', '.join(f'{x:.2f}x' for x in ratios)} | {statistics.median(ratios):.2f}x |")
PY
