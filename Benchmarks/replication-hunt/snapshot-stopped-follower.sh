#!/bin/bash
# Run snapshot-download-kills.sh first (it leaves the primary directory). Does the primary buffer a whole snapshot for a follower that stopped reading?
K=${KAMINO:-$PWD/.build/debug/kamino}
D=${HUNT_DIR:-/tmp/hunt/s16}; cd $D; rm -rf $D/g
$K serve --data $D/p --listen 127.0.0.1:15910 --metrics off --replication async --snapshot-log-bytes 33554432 --retain-records 1000 --replication-listen 127.0.0.1:15911 >>p.out 2>>p.log & P=$!
sleep 10
echo "primary rss before: $(grep VmRSS /proc/$P/status)"; sleep 4; echo "primary rss before: $(grep VmRSS /proc/$P/status)"
$K follow --data $D/g --listen 127.0.0.1:15930 --primary 127.0.0.1:15911 --metrics off --replication async >g.out 2>g.log & G=$!
for i in $(seq 1 100); do sleep 0.1; if ls $D/g/*.part >/dev/null 2>&1; then break; fi; done
kill -STOP $G; echo "follower stopped; part $(stat -c %s $D/g/*.part)"
for i in 1 2 3 4 5; do sleep 2; echo "primary rss: $(grep VmRSS /proc/$P/status)"; done
kill -CONT $G; sleep 8
ls -la $D/g | grep -E "snap|part"
grep -c "truncatedFrame" g.log
kill $G $P; wait
