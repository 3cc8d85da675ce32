#!/bin/bash
# Replication cost with the follower on its own core: the primary pinned to CPU 0, the
# follower and the bench client to CPU 1 (taskset). Usage: Benchmarks/replication-pinned.sh none|sync|async
# (KAMINO=path overrides the release binary; ports 5810-5821 on 127.0.0.1 must be free).

K=${KAMINO:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/kamino}
mode=$1   # none | sync | async
W=$(mktemp -d); cd $W
if [ "$mode" = none ]; then
  taskset -c 0 $K serve --data p --listen 127.0.0.1:5810 --metrics off > p.log 2>&1 & PP=$!
else
  taskset -c 0 $K serve --data p --listen 127.0.0.1:5810 --metrics off --replication $mode --replication-listen 127.0.0.1:5811 > p.log 2>&1 & PP=$!
  sleep 1
  taskset -c 1 $K follow --primary 127.0.0.1:5811 --data f --listen 127.0.0.1:5820 --metrics off --replication-listen 127.0.0.1:5821 > f.log 2>&1 & FP=$!
fi
sleep 2
taskset -c 1 $K bench --address 127.0.0.1:5810 --scenario load --duration 10 --batch-size 8189 --quiet 2>&1 | grep -E "^create_transfers|transfers created"
kill $PP $FP 2>/dev/null; wait 2>/dev/null
cd /; rm -rf $W
