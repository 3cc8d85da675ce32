"""Every operation of docs/protocol.md through the blocking and the asyncio client,
against a real `kamino serve`."""

from __future__ import annotations

import asyncio
import threading

import pytest

import kamino
from kamino import (Account, AccountFilter, AccountFilterFlags, AccountFlags, CreateAccountStatus as AS,
                    CreateTransferStatus as TS, QueryFilter, QueryFilterFlags, Transfer, TransferFlags)

LEDGER = 700


@pytest.fixture(scope="module")
def client(server):
    with kamino.Client(server.address) as c:
        yield c


def accounts(client, n, flags=AccountFlags.NONE, **fields):
    ids = [kamino.id() for _ in range(n)]
    results = client.create_accounts([Account(id=i, ledger=LEDGER, code=10, flags=flags, **fields) for i in ids])
    assert [r.status for r in results] == [AS.CREATED] * n
    return ids


def transfer(debit, credit, amount, **fields):
    fields.setdefault("ledger", LEDGER)
    fields.setdefault("code", 10)
    return Transfer(id=fields.pop("id", None) or kamino.id(), debit_account_id=debit, credit_account_id=credit,
                    amount=amount, **fields)


def test_create_accounts_results_in_event_order(client):
    a = kamino.id()
    results = client.create_accounts([
        Account(id=a, ledger=LEDGER, code=10),
        Account(id=0, ledger=LEDGER, code=10),
        Account(id=kamino.id(), ledger=0, code=10),
        Account(id=a, ledger=LEDGER, code=10),
        Account(id=a, ledger=LEDGER, code=11),
        Account(id=kamino.id(), ledger=LEDGER, code=10, timestamp=5),
    ])
    assert [r.status for r in results] == [AS.CREATED, AS.ID_MUST_NOT_BE_ZERO, AS.LEDGER_MUST_NOT_BE_ZERO, AS.EXISTS,
                                           AS.EXISTS_WITH_DIFFERENT_CODE, AS.TIMESTAMP_MUST_BE_ZERO]
    assert results[3].timestamp == results[0].timestamp  # exists answers the record's timestamp
    assert client.create_accounts([]) == []


def test_create_transfers_and_lookups(client):
    a, b = accounts(client, 2)
    limited = accounts(client, 1, AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)[0]
    t1 = transfer(a, b, 100)
    results = client.create_transfers([
        t1,
        transfer(a, a, 1),
        transfer(a, b, 1, ledger=701),
        transfer(limited, b, 1),
        transfer(a, kamino.id(), 1),
    ])
    assert [r.status for r in results] == [TS.CREATED, TS.ACCOUNTS_MUST_BE_DIFFERENT,
                                           TS.TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS, TS.EXCEEDS_CREDITS,
                                           TS.CREDIT_ACCOUNT_NOT_FOUND]
    [found] = client.lookup_transfers([kamino.id(), t1.id])
    t1.timestamp = results[0].timestamp
    assert found == t1
    got = client.lookup_accounts([b, kamino.id(), a])
    assert [x.id for x in got] == [b, a]
    assert got[0].credits_posted == 100 and got[1].debits_posted == 100
    assert client.lookup_accounts([]) == [] and client.lookup_transfers([kamino.id()]) == []


def test_pending_post_void_and_linked_chains(client):
    a, b = accounts(client, 2)
    p1, p2 = transfer(a, b, 50, flags=TransferFlags.PENDING), transfer(a, b, 30, flags=TransferFlags.PENDING)
    assert [r.status for r in client.create_transfers([p1, p2])] == [TS.CREATED, TS.CREATED]
    results = client.create_transfers([
        transfer(a, b, 50, pending_id=p1.id, flags=TransferFlags.POST_PENDING_TRANSFER),
        transfer(a, b, 0, pending_id=p2.id, flags=TransferFlags.VOID_PENDING_TRANSFER),
        transfer(a, b, 0, pending_id=p2.id, flags=TransferFlags.VOID_PENDING_TRANSFER),
    ])
    assert [r.status for r in results] == [TS.CREATED, TS.CREATED, TS.PENDING_TRANSFER_ALREADY_VOIDED]
    [acct] = client.lookup_accounts([a])
    assert (acct.debits_pending, acct.debits_posted) == (0, 50)
    # A chain fails as a whole.
    chain = [transfer(a, b, 1, flags=TransferFlags.LINKED), transfer(a, a, 1)]
    assert [r.status for r in client.create_transfers(chain)] == [TS.LINKED_EVENT_FAILED,
                                                                  TS.ACCOUNTS_MUST_BE_DIFFERENT]
    assert client.lookup_transfers([chain[0].id]) == []
    open_chain = [transfer(a, b, 1, flags=TransferFlags.LINKED)]
    assert [r.status for r in client.create_transfers(open_chain)] == [TS.LINKED_EVENT_CHAIN_OPEN]


