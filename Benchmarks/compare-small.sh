#!/usr/bin/env bash
# Issue 13's comparison, in one run on one machine, the systems alternating run by run
# (the machine is shared and noisy: medians of alternating runs, never two series one
# after the other). ROUNDS rounds; each round runs the parts in PARTS:
#   small   one transfer per request, 256 connections, durable:
#           kamino bench --mix transfers --scenario load --batch-size 1 --connections 256 --in-flight 256 --duration D
#           against Redis 7, AOF appendfsync always, the Lua transfer of ../shared/peers/redis-transfer.sh
#           (CONFIGS=always PIPELINES=1 CLIENTS=256), the same account count; the order flips every round
#   floor   the machine's floor for the small shape: Benchmarks/tcp-floor.c, an epoll echo server
#           that does no work, 256 connections × 1 request of a transfer's size in flight, for D
#           seconds (no ledger, no disk: what the kernel's loopback TCP alone allows any server here)
#   bank    kamino bench --scenario load --mix bank --duration D (bank actions/s, worst action p99)
#   batch   batches of 8189: kamino bench --mix transfers --transfers T against `tigerbeetle benchmark`
#           with the same accounts, transfer count and batch size (as compare.sh); the bench's own
#           server gets --expected-transfers T, so both allocate their memory at start
#   tb64    TigerBeetle's own benchmark, --clients=64 --transfer-batch-count=1: 64 clients in one
#           process, each with one request of one transfer in flight (closed loop), against one
#           replica started here with --limit-pipeline-requests=56 (see tb64() below for why)
# then prints each system's medians and the ratios, and a Markdown block for docs/benchmarks.md.
#
# Usage: Benchmarks/compare-small.sh
# Env:   ROUNDS=3              rounds
#        DURATION=20           seconds of each Kamino `small` and `bank` run (Redis and tb64 are sized
#                              to about as long from the rate of the previous round)
#        PARTS="small floor bank batch tb64"   the parts to run
#        ACCOUNTS=10000        accounts in every part (Redis too)
#        TRANSFERS=10000000 BATCH=8189   the batch part's workload
#        REDIS_N=              fixed request count of each Redis run (default: DURATION × the last
#                              Redis rate, 45k/s guessed for the first round)
#        TB64_N=               fixed transfer count of each tb64 run (default: DURATION × the last
#                              tb64 rate, 1k/s guessed for the first round)
#        TB64_PORT=3391        the port of the tb64 part's replica (127.0.0.1)
#        KAMINO=path           kamino binary (default: release build in .build-compare)
#        TB_MIRROR, PEERS, PEERS_DIR, QUIET_WAIT    as in compare.sh (peers-lib.sh)
# Output: each run as it finishes, medians, ratios, the Markdown block; every run's raw output
# under $PEERS_DIR/compare-small-<time>/. Everything listens on 127.0.0.1 only and stops the
# processes it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/peers-lib.sh"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
PARTS=${PARTS:-small floor bank batch tb64}
REDIS_N=${REDIS_N:-}
TB64_N=${TB64_N:-}
TB64_PORT=${TB64_PORT:-3391}
OUT=$PEERS_DIR/compare-small-$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
has() { [[ " $PARTS " == *" $1 "* ]]; }
for p in $PARTS; do
    case $p in small | floor | bank | batch | tb64) ;; *) echo "unknown part '$p' (small floor bank batch tb64)" >&2; exit 2 ;; esac
done
STARTED=$(date +%s)
MACHINE=$(peers_machine)
echo "== machine: $MACHINE"
echo "== $ROUNDS rounds of: $PARTS; $DURATION s runs, $ACCOUNTS accounts; output in $OUT"

# --- builds -----------------------------------------------------------------------
peers_build_kamino
if has batch || has tb64; then peers_build_tigerbeetle; fi
trap peers_cleanup EXIT
if has small; then
    command -v redis-server >/dev/null || { echo "== installing Redis"; CONFIGS="" "$PEERS/redis-transfer.sh" >/dev/null; }
    REDIS_VERSION=$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-)
fi
if has floor; then
    gcc -O2 -pthread "$REPO/Benchmarks/tcp-floor.c" -luring -o "$OUT/tcp-floor" \
        || { echo "cannot build Benchmarks/tcp-floor.c (gcc, liburing-dev)" >&2; exit 1; }
