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
# Everything listens on 127.0.0.1 only and stops the processes it started. The shared parts
# (builds, idle wait, runs of each system) are in peers-lib.sh; compare-small.sh adds the
# one-transfer-per-request and bank-mix comparisons of issue 13.
set -euo pipefail
ROUNDS=${1:-${ROUNDS:-3}}
source "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"
PEERS_EXTRA=${PEERS_EXTRA:-1}
OUT=$PEERS_DIR/compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"

echo "== machine: $(peers_machine)"
echo "== workload: $ACCOUNTS accounts, $TRANSFERS transfers, batches of $BATCH, $ROUNDS rounds; output in $OUT"

# --- builds -----------------------------------------------------------------------
peers_build_kamino
peers_build_tigerbeetle
trap peers_cleanup EXIT

# --- rounds -------------------------------------------------------------------------
declare -a K_TPS TB_TPS
echo "(batch latency; TigerBeetle reports it in whole milliseconds)"
printf '\n%-6s %-12s %14s %10s %10s\n' round system transfers/s "p50 ms" "p99 ms"
for r in $(seq 1 "$ROUNDS"); do
    peers_quiet
    peers_guard_start "$OUT/guard-kamino-$r.txt" kamino
    read -r tps p50 p99 _ < <(peers_kamino_batch "$OUT" "$r")
    K_TPS+=("$tps")
    printf '%-6s %-12s %14s %10s %10s\n' "$r" kamino "$tps" "$p50" "$p99"
    peers_guard_stop "$OUT/guard-kamino-$r.txt"
    peers_quiet
    peers_guard_start "$OUT/guard-tb-$r.txt" tigerbeetle
    read -r tps p50 p99 < <(peers_tb_batch "$OUT" "$r" --transfer-count="$TRANSFERS" --transfer-batch-count="$BATCH")
    TB_TPS+=("$tps")
    printf '%-6s %-12s %14s %10s %10s\n' "$r" tigerbeetle "$tps" "$p50" "$p99"
    peers_guard_stop "$OUT/guard-tb-$r.txt"
done

KM=$(peers_median "${K_TPS[@]}")
TM=$(peers_median "${TB_TPS[@]}")
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
