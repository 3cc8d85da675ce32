#!/usr/bin/env bash
# base (main) vs segpool, batches of 8189, 10M transfers, the bench's own server, alternating A B B A
# Run under `flock /work/bench.lock`; BASE/NEW name the two kamino binaries (session 12, branch segpool).
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/segpool-sbs}; rm -rf $out; mkdir -p $out
rounds=${ROUNDS:-4}
for r in $(seq 1 $rounds); do
  if (( r % 2 )); then order="base new"; else order="new base"; fi
  for who in $order; do
    if [ $who = base ]; then K=${BASE:-/tmp/kamino-segpool-base}; else K=${NEW:-/tmp/kamino-segpool-new}; fi
    $K bench --mix transfers --scenario load --accounts 10000 --transfers 10000000 --batch-size 8189 --json $out/$who-$r.json --quiet > $out/$who-$r.txt 2>&1
    echo "$r $who $(python3 Benchmarks/bench-figures.py transfers $out/$who-$r.json transfer) load $(cut -d' ' -f1 /proc/loadavg)"
    sleep 5
  done
done