fi
KAMINO_COMMIT=$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- Sources || echo "+changes")
TB_VERSION=""
[[ -n ${TB:-} ]] && TB_VERSION=$(git -C "$PEERS_DIR/tigerbeetle" describe --tags 2>/dev/null || true)

# --- one run of each kind; each prints "rate p50_ms p99_ms [client_us server_us]" -----------
kamino_small() { # $1 = round
    local json=$OUT/kamino-small-$1.json
    "$KAMINO" bench --mix transfers --scenario load --batch-size 1 --connections 256 --in-flight 256 \
        --duration "$DURATION" --accounts "$ACCOUNTS" --json "$json" --quiet > "$OUT/kamino-small-$1.txt" 2>&1 \
        || { echo "kamino bench (small) failed, round $1:" >&2; tail -20 "$OUT/kamino-small-$1.txt" >&2; return 1; }
    $FIGURES transfers "$json" request
}
redis_small() { # $1 = round, $2 = requests
    local log=$OUT/redis-small-$1.txt
    CONFIGS=always PIPELINES=1 CLIENTS=256 ACCOUNTS="$ACCOUNTS" N_P1="$2" \
        RUN_TIMEOUT=$(( DURATION * 10 + 120 )) DATA_ROOT="$PEERS_DIR/redis-data" \
        "$PEERS/redis-transfer.sh" > "$log" 2>&1 \
        || { echo "redis-transfer.sh failed, round $1:" >&2; tail -20 "$log" >&2; return 1; }
    $FIGURES redis "$log"
}
floor_small() { # $1 = round; prints "rate - - client_us server_us"
    local log=$OUT/floor-small-$1.txt
    "$OUT/tcp-floor" 256 "$DURATION" 2 2 > "$log" 2>&1 \
        || { echo "tcp-floor failed, round $1:" >&2; tail -5 "$log" >&2; return 1; }
    sed -nE 's/.*: ([0-9]+) requests\/s, CPU per request client ([0-9.]+) us, server ([0-9.]+) us/\1 - - \2 \3/p' "$log"
}
kamino_bank() { # $1 = round
    local json=$OUT/kamino-bank-$1.json
    "$KAMINO" bench --scenario load --mix bank --duration "$DURATION" --accounts "$ACCOUNTS" --json "$json" --quiet \
        > "$OUT/kamino-bank-$1.txt" 2>&1 \
        || { echo "kamino bench (bank) failed, round $1:" >&2; tail -20 "$OUT/kamino-bank-$1.txt" >&2; return 1; }
    $FIGURES bank "$json"
}
# TigerBeetle's benchmark cannot run 64 clients against the replica it starts itself: that
# replica takes the production default --limit-pipeline-requests (24: 32 client connections
# with the 8 prepares), resets the other 32 connections, their clients retry forever and the
# benchmark never starts. So this part formats and starts the replica here, with the same
# defaults and --limit-pipeline-requests=56 (64 clients), and points the benchmark at it.
tb64() { # $1 = round, $2 = transfers
    # Runs in a subshell (measure): the trap and these globals end with it.
    local log=$OUT/tigerbeetle-tb64-$1.txt slog=$OUT/tigerbeetle-tb64-server-$1.txt rc=0 i
    f=$TB_DATA/tb64.tigerbeetle
    pid=""
    trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; rm -f "$f"' EXIT
    rm -f "$f"
    "$TB" format --cluster=0 --replica=0 --replica-count=1 "$f" > "$slog" 2>&1 \
        || { echo "tigerbeetle format failed, round $1:" >&2; tail -5 "$slog" >&2; return 1; }
    "$TB" start --addresses="127.0.0.1:$TB64_PORT" --experimental --limit-pipeline-requests=56 "$f" >> "$slog" 2>&1 &
    pid=$!
    for i in $(seq 600); do
        grep -q 'listening on' "$slog" && break
        kill -0 "$pid" 2>/dev/null || { echo "tigerbeetle start failed, round $1:" >&2; tail -5 "$slog" >&2; return 1; }
        sleep 0.2
    done
    timeout $(( DURATION * 10 + 300 )) "$TB" benchmark --addresses="127.0.0.1:$TB64_PORT" --account-count="$ACCOUNTS" \
        --clients=64 --transfer-batch-count=1 --transfer-count="$2" > "$log" 2>&1 || rc=$?
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    rm -f "$f"
    [[ $rc == 0 ]] || { echo "tigerbeetle benchmark (tb64) failed ($rc), round $1:" >&2; tail -5 "$log" >&2; return 1; }
    echo "$($FIGURES tigerbeetle "$log") $($FIGURES tb-prepares "$slog")"
}

