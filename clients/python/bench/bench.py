#!/usr/bin/env python3
"""Throughput of the Python client: create_transfers at a given batch size (events per
call) and concurrency (callers at once), with the asyncio or the blocking API.

    python3 clients/python/bench/bench.py --address 127.0.0.1:4410 --batch 8189 --transfers 500000
    python3 clients/python/bench/bench.py --address 127.0.0.1:4410 --batch 1 --concurrency 1000

It creates `--accounts` accounts, then `--transfers` transfers of amount 1 between random
pairs of them, split into calls of `--batch` transfers, `--concurrency` calls at a time
(asyncio tasks, or threads with `--api sync`); concurrent calls are batched by the
client. The Transfer objects are built before the clock starts; ids come from
kamino.id(). Prints one JSON object: transfers/s, calls/s, requests sent, the call
latency percentiles (ms), the client process's CPU time in the timed part (transfers per
client CPU second: the client's own ceiling, meaningful on a shared machine), the load
average, and the check that every transfer was created.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
import kamino  # noqa: E402
from kamino import Account, CreateTransferStatus, Transfer  # noqa: E402


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def make_calls(args, account_ids: list[int]) -> list[list[Transfer]]:
    rng = random.Random(1)
    calls, left = [], args.transfers
    while left > 0:
        n = min(args.batch, left)
        left -= n
        call = []
        for _ in range(n):
            d, c = rng.sample(account_ids, 2)
            call.append(Transfer(id=kamino.id(), debit_account_id=d, credit_account_id=c, amount=1,
                                 ledger=args.ledger, code=1))
        calls.append(call)
    return calls


async def run_async(args, calls):
    latencies: list[float] = []
    failed = 0
    async with kamino.AsyncClient(args.address, request_timeout=30) as client:
        await client.status()
        queue = iter(calls)

        async def worker():
            nonlocal failed
            for call in queue:
                t0 = time.perf_counter()
                results = await client.create_transfers(call)
                latencies.append(time.perf_counter() - t0)
                failed += sum(r.status != CreateTransferStatus.CREATED for r in results)
        start = time.perf_counter()
        cpu = time.process_time()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - start
        args.cpu = time.process_time() - cpu
        conn = client.connection
        return elapsed, latencies, failed, conn.requests_sent - 1 if conn else 0


def run_sync(args, calls):
    latencies: list[float] = []
    failed = 0
    lock = threading.Lock()
    with kamino.Client(args.address, request_timeout=30) as client:
        client.status()
        queue = iter(calls)

        def worker():
            nonlocal failed
            while True:
                with lock:
                    call = next(queue, None)
                if call is None:
                    return
                t0 = time.perf_counter()
                results = client.create_transfers(call)
                dt = time.perf_counter() - t0
                bad = sum(r.status != CreateTransferStatus.CREATED for r in results)
                with lock:
                    latencies.append(dt)
                    failed += bad
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        start = time.perf_counter()
        cpu = time.process_time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        args.cpu = time.process_time() - cpu
        conn = client.async_client.connection
        return elapsed, latencies, failed, conn.requests_sent - 1 if conn else 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--address", default="127.0.0.1:4410")
    p.add_argument("--batch", type=int, default=8189, help="transfers per call (1 to 8189)")
    p.add_argument("--concurrency", type=int, default=1, help="calls in flight at once (tasks or threads)")
    p.add_argument("--transfers", type=int, default=200_000)
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--api", choices=["async", "sync"], default="async")
    p.add_argument("--ledger", type=int, default=1)
    args = p.parse_args()
    if not 1 <= args.batch <= kamino.MAX_EVENTS:
        p.error("--batch must be 1 to 8189")

    account_ids = [kamino.id() for _ in range(args.accounts)]
    with kamino.Client(args.address) as setup:
        for i in range(0, len(account_ids), 8189):
            results = setup.create_accounts([Account(id=a, ledger=args.ledger, code=1)
                                             for a in account_ids[i:i + 8189]])
            assert all(r.status == kamino.CreateAccountStatus.CREATED for r in results)
    calls = make_calls(args, account_ids)
    if args.api == "async":
        elapsed, latencies, failed, requests = asyncio.run(run_async(args, calls))
    else:
        elapsed, latencies, failed, requests = run_sync(args, calls)
    latencies.sort()
    print(json.dumps({
        "api": args.api, "batch": args.batch, "concurrency": args.concurrency, "transfers": args.transfers,
        "seconds": round(elapsed, 3), "transfers_per_second": round(args.transfers / elapsed),
        "calls_per_second": round(len(calls) / elapsed), "requests": requests,
        "events_per_request": round(args.transfers / max(1, requests), 1),
        "latency_ms": {q: round(percentile(latencies, v) * 1000, 2)
                       for q, v in (("p50", 50), ("p99", 99), ("max", 100))},
        "client_cpu_seconds": round(args.cpu, 3),
        "transfers_per_client_cpu_second": round(args.transfers / max(args.cpu, 1e-9)),
        "load_average": round(os.getloadavg()[0], 1), "not_created": failed, "python": sys.version.split()[0],
    }))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
