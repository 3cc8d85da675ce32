"""The error replies a real `kamino serve` sends for its limits and its log: `rate_limited`
(22), `too_many_connections` (23), `timed_out` (24) and `log_unavailable` (19), and the
typed exceptions the client raises for them (docs/protocol.md, docs/security.md)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import time

import pytest

import kamino
from kamino import Account, Transfer
from kamino.wire import Kind, Operation, encode_request

from test_errors import Raw, error_of

E = kamino.ErrorCode


def test_rate_limited_executes_nothing(new_server):
    server = new_server(["--rate-requests-per-second", "1"])
    with kamino.Client(server.address, retry=kamino.NO_RETRY) as client:
        client.create_accounts([Account(id=1, ledger=1, code=1), Account(id=2, ledger=1, code=1)])
        refused = 0
        for i in range(5):
            try:
                client.create_transfers(
                    [Transfer(id=100 + i, debit_account_id=1, credit_account_id=2, amount=1, ledger=1, code=1)])
            except kamino.RateLimited as e:
                assert e.code == E.RATE_LIMITED and not e.may_have_executed
                refused += 1
    assert refused >= 1
    # What was refused was not applied: count the transfers (reads are rate-limited too,
    # so each waits for the time the refusal names).
    def patiently(call):
        for _ in range(20):
            try:
                return call()
            except kamino.RateLimited as e:
                time.sleep(e.retry_after or 1.0)
        raise AssertionError("still rate-limited after 20 tries")

    with kamino.Client(server.address, retry=kamino.NO_RETRY) as client:
        [a] = patiently(lambda: client.lookup_accounts([1]))
        found = patiently(lambda: client.lookup_transfers([100 + i for i in range(5)]))
        assert a.debits_posted == len(found) == 5 - refused


def test_too_many_connections_closes_the_extra_one(new_server):
    server = new_server(["--max-connections-per-address", "1"])
    first = Raw(server.address)
    try:
        first.still_open()
        second = Raw(server.address)
        try:
            code, request_id, _ = error_of(second.frame())
            assert (code, request_id) == (E.TOO_MANY_CONNECTIONS, 0)
            assert second.closed()
        finally:
            second.close()
        first.still_open()  # the first connection keeps working
    finally:
        first.close()


def test_timed_out_closes_a_silent_half_header(new_server):
    server = new_server(["--frame-timeout-seconds", "1"])
    # With authentication off a connection that has sent nothing is idle, not slow: it
    # outlives the frame timeout.
    quiet = Raw(server.address)
    try:
        time.sleep(2.5)
        quiet.still_open()
    finally:
        quiet.close()
    r = Raw(server.address)
    try:
        r.send(encode_request(Operation.STATUS, 7, b"", 0)[:20])  # half a header, then nothing
        code, request_id, _ = error_of(r.frame())
        assert (code, request_id) == (E.TIMED_OUT, 0)
        assert r.closed()
    finally:
        r.close()


def test_log_unavailable_then_writes_resume(new_server, binary, tmp_path):
    # First with no limit: the accounts and the log's first (preallocated) segment.
    server = new_server()
    with kamino.Client(server.address) as client:
        client.create_accounts([Account(id=1, ledger=1, code=1), Account(id=2, ledger=1, code=1)])
    server.stop()
    # Then writes beyond 1 MiB of any file refused (SIGXFSZ ignored: EFBIG).
    launcher = tmp_path / "kamino-fsize"
    launcher.write_text(f"#!/bin/sh\nulimit -S -f {(1 << 20) // 512} || exit 1\ntrap '' XFSZ\nexec {binary} \"$@\"\n")
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    server.binary = str(launcher)
    server.start()
    refused_ids: list[int] = []
    with kamino.Client(server.address, retry=kamino.NO_RETRY) as client:
        next_id = 1000
        deadline = time.monotonic() + 60
        while not refused_ids:
            assert time.monotonic() < deadline, "the log never filled up"
            batch = [Transfer(id=next_id + i, debit_account_id=1, credit_account_id=2, amount=1, ledger=1, code=1)
                     for i in range(1000)]
            try:
                client.create_transfers(batch)
            except kamino.LogUnavailable as e:
                assert e.code == E.LOG_UNAVAILABLE and "/" not in e.text  # never a path
                refused_ids = [t.id for t in batch]
            next_id += 1000
        # Reads keep answering.
        assert len(client.lookup_accounts([1, 2])) == 2
    # Space is back: the server resumes writing by itself, no restart.
    assert shutil.which("prlimit"), "util-linux prlimit is needed"
    subprocess.run(["prlimit", "--pid", str(server.process.pid), "--fsize=unlimited"], check=True)
    with kamino.Client(server.address, retry=kamino.NO_RETRY) as client:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_transfers(
                    [Transfer(id=9_000_000, debit_account_id=1, credit_account_id=2, amount=1, ledger=1, code=1)])
                break
            except kamino.LogUnavailable:
                assert time.monotonic() < deadline, "writes did not resume"
                time.sleep(0.1)
        # Nothing of the refused batch was applied.
        assert client.lookup_transfers(refused_ids) == []