# --- rounds -------------------------------------------------------------------------
declare -a FL_TPS FL_CC FL_SC KS_TPS KS_P99 KS_CC KS_SC RS_TPS RS_P99 KB_TPS KB_P99 KB_CC KB_SC KC_TPS KC_P99 KC_CC KC_SC TC_TPS TC_P99 T64_TPS T64_P99 T64_PREP
# Measured runs, with a foreign-CPU guard around each: $1 = guard tag, $2 = process names, then the command.
measure() {
    local tag=$1 comms=$2
    shift 2
    peers_quiet >&2
    peers_guard_start "$OUT/guard-$tag.txt" "$comms"
    local line rc=0
    line=$("$@") || rc=$?
    [[ -n $PEERS_GUARD ]] && { kill -TERM "$PEERS_GUARD"; wait "$PEERS_GUARD" || true; PEERS_GUARD=""; }
    [[ $rc == 0 && -n $line ]] || return 1
    echo "$line"
}
row() { # round part system rate unit p50 p99 client server guard-file
    local load
    load=$(sed -n 's/^cpu: total_busy=\([^ ]*\) ours=\([^ ]*\) foreign=\([^ ]*\) .*/busy \1, ours \2, foreign \3/p' \
        "${10}" 2>/dev/null || true)
    grep -q WARNING "${10}" 2>/dev/null && load+=" FOREIGN LOAD"
    printf '%-5s %-6s %-12s %10s %-13s %8s %8s %9s %9s   %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "$load"
}
echo
echo "(client, server: CPU µs per request in small, per action in bank, per transfer in 8189; p99 of TigerBeetle in whole ms)"
printf '%-5s %-6s %-12s %10s %-13s %8s %8s %9s %9s   %s\n' round part system rate unit "p50 ms" "p99 ms" \
    "client" "server" "load during the run (cores)"
