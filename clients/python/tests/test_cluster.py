"""The replication error replies against a real primary and follower: `not_primary`
(and the client's redirect to the primary it names), `replication_timeout` (a sync
primary whose follower is paused), `status` of a follower, and `promote`."""

from __future__ import annotations

import time

import pytest

import kamino
from kamino import Account, CreateAccountStatus as AS, Transfer, TransferFlags


@pytest.fixture
def cluster(new_server):
    """A sync primary (300 ms sync timeout) and its follower, streaming."""
    primary = new_server(["--replication", "sync", "--replication-listen", "127.0.0.1:0", "--sync-timeout-ms", "300"])
    m = primary.wait_for(r"^replication on (\S+)$")
    follower = new_server(["--primary", m.group(1)], command="follow")
    with kamino.Client(primary.address) as c:
        deadline = time.monotonic() + 20
        while [f["state"] for f in c.status()["followers"]] != ["streaming"]:
            assert time.monotonic() < deadline, c.status()
            time.sleep(0.05)
    return primary, follower


def test_not_primary_names_the_primary_and_the_client_follows_it(cluster):
    primary, follower = cluster
    with kamino.Client(follower.address, retry=kamino.NO_RETRY) as c:
        status = c.status()
        assert status["role"] == "follower" and status["primary"] == primary.address
        with pytest.raises(kamino.NotPrimary) as e:
            c.create_accounts([Account(id=kamino.id(), ledger=1, code=1)])
        assert e.value.primary == primary.address and not e.value.may_have_executed
    # With retries, the write is resent at once to the named primary.
    with kamino.Client(follower.address) as c:
        a = kamino.id()
        assert [r.status for r in c.create_accounts([Account(id=a, ledger=1, code=1)])] == [AS.CREATED]
        assert c.async_client.connection.address == primary.address
    # The follower serves reads, which do not redirect.
    with kamino.Client(follower.address) as c:
        deadline = time.monotonic() + 10
        while not c.lookup_accounts([a]):
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_replication_timeout_and_linked_chains(cluster):
    primary, follower = cluster
    with kamino.Client(primary.address, retry=kamino.NO_RETRY) as c:
        a, b = kamino.id(), kamino.id()
        c.create_accounts([Account(id=a, ledger=1, code=1), Account(id=b, ledger=1, code=1)])
        follower.pause()
        try:
            with pytest.raises(kamino.ReplicationTimeout) as e:
                c.create_transfers([Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1,
                                             ledger=1, code=1)])
            assert e.value.code == kamino.ErrorCode.REPLICATION_TIMEOUT and e.value.may_have_executed
        finally:
            follower.resume()
    with kamino.Client(primary.address, retry=kamino.RetryPolicy(max_attempts=3)) as c:
        chain = [Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1, ledger=1, code=1,
                          flags=TransferFlags.LINKED),
                 Transfer(id=kamino.id(), debit_account_id=a, credit_account_id=b, amount=1, ledger=1, code=1)]
        follower.pause()
        try:
            with pytest.raises(kamino.OutcomeUnknown) as e:
                c.create_transfers(chain)
            assert isinstance(e.value.__cause__, kamino.ReplicationTimeout)
            assert c.async_client.connection.requests_sent == 1, "the chain was not resent"
        finally:
            follower.resume()
        # Durable on the primary: the chain is there, whole.
        assert len(c.lookup_transfers([t.id for t in chain])) == 2


def test_promote_a_follower(cluster):
    primary, follower = cluster
    with kamino.Client(follower.address, retry=kamino.NO_RETRY) as c:
        answer = c.promote()
        assert answer["role"] == "primary" and answer["epoch"] >= 1
        assert c.status()["role"] == "primary"
        with pytest.raises(kamino.NotFollower):
            c.promote()
