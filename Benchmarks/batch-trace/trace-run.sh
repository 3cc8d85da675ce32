#!/bin/bash
# $1 = kamino binary, $2 = out prefix, rest = extra serve args
K=$1; O=$2; shift 2
D=$(mktemp -d)
KAMINO_BATCH_TRACE=$O.trace $K serve --data $D --listen 127.0.0.1:0 --metrics off "$@" > $O.serve.txt 2>&1 &
SP=$!
for i in $(seq 1 100); do grep -q "listening on" $O.serve.txt && break; sleep 0.1; done
ADDR=$(grep -o "listening on [0-9.:]*" $O.serve.txt | awk '{print $3}')
$K bench --address $ADDR --server-pid $SP --scenario load --mix transfers --duration 15 --batch-size 8189 --json $O.json > $O.bench.txt 2>&1
kill $SP; wait $SP
rm -rf $D
