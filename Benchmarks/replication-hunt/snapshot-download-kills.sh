#!/bin/bash
# S16: a fresh follower downloads the snapshot under load; kill -9 the follower mid-download (resume),
# the primary snapshots again meanwhile, kill -9 the primary mid-download; digests and verify at the end.
K=${KAMINO:-$PWD/.build/debug/kamino}
D=${HUNT_DIR:-/tmp/hunt/s16}; rm -rf $D; mkdir -p $D; cd $D
R="--metrics off --replication async"
PS="--snapshot-log-bytes 33554432 --retain-records 1000"
startp() { $K serve --data $D/p --listen 127.0.0.1:15910 $R $PS --replication-listen 127.0.0.1:15911 >>p.out 2>>p.log & P=$!; }
startf() { $K follow --data $D/f --listen 127.0.0.1:15920 --primary 127.0.0.1:15911 $R >>f.out 2>>f.log & F=$!; }
startp; sleep 2
timeout 40 $K bench --address 127.0.0.1:15910 --duration 12 --accounts 1000 >bench1.out 2>&1
ls $D/p | head; du -sh $D/p
timeout 60 $K bench --address 127.0.0.1:15910 --duration 30 --accounts 1000 >bench2.out 2>&1 & BENCH=$!
sleep 1
startf
for i in $(seq 1 100); do sleep 0.2; if ls $D/f/*.part >/dev/null 2>&1 && [ $(stat -c %s $D/f/*.part | head -1) -gt 8000000 ]; then break; fi; done
echo "part: $(ls -la $D/f/*.part 2>/dev/null | awk '{print $5, $9}')"
kill -9 $F; wait $F 2>/dev/null; echo "follower killed mid-download"
sleep 3
ls $D/p | grep snap
startf
for i in $(seq 1 100); do sleep 0.2; if ls $D/f/*.part >/dev/null 2>&1 && [ $(stat -c %s $D/f/*.part | head -1) -gt 8000000 ]; then break; fi; done
echo "part: $(ls -la $D/f/*.part 2>/dev/null | awk '{print $5, $9}')"
kill -9 $P; wait $P 2>/dev/null; echo "primary killed mid-download"
wait $BENCH
sleep 2
startp; sleep 4
for i in $(seq 1 60); do sleep 1; $K status --address 127.0.0.1:15910 2>/dev/null | grep -q streaming && break; done
$K repl --address 127.0.0.1:15910 -c "create_accounts id=999999001 ledger=700 code=10"
sleep 3
$K status --address 127.0.0.1:15910 | grep -E "last_lsn|durable_lsn|  127"
kill -TERM $F; wait $F; echo "follower exit $?"
kill -TERM $P; wait $P; echo "primary exit $?"
$K wal verify $D/f >fv.txt 2>&1; echo "follower verify $? $(tail -1 fv.txt)"
$K wal verify $D/p >pv.txt 2>&1; echo "primary verify $? $(tail -1 pv.txt)"
$K wal replay $D/p 2>&1 | grep digest; $K wal replay $D/f 2>&1 | grep digest
grep -E "snapshot|critical|error" f.log | grep -v setting | cut -c1-220 | tail -12