def test_get_account_transfers_and_balances(client):
    a, b, c = accounts(client, 3, AccountFlags.HISTORY)
    ts = [transfer(a, b, 1, user_data_64=7), transfer(b, a, 2), transfer(a, c, 3, code=20), transfer(c, a, 4)]
    assert all(r.status == TS.CREATED for r in client.create_transfers(ts))
    got = client.get_account_transfers(AccountFilter(account_id=a))
    assert [t.id for t in got] == [t.id for t in ts]
    debits = client.get_account_transfers(AccountFilter(account_id=a, flags=AccountFilterFlags.DEBITS))
    assert [t.amount for t in debits] == [1, 3]
    newest = client.get_account_transfers(AccountFilter(account_id=a, limit=2, flags=AccountFilterFlags.DEBITS
                                                        | AccountFilterFlags.CREDITS | AccountFilterFlags.REVERSED))
    assert [t.amount for t in newest] == [4, 3]
    assert [t.amount for t in client.get_account_transfers(AccountFilter(account_id=a, code=20))] == [3]
    assert [t.amount for t in client.get_account_transfers(AccountFilter(account_id=a, user_data_64=7))] == [1]
    # An invalid filter (zero limit, unknown account) answers nothing, not an error.
    assert client.get_account_transfers(AccountFilter(account_id=a, limit=0)) == []
    assert client.get_account_transfers(AccountFilter(account_id=kamino.id())) == []
    balances = client.get_account_balances(AccountFilter(account_id=a))
    assert [(x.debits_posted, x.credits_posted) for x in balances] == [(1, 0), (1, 2), (4, 2), (4, 6)]
    assert [x.timestamp for x in balances] == [t.timestamp for t in got]
    mid = client.get_account_balances(AccountFilter(account_id=a, timestamp_min=got[1].timestamp,
                                                    timestamp_max=got[2].timestamp))
    assert len(mid) == 2


def test_query_accounts_and_transfers(client):
    tag = kamino.id()
    a, b = accounts(client, 2, user_data_128=tag)
    other = accounts(client, 1, user_data_128=tag, user_data_32=5)[0]
    ts = [transfer(a, b, 5, user_data_128=tag), transfer(b, a, 6, user_data_128=tag)]
    client.create_transfers(ts)
    assert [x.id for x in client.query_accounts(QueryFilter(user_data_128=tag))] == [a, b, other]
    assert [x.id for x in client.query_accounts(QueryFilter(user_data_128=tag, user_data_32=5))] == [other]
    assert [x.id for x in client.query_accounts(QueryFilter(user_data_128=tag, limit=1,
                                                            flags=QueryFilterFlags.REVERSED))] == [other]
    assert [x.amount for x in client.query_transfers(QueryFilter(user_data_128=tag, ledger=LEDGER))] == [5, 6]
    assert client.query_transfers(QueryFilter(user_data_128=tag, ledger=LEDGER + 1)) == []


def test_status_digest_and_promote(client):
    status = client.status()
    assert status["role"] == "standalone" and status["epoch"] == 0 and status["followers"] == []
    assert status["durable_lsn"] >= 1 and status["commit_lsn"] <= status["last_lsn"]
    digest = client.digest()
    assert digest["lsn"] == client.status()["last_lsn"] and len(digest["digest"]) > 0
    assert client.highest_seen_lsn >= digest["lsn"]
    with pytest.raises(kamino.NotFollower) as e:
        client.promote()
    assert e.value.code == kamino.ErrorCode.NOT_FOLLOWER and str(e.value.code) == "not_follower"
    assert not e.value.may_have_executed


def test_highest_seen_lsn_follows_writes(client):
    before = client.highest_seen_lsn
    accounts(client, 1)
    assert client.highest_seen_lsn > before


def test_batch_limits(client):
    a, b = accounts(client, 2)
    full = [transfer(a, b, 1) for _ in range(kamino.MAX_EVENTS)]
    results = client.create_transfers(full)
    assert len(results) == 8189 and all(r.status == TS.CREATED for r in results)
    assert len(client.lookup_transfers([t.id for t in full])) == 8189
    with pytest.raises(kamino.InvalidArgument):
        client.create_transfers(full + [transfer(a, b, 1)])
    with pytest.raises(kamino.InvalidArgument):
        client.create_transfers([transfer(a, b, 1 << 128)])


