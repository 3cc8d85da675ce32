#!/usr/bin/env bash
# Snapshot stalls and restart time (issue 11, item 5). Needs a release `kamino`.
#
#  latency: fills a data dir with 4 M transfers (10,000 accounts, batches of 8189,
#     default settings), then per configuration copies it, starts `kamino serve` on the
#     copy with the configuration's flags and drives 10-transfer creates for 40 s
#     (`kamino bench --address ... --batch-size 10 --connections 4 --in-flight 16`);
#     prints each run's latency line and how many snapshots the server wrote.
#  restart: times `kamino serve` from spawn to its `listening on` line on DIR (a dir
#     filled with `kamino bench --data DIR --transfers 10000000 ...`), ROUNDS times.
#
# Usage: Benchmarks/snapshot-stalls.sh latency KAMINO "LABEL:FLAGS" ["LABEL:FLAGS" ...]
#        Benchmarks/snapshot-stalls.sh restart KAMINO DIR [ROUNDS]
# Env:   FILL=/tmp/lat4m (the 4 M-transfer dir; made when missing), SECONDS_PER_RUN=40
set -euo pipefail
mode=$1; K=$2; shift 2

start_server() {  # DATA LOG FLAGS... ; sets pid, port
    local data=$1 log=$2; shift 2
    "$K" serve --data "$data" --listen 127.0.0.1:0 --metrics off "$@" >"$log" 2>&1 &
    pid=$!
    while ! grep -q "listening on" "$log"; do
        kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
        sleep 0.01
    done
    port=$(grep -o "listening on 127.0.0.1:[0-9]*" "$log" | cut -d: -f2)
}

case $mode in
latency)
    FILL=${FILL:-/tmp/lat4m}
    if [ ! -d "$FILL" ]; then
        "$K" bench --mix transfers --scenario load --accounts 10000 --transfers 4000000 --batch-size 8189 \
            --seed 5 --data "$FILL" --quiet
    fi
    seed=10
    for config in "$@"; do
        label=${config%%:*}; flags=${config#*:}
        seed=$((seed + 1))
        run=$(mktemp -d); rm -rf "$run"; cp -a "$FILL" "$run"; rm -f "$run/kamino.lock"
        # shellcheck disable=SC2086
        start_server "$run" "$run.server.log" $flags
        line=$("$K" bench --address 127.0.0.1:$port --server-pid $pid --mix transfers --scenario load \
            --batch-size 10 --accounts 10000 --duration "${SECONDS_PER_RUN:-40}" --connections 4 --in-flight 16 \
            --seed $seed --quiet | grep '^create_transfers')
        kill -TERM $pid; wait $pid || true
        echo "$label: snapshots $(grep -c 'snapshot written' "$run.server.log" || true) | $line"
        rm -rf "$run" "$run.server.log"
    done
    ;;
restart)
    dir=$1; rounds=${2:-3}
    for _ in $(seq "$rounds"); do
        log=$(mktemp)
        began=$(date +%s.%N)
        start_server "$dir" "$log"
        ended=$(date +%s.%N)
        kill -TERM $pid; wait $pid || true
        echo "$(echo "$ended - $began" | bc) s to listening; $(grep -o 'records=[0-9]* .*seconds=[0-9.]*' "$log" | head -1)"
        rm -f "$log"
    done
    ;;
esac
