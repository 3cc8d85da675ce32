#!/usr/bin/env bash
# Kamino vs TigerBeetle side by side (issue 5): `kamino bench --mix transfers` and
# TigerBeetle's own `tigerbeetle benchmark` with the same account count, transfer count
# and batch size, alternately, ROUNDS rounds; prints each run, each system's median and
# the ratio. Optionally (PEERS_EXTRA=1, the default) runs the Redis and PostgreSQL
# transfer baselines of ../shared/peers once after the rounds, for the same table.
#
# Usage: Benchmarks/compare.sh [ROUNDS]
# Env:   ACCOUNTS=10000 TRANSFERS=10000000 BATCH=8189    the shared workload
#        KAMINO_ARGS=""        extra `kamino bench` args (e.g. "--in-flight 8")
#        KAMINO=path           kamino binary (default: release build in .build-compare)
#        TB_MIRROR=dir         TigerBeetle git dir (default /work/.mirror/tigerbeetle+tigerbeetle/repo)
#        PEERS=dir             peer scripts (default ../shared/peers next to the repo)
#        PEERS_DIR=dir         peer data (default /tmp/kamino-peers)
#        PEERS_EXTRA=0|1       also run Redis (AOF always) and PostgreSQL (fsync on) once
#        QUIET_WAIT=seconds    wait at most this long for an idle machine before each run (default 60)
# Everything listens on 127.0.0.1 only and stops the processes it started.
set -euo pipefail
ROUNDS=${1:-${ROUNDS:-3}}
ACCOUNTS=${ACCOUNTS:-10000}
TRANSFERS=${TRANSFERS:-10000000}
BATCH=${BATCH:-8189}
KAMINO_ARGS=${KAMINO_ARGS:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
PEERS=${PEERS:-$(cd "$REPO/../shared/peers" 2>/dev/null && pwd || echo /work/shared/peers)}
TB_MIRROR=${TB_MIRROR:-/work/.mirror/tigerbeetle+tigerbeetle/repo}
export PEERS_DIR=${PEERS_DIR:-/tmp/kamino-peers}
export QUIET_WAIT=${QUIET_WAIT:-60}
PEERS_EXTRA=${PEERS_EXTRA:-1}
OUT=$PEERS_DIR/compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

echo "== machine: nproc=$(nproc), memory $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "== workload: $ACCOUNTS accounts, $TRANSFERS transfers, batches of $BATCH, $ROUNDS rounds; output in $OUT"

# --- builds -----------------------------------------------------------------------
if [[ -z ${KAMINO:-} ]]; then
    echo "== building kamino (release)"
    (cd "$REPO" && swift build -c release --scratch-path .build-compare --product kamino 2>&1 | tail -1)
    KAMINO=$REPO/.build-compare/release/kamino
fi
echo "== building TigerBeetle (if needed)"
"$PEERS/tigerbeetle.sh" "$TB_MIRROR" 0 2>&1 | grep -E '^==' || true
TB=$PEERS_DIR/tigerbeetle/tigerbeetle
[[ -x $TB ]] || { echo "TigerBeetle binary missing: $TB" >&2; exit 1; }
TB_DATA=$PEERS_DIR/tb-data
mkdir -p "$TB_DATA"
trap '[[ -n ${GUARD:-} ]] && kill -TERM "$GUARD" 2>/dev/null; rm -f "$TB_DATA/compare.tigerbeetle"' EXIT

quiet() { [[ -f $PEERS/cpu-guard.py ]] && python3 "$PEERS/cpu-guard.py" --wait-quiet "$QUIET_WAIT" || true; }
GUARD=""
guard_start() { # $1 = file, $2 = our process names: measures foreign CPU during a run
    GUARD=""
    [[ -f $PEERS/cpu-guard.py ]] || return 0
    python3 "$PEERS/cpu-guard.py" "$1" "$2" & GUARD=$!
}
guard_stop() { # prints the foreign-load line
    [[ -n $GUARD ]] || return 0
    kill -TERM "$GUARD"; wait "$GUARD" || true; GUARD=""
    sed 's/^/       /' "$1"
}

# --- rounds -------------------------------------------------------------------------
run_kamino() { # $1 = round; prints "tps p50_ms p99_ms"
    local json=$OUT/kamino-$1.json
    "$KAMINO" bench --mix transfers --scenario load --accounts "$ACCOUNTS" --transfers "$TRANSFERS" \
        --batch-size "$BATCH" --json "$json" --quiet $KAMINO_ARGS > "$OUT/kamino-$1.txt" 2>&1 \
        || { echo "kamino bench failed (round $1):" >&2; tail -20 "$OUT/kamino-$1.txt" >&2; return 1; }
    python3 - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ct = r["operations"]["create_transfers"]["latency_us"]
assert r["invariants_ok"], "invariants failed"
print(f'{r["transfers_per_second"]:.0f} {ct["p50"]/1000:.1f} {ct["p99"]/1000:.1f}')
PY
}

run_tb() { # $1 = round; prints "tps p50_ms p99_ms"
    local f=$TB_DATA/compare.tigerbeetle log=$OUT/tigerbeetle-$1.txt
    rm -f "$f"
    (cd "$TB_DATA" && "$TB" benchmark --file="$f" --account-count="$ACCOUNTS" --transfer-count="$TRANSFERS" \
        --transfer-batch-count="$BATCH" > "$log" 2>&1) \
        || { echo "tigerbeetle benchmark failed (round $1):" >&2; tail -20 "$log" >&2; return 1; }
    rm -f "$f"
    awk '/^load accepted/ {tps=$4} /^batch latency p50 / {p50=$(NF-1)} /^batch latency p99 / {p99=$(NF-1)}
         END {print tps, p50, p99}' "$log"
}

declare -a K_TPS TB_TPS
echo "(batch latency; TigerBeetle reports it in whole milliseconds)"
printf '\n%-6s %-12s %14s %10s %10s\n' round system transfers/s "p50 ms" "p99 ms"
for r in $(seq 1 "$ROUNDS"); do
    quiet
    guard_start "$OUT/guard-kamino-$r.txt" kamino
    read -r tps p50 p99 < <(run_kamino "$r")
    K_TPS+=("$tps")
    printf '%-6s %-12s %14s %10s %10s\n' "$r" kamino "$tps" "$p50" "$p99"
    guard_stop "$OUT/guard-kamino-$r.txt"
    quiet
    guard_start "$OUT/guard-tb-$r.txt" tigerbeetle
    read -r tps p50 p99 < <(run_tb "$r")
    TB_TPS+=("$tps")
    printf '%-6s %-12s %14s %10s %10s\n' "$r" tigerbeetle "$tps" "$p50" "$p99"
    guard_stop "$OUT/guard-tb-$r.txt"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
KM=$(median "${K_TPS[@]}")
TM=$(median "${TB_TPS[@]}")
echo
echo "median kamino      $KM transfers/s"
echo "median tigerbeetle $TM transfers/s"
awk -v k="$KM" -v t="$TM" 'BEGIN { printf "ratio kamino / tigerbeetle = %.2f\n", k / t }'

# --- other peers (once) -----------------------------------------------------------------
if [[ $PEERS_EXTRA == 1 ]]; then
    echo
    echo "== Redis (AOF always, Lua transfer, 50 clients; P=1 and P=16)"
    CONFIGS=always "$PEERS/redis-transfer.sh" 2>&1 | tee "$OUT/redis.txt" | grep -E '^(config|always)' || true
    echo
    echo "== PostgreSQL 15 (fsync on, synchronous_commit on, pgbench 16 clients, 30 s)"
    MODES=on "$PEERS/postgres-transfer.sh" 2>&1 | tee "$OUT/postgres.txt" | grep -E 'tps|p99' || true
fi
