#!/usr/bin/env python3
# Usage: fsync-prewritten.py DIR  -- 64 x (1 MiB pwrite + fdatasync) into a fallocated 64 MiB file and into one written with zeros first, 3 rounds
import os, time, sys
d = sys.argv[1]
buf = os.urandom(1 << 20)
def run(mode, n=64):
    p = os.path.join(d, f"seg-{mode}")
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    if mode == "falloc":
        os.posix_fallocate(fd, 0, 64 << 20)
    else:
        z = bytes(1 << 20)
        for i in range(64): os.pwrite(fd, z, i << 20)
        os.fsync(fd)
    os.fsync(fd)
    ts = []
    for i in range(n):
        t = time.perf_counter()
        os.pwrite(fd, buf, i << 20)
        os.fdatasync(fd)
        ts.append((time.perf_counter() - t) * 1000)
    os.close(fd); os.unlink(p)
    ts.sort()
    return ts
for r in range(3):
    for m in ("falloc", "zeroed"):
        ts = run(m)
        print(m, "p50 %.2f p90 %.2f max %.2f mean %.2f" % (ts[len(ts)//2], ts[int(len(ts)*.9)], ts[-1], sum(ts)/len(ts)))