printf '%-5s %-6s %-12s %10s %-13s %8s %8s %10s %10s\n' "" "" "" "" "" "" "" "µs/unit" "µs/unit"
redis_rate=45000
tb64_rate=1000
for r in $(seq 1 "$ROUNDS"); do
    if has small; then
        order="kamino redis"
        (( r % 2 == 0 )) && order="redis kamino"
        for who in $order; do
            if [[ $who == kamino ]]; then
                read -r tps p50 p99 cc sc < <(measure "kamino-small-$r" kamino kamino_small "$r") || exit 1
                KS_TPS+=("$tps"); KS_P99+=("$p99"); KS_CC+=("$cc"); KS_SC+=("$sc")
                row "$r" small kamino "$tps" transfers/s "$p50" "$p99" "$cc" "$sc" "$OUT/guard-kamino-small-$r.txt"
            else
                n=${REDIS_N:-$(( redis_rate * DURATION ))}
                read -r tps p50 p99 < <(measure "redis-small-$r" redis redis_small "$r" "$n") || exit 1
                RS_TPS+=("$tps"); RS_P99+=("$p99"); redis_rate=$tps
                row "$r" small redis-always "$tps" transfers/s "$p50" "$p99" - - "$OUT/guard-redis-small-$r.txt"
            fi
        done
    fi
    if has floor; then
        read -r tps p50 p99 cc sc < <(measure "floor-small-$r" tcp-floor floor_small "$r") || exit 1
        FL_TPS+=("$tps"); FL_CC+=("$cc"); FL_SC+=("$sc")
        row "$r" floor echo-server "$tps" requests/s - - "$cc" "$sc" "$OUT/guard-floor-small-$r.txt"
    fi
    if has bank; then
        read -r aps p50 p99 cc sc < <(measure "kamino-bank-$r" kamino kamino_bank "$r") || exit 1
        KB_TPS+=("$aps"); KB_P99+=("$p99"); KB_CC+=("$cc"); KB_SC+=("$sc")
        row "$r" bank kamino "$aps" actions/s "$p50" "$p99" "$cc" "$sc" "$OUT/guard-kamino-bank-$r.txt"
    fi
    if has batch; then
        read -r tps p50 p99 cc sc < <(measure "kamino-batch-$r" kamino peers_kamino_batch "$OUT" "$r") || exit 1
        KC_TPS+=("$tps"); KC_P99+=("$p99"); KC_CC+=("$cc"); KC_SC+=("$sc")
        row "$r" 8189 kamino "$tps" transfers/s "$p50" "$p99" "$cc" "$sc" "$OUT/guard-kamino-batch-$r.txt"
        read -r tps p50 p99 < <(measure "tb-batch-$r" tigerbeetle peers_tb_batch "$OUT" "batch-$r" \
            --transfer-count="$TRANSFERS" --transfer-batch-count="$BATCH") || exit 1
        TC_TPS+=("$tps"); TC_P99+=("$p99")
        row "$r" 8189 tigerbeetle "$tps" transfers/s "$p50" "$p99" - - "$OUT/guard-tb-batch-$r.txt"
    fi
    if has tb64; then
        n=${TB64_N:-$(( tb64_rate * DURATION ))}
        read -r tps p50 p99 per_prepare < <(measure "tb64-$r" tigerbeetle tb64 "$r" "$n") || exit 1
        T64_TPS+=("$tps"); T64_P99+=("$p99"); T64_PREP+=("$per_prepare"); tb64_rate=$tps
        row "$r" tb64 tigerbeetle "$tps" transfers/s "$p50" "$p99" - - "$OUT/guard-tb64-$r.txt"
        echo "      (tb64: $n transfers; $per_prepare transfers per prepare in the replica's log)"
    fi
done

