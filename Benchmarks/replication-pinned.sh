#!/bin/bash
# Replication cost with the followers on a core of their own: the primary pinned to CPU 0,
# the followers and the bench client to CPU 1 (taskset), batches of 8189, 1 connection.
# Usage: Benchmarks/replication-pinned.sh none|sync|async [FOLLOWERS]   (FOLLOWERS: 1 or 2)
# Env: KAMINO=path (default: the release binary), DURATION=10 (seconds of load).
# Ports 5810-5831 on 127.0.0.1 must be free. Prints the bench's create_transfers line and
# its "transfers created" line.

K=${KAMINO:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/kamino}
mode=$1   # none | sync | async
followers=${2:-1}
DURATION=${DURATION:-10}
W=$(mktemp -d); cd "$W" || exit 1
pids=()
if [ "$mode" = none ]; then
  taskset -c 0 "$K" serve --data p --listen 127.0.0.1:5810 --metrics off > p.log 2>&1 & pids+=($!)
else
  taskset -c 0 "$K" serve --data p --listen 127.0.0.1:5810 --metrics off --replication "$mode" \
      --replication-listen 127.0.0.1:5811 > p.log 2>&1 & pids+=($!)
  sleep 1
  for i in $(seq 1 "$followers"); do
    port=$((5810 + 10 * i))  # 5820/5821, 5830/5831
    taskset -c 1 "$K" follow --primary 127.0.0.1:5811 --data "f$i" --listen "127.0.0.1:$port" --metrics off \
        --replication-listen "127.0.0.1:$((port + 1))" > "f$i.log" 2>&1 & pids+=($!)
  done
fi
sleep 2
taskset -c 1 "$K" bench --address 127.0.0.1:5810 --scenario load --duration "$DURATION" --batch-size 8189 --quiet 2>&1 \
    | grep -E "^create_transfers|transfers created"
kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null
cd /; rm -rf "$W"
