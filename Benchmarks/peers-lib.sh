# Shared parts of the peer comparisons (compare.sh, compare-small.sh); source it, don't run it.
# Sets REPO, PEERS, TB_MIRROR, PEERS_DIR, QUIET_WAIT and defines:
#   peers_machine                  one line: nproc, memory, kernel, date
#   peers_build_kamino             sets KAMINO (release build in .build-compare unless KAMINO is set)
#   peers_build_tigerbeetle        builds TigerBeetle with ../shared/peers/tigerbeetle.sh; sets TB, TB_DATA
#   peers_quiet                    waits (at most QUIET_WAIT s) for an idle machine
#   peers_guard_start FILE COMMS / peers_guard_stop FILE    foreign CPU during a run (cpu-guard.py)
#   peers_kamino_batch OUT TAG     `kamino bench --mix transfers` batches of BATCH; prints "tps p50_ms p99_ms cpu_client cpu_server"
#   peers_tb_batch OUT TAG [ARGS]  `tigerbeetle benchmark` (stopped after TB_TIMEOUT s if set); prints "tps p50_ms p99_ms"
#   peers_median VALUES...         the median
#   peers_cleanup                  stops a guard left running, removes TigerBeetle's data file (for an EXIT trap)
# Everything listens on 127.0.0.1 only; only processes started here are stopped.
PEERS_LIB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$PEERS_LIB_HERE/.." && pwd)
PEERS=${PEERS:-$(cd "$REPO/../shared/peers" 2>/dev/null && pwd || echo /work/shared/peers)}
TB_MIRROR=${TB_MIRROR:-/work/.mirror/tigerbeetle+tigerbeetle/repo}
export PEERS_DIR=${PEERS_DIR:-/tmp/kamino-peers}
export QUIET_WAIT=${QUIET_WAIT:-60}
ACCOUNTS=${ACCOUNTS:-10000}
TRANSFERS=${TRANSFERS:-10000000}
BATCH=${BATCH:-8189}
KAMINO_ARGS=${KAMINO_ARGS:-}
FIGURES="python3 $PEERS_LIB_HERE/bench-figures.py"

peers_machine() {
    echo "nproc=$(nproc), memory $(free -g | awk '/^Mem:/{print $2}') GiB, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
}

peers_build_kamino() {
    if [[ -z ${KAMINO:-} ]]; then
        echo "== building kamino (release)"
        (cd "$REPO" && swift build -c release --scratch-path .build-compare --product kamino 2>&1 | tail -1)
        KAMINO=$REPO/.build-compare/release/kamino
    fi
    [[ -x $KAMINO ]] || { echo "kamino binary missing: $KAMINO" >&2; exit 1; }
}

peers_build_tigerbeetle() {
    echo "== building TigerBeetle (if needed)"
    "$PEERS/tigerbeetle.sh" "$TB_MIRROR" 0 2>&1 | grep -E '^==' || true
    TB=$PEERS_DIR/tigerbeetle/tigerbeetle
    [[ -x $TB ]] || { echo "TigerBeetle binary missing: $TB" >&2; exit 1; }
    TB_DATA=$PEERS_DIR/tb-data
    mkdir -p "$TB_DATA"
}

peers_quiet() { [[ -f $PEERS/cpu-guard.py ]] && python3 "$PEERS/cpu-guard.py" --wait-quiet "$QUIET_WAIT" || true; }

PEERS_GUARD=""
peers_guard_start() { # $1 = file, $2 = our process names: measures foreign CPU during a run
    PEERS_GUARD=""
    [[ -f $PEERS/cpu-guard.py ]] || return 0
    python3 "$PEERS/cpu-guard.py" "$1" "$2" & PEERS_GUARD=$!
}
peers_guard_stop() { # prints the foreign-load line
    [[ -n $PEERS_GUARD ]] || return 0
    kill -TERM "$PEERS_GUARD"; wait "$PEERS_GUARD" || true; PEERS_GUARD=""
    sed 's/^/       /' "$1"
}

peers_cleanup() {
    [[ -n $PEERS_GUARD ]] && kill -TERM "$PEERS_GUARD" 2>/dev/null
    [[ -n ${TB_DATA:-} ]] && rm -f "$TB_DATA/compare.tigerbeetle"
    return 0
}

peers_kamino_batch() { # $1 = output dir, $2 = tag; prints "tps p50_ms p99_ms client_us/transfer server_us/transfer"
    # The bench passes --transfers to the server it starts as --expected-transfers (memory set aside
    # and faulted in before it listens, as TigerBeetle allocates at start); KAMINO_ARGS="--expected-transfers 0" turns it off.
    local json=$1/kamino-batch-$2.json
    "$KAMINO" bench --mix transfers --scenario load --accounts "$ACCOUNTS" --transfers "$TRANSFERS" \
        --batch-size "$BATCH" --json "$json" --quiet $KAMINO_ARGS > "$1/kamino-batch-$2.txt" 2>&1 \
        || { echo "kamino bench failed ($2):" >&2; tail -20 "$1/kamino-batch-$2.txt" >&2; return 1; }
    $FIGURES transfers "$json" transfer
}

peers_tb_batch() { # $1 = output dir, $2 = tag, more args: extra `tigerbeetle benchmark` args; prints "tps p50_ms p99_ms"
    local out=$1 tag=$2
    shift 2
    local f=$TB_DATA/compare.tigerbeetle log=$out/tigerbeetle-$tag.txt
    rm -f "$f"
    (cd "$TB_DATA" && timeout "${TB_TIMEOUT:-0}" "$TB" benchmark --file="$f" --account-count="$ACCOUNTS" "$@" \
        > "$log" 2>&1) \
        || { echo "tigerbeetle benchmark failed ($tag):" >&2; tail -20 "$log" >&2; rm -f "$f"; return 1; }
    rm -f "$f"
    $FIGURES tigerbeetle "$log"
}

peers_median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
