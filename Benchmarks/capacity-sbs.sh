#!/usr/bin/env bash
# Session 13 (branch capacity): start-up capacity (`expected_transfers`), base vs new.
#  1. Batches of 8189, the bench's own server, alternating A B B A (ROUNDS rounds, each build
#     once per round): `kamino bench --mix transfers --scenario load --accounts 10000
#     --transfers T --batch-size 8189`. Each run uses its own binary, which starts its own
#     server: new's bench passes --expected-transfers T to it, base's passes nothing.
#     Prints rate, p50, p99, client and server CPU µs per transfer, and the server's page
#     faults (minflt: a 2 MiB huge page counts one) and resident MiB from its first sample
#     after `listening on` to its last (every 0.1 s until it exits: the last fraction of a
#     second, its shutdown, is missed), and new's start-up reservation (MiB, seconds).
#  2. The server's start time, spawn to `listening on`, empty data directory, with and
#     without --expected-transfers T (STARTS times each), and new's with it under
#     `taskset -c 0` (one usable CPU: the fault-in on one thread).
# Run under `flock /work/bench.lock`. BASE and NEW name the two kamino binaries.
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/capacity-sbs}; rm -rf "$out"; mkdir -p "$out"
BASE=${BASE:-/tmp/kamino-capacity-base}; NEW=${NEW:-/tmp/kamino-capacity-new}
rounds=${ROUNDS:-3}; T=${TRANSFERS:-10000000}; starts=${STARTS:-3}

minflt() { awk '{ sub(/.*\) /, ""); print $8 }' "/proc/$1/stat" 2>/dev/null; }
rss_mib() { awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null; }

run_bench() { # $1 = tag, $2 = binary; prints the figures, and the server's faults and RSS growth during the run
    local tag=$1 k=$2 first="" last="" server="" log="" rss0="" rss1=""
    "$k" bench --mix transfers --scenario load --accounts 10000 --transfers "$T" --batch-size 8189 \
        --json "$out/$tag.json" --quiet > "$out/$tag.txt" 2>&1 &
    local bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        [ -z "$server" ] && server=$(pgrep -P "$bench" | head -1)
        [ -n "$server" ] && [ -z "$log" ] && log=$(readlink "/proc/$server/fd/1" 2>/dev/null)
        # From the server's `listening on` (its start-up reservation is not counted) to its last sample.
        if [ -n "$log" ] && grep -q '^listening on' "$log" 2>/dev/null; then
            f=$(minflt "$server"); m=$(rss_mib "$server")
            if [ -n "$f" ] && [ -n "$m" ]; then
                [ -z "$first" ] && { first=$f; rss0=$m; grep 'reserved capacity' "$log" > "$out/$tag.reservation"; }
                last=$f; rss1=$m
            fi
        fi
        sleep 0.1
    done
    wait "$bench" || { echo "bench failed ($tag)" >&2; tail -5 "$out/$tag.txt" >&2; }
    echo "$(python3 Benchmarks/bench-figures.py transfers "$out/$tag.json" transfer)" \
        "faults $(( ${last:-0} - ${first:-0} )) rss_mib ${rss0:-?}->${rss1:-?}" \
        "$(grep -o 'mib=[0-9]* seconds=[0-9.]*' "$out/$tag.reservation" 2>/dev/null || echo 'no reservation')"
}

startup_ms() { # $1 = binary, $2 = expected transfers (0: none), more: a launcher (taskset); prints ms spawn to `listening on`, and the log line
    local k=$1 e=$2; shift 2
    local d; d=$(mktemp -d /tmp/capacity-start-XXXXXX)
    local t0; t0=$(date +%s%N)
    "$@" "$k" serve --data "$d/data" --listen 127.0.0.1:0 --metrics off --expected-transfers "$e" > "$d/out" 2>&1 &
    local pid=$!
    while ! grep -qs '^listening on' "$d/out"; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.005
    done
    local t1; t1=$(date +%s%N)
    kill -TERM "$pid"; wait "$pid"
    echo "$(( (t1 - t0) / 1000000 )) ms; $(grep -o 'bytes=.*reserved capacity' "$d/out" || echo 'no reservation')"
    rm -rf "$d"
}

echo "# $(nproc) CPUs, $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# base $("$BASE" --version), new $("$NEW" --version)"
echo "# round build: transfers/s p50_ms p99_ms client_us/transfer server_us/transfer, faults and RSS during the run"
for r in $(seq 1 "$rounds"); do
    if (( r % 2 )); then order="base new"; else order="new base"; fi
    for who in $order; do
        if [ "$who" = base ]; then k=$BASE; else k=$NEW; fi
        echo "$r $who: $(run_bench "$who-$r" "$k") load $(cut -d' ' -f1 /proc/loadavg)"
        sleep 5
    done
done
echo "# start time, spawn to \`listening on\` (empty data directory)"
for i in $(seq 1 "$starts"); do
    for who in base new; do
        if [ "$who" = base ]; then k=$BASE; else k=$NEW; fi
        for e in 0 "$T"; do echo "$i $who expected_transfers=$e: $(startup_ms "$k" "$e")"; done
    done
    # One usable CPU: the fault-in runs on one thread.
    echo "$i new expected_transfers=$T, taskset -c 0: $(startup_ms "$NEW" "$T" taskset -c 0)"
done
