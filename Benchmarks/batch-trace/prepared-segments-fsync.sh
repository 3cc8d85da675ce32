#!/usr/bin/env bash
# base vs new2 with an own `kamino serve`: bench figures and the server's write+fdatasync histogram
# Run under `flock /work/bench.lock`; BASE/NEW name the two kamino binaries (session 12, branch segpool).
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/segpool-fsync}; mkdir -p $out
for r in ${RS:-1 2}; do
  if (( r % 2 )); then order="base new"; else order="new base"; fi
  for who in $order; do
    if [ $who = base ]; then K=${BASE:-/tmp/kamino-segpool-base}; else K=${NEW:-/tmp/kamino-segpool-new2}; fi
    d=$out/data-$who-$r; rm -rf $d
    $K serve --data $d --listen 127.0.0.1:4791 --metrics 127.0.0.1:4792 > $out/serve-$who-$r.txt 2>&1 &
    pid=$!
    for i in $(seq 100); do curl -s 127.0.0.1:4792/metrics >/dev/null 2>&1 && break; sleep 0.2; done
    $K bench --address 127.0.0.1:4791 --server-pid $pid --mix transfers --scenario load --accounts 10000 --transfers 10000000 --batch-size 8189 --json $out/$who-$r.json --quiet > $out/$who-$r.txt 2>&1
    curl -s 127.0.0.1:4792/metrics | grep "kamino_log_write_fdatasync_seconds" > $out/metrics-$who-$r.txt
    kill -TERM $pid; wait $pid
    echo "$r $who $(python3 Benchmarks/bench-figures.py transfers $out/$who-$r.json transfer) load $(cut -d' ' -f1 /proc/loadavg)"
    grep -E "_bucket|_count|_sum" $out/metrics-$who-$r.txt | sed 's/kamino_log_write_fdatasync_seconds//' | tr '\n' ' '; echo
    rm -rf $d
    sleep 5
  done
done