# --- medians, ratios, the block for docs/benchmarks.md -----------------------------------
med() { # median of the known values (n/a skipped) with DECIMALS decimals (default 2), or n/a
    local v=() m
    for x in "$@"; do [[ $x != n/a ]] && v+=("$x"); done
    (( ${#v[@]} )) || { echo n/a; return; }
    m=$(peers_median "${v[@]}")
    printf "%.${DECIMALS:-2}f\n" "$m"
}
med1() { DECIMALS=1 med "$@"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a != "n/a") printf "%.2f", a / b; else print "n/a" }'; }
grouped() { python3 -c 'import sys; v = sys.argv[1]; print(v if v == "n/a" else f"{float(v):,.0f}")' "$1"; }
ELAPSED=$(( $(date +%s) - STARTED ))
ENVS="ROUNDS=$ROUNDS DURATION=$DURATION"
[[ $PARTS != "small floor bank batch tb64" ]] && ENVS+=" PARTS=\"$PARTS\""
[[ $ACCOUNTS != 10000 ]] && ENVS+=" ACCOUNTS=$ACCOUNTS"
[[ $TRANSFERS != 10000000 ]] && has batch && ENVS+=" TRANSFERS=$TRANSFERS"
[[ -n $REDIS_N ]] && has small && ENVS+=" REDIS_N=$REDIS_N"
[[ -n $TB64_N ]] && has tb64 && ENVS+=" TB64_N=$TB64_N"
{
    echo
    echo "#### Issue 13 comparison: \`$ENVS Benchmarks/compare-small.sh\`"
    echo
    echo "Machine: $MACHINE. Kamino $KAMINO_COMMIT (release build)${REDIS_VERSION:+, Redis $REDIS_VERSION}${TB_VERSION:+, TigerBeetle $TB_VERSION}."
    echo "One run, $ROUNDS rounds, the systems alternating; medians over the rounds; load generators on the same machine."
    echo "The run took $(( ELAPSED / 60 )) min $(( ELAPSED % 60 )) s; every run's output: \`$OUT\`."
    echo
    echo "| shape | system | rate (median) | p99 (median) | CPU µs per unit: client / server | ratio |"
    echo "|---|---|---|---|---|---|"
    if has small; then
        k=$(med "${KS_TPS[@]}"); rd=$(med "${RS_TPS[@]}")
        echo "| 256 connections × 1 transfer per request, durable | Kamino \`kamino bench --mix transfers --scenario load --batch-size 1 --connections 256 --in-flight 256 --duration $DURATION\` | $(grouped "$k") transfers/s | $(med "${KS_P99[@]}") ms | $(med1 "${KS_CC[@]}") / $(med1 "${KS_SC[@]}") per request | Kamino / Redis = **$(ratio "$k" "$rd")** |"
        echo "| | Redis $REDIS_VERSION AOF \`always\`, Lua transfer, 256 clients, P=1 (\`CONFIGS=always PIPELINES=1 CLIENTS=256\` redis-transfer.sh) | $(grouped "$rd") transfers/s | $(med "${RS_P99[@]}") ms | | |"
    fi
    if has floor; then
        f=$(med "${FL_TPS[@]}")
        echo "| the machine's floor for 256 × 1 (no ledger, no disk) | \`Benchmarks/tcp-floor.c\`: an epoll echo server doing no work, 2 threads each side, 256 connections × 1 request (192 bytes out, 72 back) | $(grouped "$f") requests/s | | $(med1 "${FL_CC[@]}") / $(med1 "${FL_SC[@]}") per request | Kamino / floor = **$(ratio "${k:-n/a}" "$f")**; 5x Redis / floor = **$(ratio "$(awk -v r="${rd:-n/a}" 'BEGIN { print (r == "n/a") ? r : 5 * r }')" "$f")** |"
    fi
    if has bank; then
        echo "| bank mix | Kamino \`kamino bench --scenario load --mix bank --duration $DURATION\` | $(grouped "$(med "${KB_TPS[@]}")") actions/s | $(med "${KB_P99[@]}") ms (worst action) | $(med1 "${KB_CC[@]}") / $(med1 "${KB_SC[@]}") per action | |"
    fi
    if has batch; then
        k=$(med "${KC_TPS[@]}"); t=$(med "${TC_TPS[@]}")
        echo "| batches of $BATCH, $TRANSFERS transfers | Kamino \`kamino bench --mix transfers --scenario load --transfers $TRANSFERS --batch-size $BATCH\` | $(grouped "$k") transfers/s | $(med "${KC_P99[@]}") ms | $(med "${KC_CC[@]}") / $(med "${KC_SC[@]}") per transfer | Kamino / TigerBeetle = **$(ratio "$k" "$t")** |"
        echo "| | TigerBeetle \`tigerbeetle benchmark --transfer-count=$TRANSFERS --transfer-batch-count=$BATCH\` | $(grouped "$t") transfers/s | $(DECIMALS=0 med "${TC_P99[@]}") ms (whole ms) | | |"
    fi
    if has tb64; then
        T64_COUNT="N sized to about $DURATION s"
        [[ -n $TB64_N ]] && T64_COUNT="N=$TB64_N"
        echo "| TigerBeetle's benchmark, 64 clients × 1 transfer per request | TigerBeetle \`tigerbeetle benchmark --clients=64 --transfer-batch-count=1 --transfer-count=N\` ($T64_COUNT), against a replica started with \`--experimental --limit-pipeline-requests=56\` (the default replica takes 32 clients; with 64 the benchmark never starts) | $(grouped "$(med "${T64_TPS[@]}")") transfers/s | $(DECIMALS=0 med "${T64_P99[@]}") ms (whole ms) | | |"
    fi
    if has tb64; then
        echo
        echo "TigerBeetle with 64 clients × 1 transfer: each request is its own prepare (the replica's log shows"
        echo "$(med "${T64_PREP[@]}") transfers per prepare; requests of different clients are not merged), written"
        echo "to its journal with O_DIRECT|O_DSYNC, at most 8 prepares in the pipeline."
    fi
    echo
    echo "p99: of create_transfers requests (Kamino), of requests as redis-benchmark reports them (Redis),"
    echo "of batches as \`tigerbeetle benchmark\` reports them (whole milliseconds); bank mix: the worst of the"
    echo "actions' p99s. CPU: the bench client (getrusage) and the server (/proc/<pid>/stat) over the measured phase."
} | tee "$OUT/summary.md"
