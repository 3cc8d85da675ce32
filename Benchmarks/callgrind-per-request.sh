#!/usr/bin/env bash
# Instructions per request (callgrind), server and client separately, for one load
# shape: both `kamino serve` and `kamino bench` run under callgrind with instrumentation off;
# after a warm-up both are switched on for a window, then off, and the server's
# kamino_requests_total before and after the window gives the request count. Instruction
# counts do not depend on the machine's load, unlike rates and CPU time.
#
# Usage (defaults shown):
#   KAMINO=.build/release/kamino TLS=no WARMUP=20 WINDOW=30 \
#     BENCH_ARGS="--batch-size 1 --connections 256 --in-flight 256" Benchmarks/callgrind-per-request.sh
# Prints instructions per request for server and client (and per action with `--mix bank`
# in BENCH_ARGS, which overrides the default mix), and leaves the callgrind files
# (for callgrind_annotate) in $OUT (default: a new /tmp/kamino-callgrind-XXXXXX).
#
# Valgrind needs two work-arounds on this Debian 12 machine: the binary's DWARF 5 debug
# info is stripped (symbols stay), and Benchmarks/valgrind/sigsuspend-copy.c is preloaded
# (valgrind 3.19 crashes on libdispatch's sigsuspend; see that file).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K=$(realpath "${KAMINO:-.build/release/kamino}")
TLS=${TLS:-no}
WARMUP=${WARMUP:-20}
WINDOW=${WINDOW:-30}
BENCH_ARGS=${BENCH_ARGS:---batch-size 1 --connections 256 --in-flight 256}
OUT=${OUT:-$(mktemp -d /tmp/kamino-callgrind-XXXXXX)}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
mkdir -p "$OUT" && cd "$OUT"
gcc -shared -fPIC -O2 "$here/valgrind/sigsuspend-copy.c" -o sigsuspend-copy.so
objcopy --strip-debug "$K" kamino
port=$((20000 + RANDOM % 20000)); mport=$((port + 1))
sflags=(); cflags=()
if [ "$TLS" = yes ]; then
    "$here/bench-certificates.sh"
    sflags=(--tls-cert server.pem --tls-key server.key); cflags=(--tls-ca ca.pem)
fi
vg=(valgrind --tool=callgrind --instr-atstart=no)
LD_PRELOAD=$OUT/sigsuspend-copy.so "${vg[@]}" --callgrind-out-file=server.callgrind ./kamino serve --data data \
    --listen 127.0.0.1:$port --metrics 127.0.0.1:$mport "${sflags[@]}" > server.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q "listening on" server.log && break; sleep 0.1; done
grep -q "listening on" server.log || { cat server.log; exit 1; }
# shellcheck disable=SC2086
LD_PRELOAD=$OUT/sigsuspend-copy.so "${vg[@]}" --callgrind-out-file=client.callgrind ./kamino bench \
    --address 127.0.0.1:$port "${cflags[@]}" --scenario load --mix transfers \
    --duration $((WARMUP + WINDOW + 30)) $BENCH_ARGS > bench.txt 2>&1 &
client=$!
scheme=http; curlflags=()
if [ "$TLS" = yes ]; then scheme=https; curlflags=(--cacert ca.pem); fi  # the metrics port speaks TLS too
requests() { curl -s "${curlflags[@]}" "$scheme://127.0.0.1:$mport/metrics" | awk '/^kamino_requests_total/ {s += $2} END {print s + 0}'; }
sleep "$WARMUP"
callgrind_control -i on $server > /dev/null; callgrind_control -i on $client > /dev/null
before=$(requests)
sleep "$WINDOW"
after=$(requests)
callgrind_control -i off $server > /dev/null; callgrind_control -i off $client > /dev/null
kill -INT $client 2>/dev/null || true; wait $client 2>/dev/null || true
all=$(requests)  # the whole run's requests (setup and money check included: a few)
kill $server; wait $server 2>/dev/null || true
trap - EXIT
n=$((after - before))
# Valgrind's own total of what was instrumented (the files' summary line stays 0 when
# instrumentation starts off).
total() { grep 'Collected :' "$1" | tail -1 | awk '{print $NF}'; }
s=$(total server.log); c=$(total bench.txt)
echo "window: $n requests in ${WINDOW}s under callgrind ($BENCH_ARGS, TLS $TLS)"
awk -v s="$s" -v c="$c" -v n="$n" 'BEGIN { if (n > 0) printf "instructions per request: server %.0f, client %.0f\n", s / n, c / n; else print "no requests in the window" }'
# The bank mix: per action too. Actions in the window are estimated as the window's
# requests times the run's actions per request (the client merges some calls into one
# request, so requests per action depend on the build).
actions=$(awk '/^bank action/ {on = 1; next} on && NF == 0 {on = 0} on {gsub(",", "", $2); a += $2} END {print a + 0}' bench.txt)
if [ "$actions" -gt 0 ] && [ "$all" -gt 0 ] && [ "$n" -gt 0 ]; then
    awk -v s="$s" -v c="$c" -v n="$n" -v a="$actions" -v r="$all" 'BEGIN {
        w = n * a / r
        printf "bank actions: %d in the run over %d requests (%.3f requests per action)\n", a, r, r / a
        printf "instructions per bank action: server %.0f, client %.0f\n", s / w, c / w }'
fi
echo "callgrind files: $OUT/server.callgrind, $OUT/client.callgrind (callgrind_annotate)"
