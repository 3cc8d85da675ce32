"""Timeouts, retries and reconnects against a real `kamino serve` that is stopped,
restarted or paused (SIGSTOP) under the client."""

from __future__ import annotations

import threading
import time

import pytest

import kamino
from kamino import Account, CreateTransferStatus as TS, Transfer, TransferFlags

PATIENT = kamino.RetryPolicy(max_attempts=60, initial_backoff=0.05, max_backoff=0.25)


def pair(client):
    a, b = kamino.id(), kamino.id()
    client.create_accounts([Account(id=a, ledger=1, code=1), Account(id=b, ledger=1, code=1)])
    return a, b


def test_reconnects_after_a_server_restart(new_server):
    server = new_server()
    with kamino.Client(server.address, retry=PATIENT) as c:
        a, b = pair(c)
        first = c.async_client.connection
        assert server.stop() == 0
        server.start()  # same port, same data directory
        assert [x.id for x in c.lookup_accounts([a, b])] == [a, b]
        assert c.async_client.connection is not first
        [r] = c.create_transfers([Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1,
                                           ledger=1, code=1)])
        assert r.status == TS.CREATED


def test_a_call_made_while_the_server_is_down_succeeds_when_it_is_back(new_server):
    server = new_server()
    with kamino.Client(server.address, retry=PATIENT) as c:
        a, b = pair(c)
        server.kill()
        t = Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=7, ledger=1, code=1)
        outcome: list = []
        caller = threading.Thread(target=lambda: outcome.append(c.create_transfers([t])))
        caller.start()
        time.sleep(1.0)
        assert caller.is_alive(), "the call waits and retries while the server is down"
        server.start()
        caller.join(30)
        assert outcome and outcome[0][0].status == TS.CREATED
        assert c.lookup_accounts([a])[0].debits_posted == 7


def test_without_retries_a_dead_server_is_connection_failed(new_server):
    server = new_server()
    server.kill()
    with kamino.Client(server.address, retry=kamino.NO_RETRY, connect_timeout=1) as c:
        with pytest.raises(kamino.ConnectionFailed) as e:
            c.status()
        assert not e.value.may_have_executed


def test_timeout_then_the_next_call_uses_a_new_connection(new_server):
    server = new_server()
    with kamino.Client(server.address, retry=kamino.NO_RETRY, request_timeout=0.3) as c:
        c.status()
        first = c.async_client.connection
        server.pause()
        try:
            start = time.monotonic()
            with pytest.raises(kamino.RequestTimeout) as e:
                c.status()
            assert 0.25 < time.monotonic() - start < 5
            assert e.value.may_have_executed
        finally:
            server.resume()
        assert c.status()["role"] == "standalone"
        assert c.async_client.connection is not first


def test_a_create_whose_reply_was_lost_is_resent_and_applied_once(new_server):
    server = new_server()
    with kamino.Client(server.address, retry=PATIENT, request_timeout=0.3) as c:
        a, b = pair(c)
        t = Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=5, ledger=1, code=1)
        server.pause()
        threading.Timer(1.0, server.resume).start()
        [r] = c.create_transfers([t])  # times out, is resent, and succeeds after the resume
        # The first attempt may have been applied once the server resumed: then `exists`.
        assert r.status in (TS.CREATED, TS.EXISTS)
        assert c.lookup_accounts([a])[0].debits_posted == 5


def test_a_linked_chain_is_not_resent_once_it_may_have_executed(new_server):
    server = new_server()
    with kamino.Client(server.address, retry=PATIENT, request_timeout=0.3) as c:
        a, b = pair(c)
        chain = [Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1, ledger=1, code=1,
                          flags=TransferFlags.LINKED),
                 Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=2, ledger=1, code=1)]
        first = c.async_client.connection
        server.pause()
        try:
            with pytest.raises(kamino.OutcomeUnknown) as e:
                c.create_transfers(chain)
            assert e.value.may_have_executed and isinstance(e.value.__cause__, kamino.RequestTimeout)
            assert first.requests_sent == 2, "the accounts, then the chain once: it was not resent"
            assert c.async_client.connection is None
        finally:
            server.resume()
        # The resumed server may still apply the chain it received on the closed connection
        # (which is why the client could not resend it): all of it, or none.
        time.sleep(0.5)
        assert len(c.lookup_transfers([t.id for t in chain])) in (0, 2)


def test_a_linked_chain_is_resent_when_the_connect_failed(new_server):
    """A connect failure means nothing was sent: even a linked chain is retried."""
    server = new_server()
    with kamino.Client(server.address, retry=PATIENT) as c:
        a, b = pair(c)
        server.stop()
        # Once the client has seen the close; a chain written to a connection the server is
        # closing may have executed, and would rightly be OutcomeUnknown.
        deadline = time.monotonic() + 10
        while c.async_client.connection is not None and c.async_client.connection.usable:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        chain = [Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1, ledger=1, code=1,
                          flags=TransferFlags.LINKED),
                 Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=2, ledger=1, code=1)]
        outcome: list = []
        caller = threading.Thread(target=lambda: outcome.append(c.create_transfers(chain)))
        caller.start()
        time.sleep(0.5)
        server.start()
        caller.join(30)
        assert outcome and [r.status for r in outcome[0]] == [TS.CREATED, TS.CREATED]


def test_closing_the_blocking_client_ends_calls_in_other_threads(new_server):
    server = new_server()
    c = kamino.Client(server.address, retry=PATIENT)
    c.status()
    server.kill()
    outcome: list = []

    def call():
        try:
            c.status()
        except kamino.KaminoError as e:
            outcome.append(e)
    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.5)
    assert caller.is_alive(), "the call is retrying"
    c.close()
    caller.join(5)
    assert not caller.is_alive() and len(outcome) == 1
    assert isinstance(outcome[0], (kamino.ClientClosed, kamino.ConnectionFailed))
    with pytest.raises(kamino.ClientClosed):
        c.status()
