#!/usr/bin/env bash
# The cost of authentication (issue 16), in one run: `kamino serve` with authentication
# off and with `--auth jwt` (HS256, audience checked; every client connection presents a
# token), alternating, ROUNDS rounds of two shapes each:
#   - batches of 8189 transfers, one connection (2,000,000 transfers);
#   - 256 connections x 1 transfer per request, 256 in flight (10 s load).
# Each run gets a fresh server and data directory. Prints one line per run and the
# medians; the figures for docs/benchmarks.md.
#
# Usage: Benchmarks/auth-cost.sh [KAMINO_BINARY] [ROUNDS]   (default .build/release/kamino, 3)
set -euo pipefail
KAMINO=${1:-.build/release/kamino}
ROUNDS=${2:-3}
WORK=$(mktemp -d /tmp/kamino-auth-cost-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

openssl rand -hex 32 > "$WORK/secret"
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
claims=$(printf '{"sub":"bench","aud":"kamino","exp":%d,"kamino_rights":["read","write"]}' $(( $(date +%s) + 86400 )) | b64url)
sig=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -mac HMAC -macopt key:"$(cat "$WORK/secret")" -binary | b64url)
echo "$header.$claims.$sig" > "$WORK/token"

# run MODE SHAPE ROUND: one server, one bench, one JSON file.
run() {
    local mode=$1 shape=$2 round=$3
    local dir="$WORK/$mode-$shape-$round"
    local auth=() token=()
    if [ "$mode" = jwt ]; then
        auth=(--auth jwt --auth-hs256-secret-file "$WORK/secret" --auth-audience kamino)
        token=(--token-file "$WORK/token")
    fi
    "$KAMINO" serve --data "$dir/data" --listen 127.0.0.1:0 --metrics off "${auth[@]}" > "$dir.out" 2> "$dir.err" &
    local pid=$!
    for _ in $(seq 1 200); do grep -q '^listening on' "$dir.out" 2>/dev/null && break; sleep 0.05; done
    local address
    address=$(sed -n 's/^listening on //p' "$dir.out")
    if [ "$shape" = batch ]; then
        "$KAMINO" bench --address "$address" --server-pid "$pid" --mix transfers --scenario load --accounts 10000 \
            --transfers 2000000 --batch-size 8189 --seed 5 --quiet --json "$dir.json" "${token[@]}" > "$dir.bench" 2>&1 || true
    else
        "$KAMINO" bench --address "$address" --server-pid "$pid" --mix transfers --scenario load --duration 10 \
            --batch-size 1 --connections 256 --in-flight 256 --seed 5 --quiet --json "$dir.json" "${token[@]}" > "$dir.bench" 2>&1 || true
    fi
    kill "$pid"
    wait "$pid" || true
    python3 - "$dir.json" "$mode" "$shape" "$round" <<'PY'
import json, sys
path, mode, shape, rnd = sys.argv[1:]
r = json.load(open(path))
op = r["operations"].get("create_transfers", {})
cpu = r.get("cpu") or {}
print(f"RESULT {shape} {mode} round={rnd} transfers_per_s={r['transfers_per_second']:.0f} "
      f"p50_us={op.get('latency_us', {}).get('p50')} p99_us={op.get('latency_us', {}).get('p99')} "
      f"server_us_per_request={cpu.get('server_us_per_request')} errors={r['unexpected_errors']} invariants_ok={r['invariants_ok']}")
PY
}

echo "machine: nproc $(nproc), $(free -g | awk '/Mem:/ {print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo -)"
for round in $(seq 1 "$ROUNDS"); do
    for shape in batch small; do
        mkdir -p "$WORK"
        if [ $((round % 2)) = 1 ]; then order="off jwt"; else order="jwt off"; fi
        for mode in $order; do run "$mode" "$shape" "$round"; done
    done
done | tee "$WORK/results.txt"
python3 - "$WORK/results.txt" <<'PY'
import re, statistics, sys
rows = [dict(kv.split("=") for kv in line.split()[3:]) | {"shape": line.split()[1], "mode": line.split()[2]}
        for line in open(sys.argv[1]) if line.startswith("RESULT")]
for shape in ("batch", "small"):
    med = {}
    for mode in ("off", "jwt"):
        sel = [r for r in rows if r["shape"] == shape and r["mode"] == mode]
        tps = statistics.median(float(r["transfers_per_s"]) for r in sel)
        p99 = statistics.median(float(r["p99_us"]) for r in sel)
        cpu = [float(r["server_us_per_request"]) for r in sel if r["server_us_per_request"] != "None"]
        med[mode] = tps
        print(f"MEDIAN {shape} auth={mode}: {tps:,.0f} transfers/s, p99 {p99/1000:.1f} ms, "
              f"server CPU {statistics.median(cpu) if cpu else float('nan'):.1f} us/request ({len(sel)} runs)")
    print(f"RATIO {shape} jwt/off throughput: {med['jwt'] / med['off']:.3f}")
PY
