#!/usr/bin/env bash
# The change stream's rate (docs/cdc.md), two builds side by side on one data directory,
# alternating run by run (the machine is shared and noisy: compare medians). Wall time of
# each whole command, stdout to /dev/null, in one hold of /work/bench.lock.
#
#   stream  R A B B A R A B B A R with R = `NEW wal replay DIR` (the rebuild alone, the floor),
#           A = `OLD cdc --data DIR`, B = `NEW cdc --data DIR`
#   replay  A B B A A B B A with A = `OLD wal replay DIR`, B = `NEW wal replay DIR`
#
# Usage: Benchmarks/cdc-rate.sh stream|replay OLD_KAMINO NEW_KAMINO DIR
# Data:  kamino bench --data DIR --transfers 1000000 --two-phase 0.1   (under the lock too)
set -euo pipefail
mode=$1 old=$2 new=$3 dir=$4
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
run() {
    case $mode in
        stream) order="R A B B A R A B B A R" ;;
        replay) order="A B B A A B B A" ;;
        *) echo "mode: stream or replay" >&2; exit 64 ;;
    esac
    date -u
    for x in $order; do
        case $mode$x in
            streamR) echo "replay-new $(t "$new" wal replay "$dir")" ;;
            streamA) echo "cdc-old $(t "$old" cdc --data "$dir")" ;;
            streamB) echo "cdc-new $(t "$new" cdc --data "$dir")" ;;
            replayA) echo "replay-old $(t "$old" wal replay "$dir")" ;;
            replayB) echo "replay-new $(t "$new" wal replay "$dir")" ;;
        esac
    done
    date -u
    uptime
}
export -f t run
export mode old new dir
flock /work/bench.lock bash -c run