def test_async_client_every_operation(server):
    async def main():
        async with kamino.AsyncClient(server.address) as c:
            a, b = kamino.id(), kamino.id()
            r = await c.create_accounts([Account(id=a, ledger=LEDGER, code=1, flags=AccountFlags.HISTORY),
                                         Account(id=b, ledger=LEDGER, code=1)])
            assert [x.status for x in r] == [AS.CREATED] * 2
            t = transfer(a, b, 9, code=1)
            assert [x.status for x in await c.create_transfers([t])] == [TS.CREATED]
            assert [x.id for x in await c.lookup_accounts([a, b])] == [a, b]
            assert [x.id for x in await c.lookup_transfers([t.id])] == [t.id]
            assert [x.id for x in await c.get_account_transfers(AccountFilter(account_id=b))] == [t.id]
            assert [x.debits_posted for x in await c.get_account_balances(AccountFilter(account_id=a))] == [9]
            assert len(await c.query_accounts(QueryFilter(ledger=LEDGER, code=1))) >= 2
            assert t.id in [x.id for x in await c.query_transfers(QueryFilter(ledger=LEDGER, code=1))]
            assert (await c.status())["role"] == "standalone"
            assert "digest" in await c.digest()
            with pytest.raises(kamino.NotFollower):
                await c.promote()
    asyncio.run(main())


def test_concurrent_calls_are_batched(server):
    async def main():
        async with kamino.AsyncClient(server.address) as c:
            a, b = kamino.id(), kamino.id()
            await c.create_accounts([Account(id=a, ledger=LEDGER, code=1), Account(id=b, ledger=LEDGER, code=1)])
            conn = c.connection
            sent = conn.requests_sent
            ts = [transfer(a, b, 1, code=1) for _ in range(2000)]
            ts[7] = transfer(a, a, 1, code=1)  # one caller's event fails: only that caller sees it
            results = await asyncio.gather(*(c.create_transfers([t]) for t in ts))
            assert [r[0].status for r in results] == [TS.ACCOUNTS_MUST_BE_DIFFERENT if i == 7 else TS.CREATED
                                                      for i in range(2000)]
            assert conn.requests_sent - sent <= 3, "2000 concurrent single-event calls share a few requests"
            sent = conn.requests_sent
            found = await asyncio.gather(*(c.lookup_transfers([t.id, kamino.id()]) for t in ts))
            assert [f[0].id for i, f in enumerate(found) if i != 7] == [t.id for i, t in enumerate(ts) if i != 7]
            assert found[7] == []
            assert conn.requests_sent - sent <= 3
    asyncio.run(main())


def test_threads_share_requests_through_the_blocking_client(server):
    with kamino.Client(server.address) as c:
        a, b = accounts(c, 2)
        errors: list[BaseException] = []
        statuses: list[TS] = []

        def worker():
            try:
                for _ in range(50):
                    statuses.extend(r.status for r in c.create_transfers([transfer(a, b, 1)]))
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and statuses == [TS.CREATED] * 400
        assert c.lookup_accounts([a])[0].debits_posted == 400
        conn = c.async_client.connection
        # Every event went out exactly once (no resend), in at most one request per call.
        assert conn.events_sent == 2 + 400 + 1 and conn.requests_sent <= 1 + 400 + 1


def test_linked_chain_ends_its_request(server):
    async def main():
        async with kamino.AsyncClient(server.address) as c:
            a, b = kamino.id(), kamino.id()
            await c.create_accounts([Account(id=a, ledger=LEDGER, code=1), Account(id=b, ledger=LEDGER, code=1)])
            # An open chain from one caller must not swallow the next caller's events.
            open_chain = c.create_transfers([transfer(a, b, 1, code=1, flags=TransferFlags.LINKED)])
            alone = c.create_transfers([transfer(a, b, 1, code=1)])
            r1, r2 = await asyncio.gather(open_chain, alone)
            assert [x.status for x in r1] == [TS.LINKED_EVENT_CHAIN_OPEN]
            assert [x.status for x in r2] == [TS.CREATED]
    asyncio.run(main())


def test_requests_are_pipelined_on_one_connection(server):
    async def main():
        async with kamino.AsyncClient(server.address) as c:
            a, b = kamino.id(), kamino.id()
            await c.create_accounts([Account(id=a, ledger=LEDGER, code=3), Account(id=b, ledger=LEDGER, code=3)])
            conn = c.connection
            # Three full batches queued at once leave together; queries each send their own.
            calls = [c.create_transfers([transfer(a, b, 1, code=3) for _ in range(8189)]) for _ in range(3)]
            queries = [c.query_accounts(QueryFilter(ledger=LEDGER, code=3, limit=k + 1)) for k in range(20)]
            results = await asyncio.gather(*calls, *queries)
            assert all(r.status == TS.CREATED for batch in results[:3] for r in batch)
            assert [len(r) for r in results[3:]] == [1] + [2] * 19
            assert c.connection is conn and conn.max_in_flight >= 20
            [acct] = await c.lookup_accounts([a])
            assert acct.debits_posted == 3 * 8189
    asyncio.run(main())
