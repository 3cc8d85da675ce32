"""The asyncio client: `AsyncClient`."""

from __future__ import annotations

import asyncio
import inspect
import json
import random
import ssl
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence, Union

from . import errors, types
from ._connection import Connection
from .types import (Account, AccountBalance, AccountFilter, AccountFlags, CreateAccountResult,
                    CreateTransferResult, QueryFilter, Transfer, TransferFlags)
from .wire import MAX_EVENTS, MAX_TOKEN_BYTES, Frame, Operation

#: A token: the JWT itself, or a callable returning one (or an awaitable of one), asked
#: again on every connect so that a refreshed token is used.
Token = Union[str, Callable[[], Union[str, Awaitable[str]]]]


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed request is resent: up to `max_attempts` attempts in all (1: never
    resend), waiting before retry n a delay drawn uniformly from [d/2, d] with
    d = min(max_backoff, initial_backoff * multiplier**(n-1)) seconds."""

    max_attempts: int = 5
    initial_backoff: float = 0.05
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def delay(self, retry: int) -> float:
        """The jittered delay in seconds before retry number `retry` (1-based)."""
        d = min(self.max_backoff, self.initial_backoff * self.multiplier ** max(0, retry - 1))
        return random.uniform(d / 2, d)


NO_RETRY = RetryPolicy(max_attempts=1)

_RETRYABLE = (errors.RequestTimeout, errors.ConnectionFailed, errors.Busy, errors.ShuttingDown,
              errors.NotPrimary, errors.ReplicationTimeout)


def _token_bytes(token: str) -> bytes:
    """The token as the body of `authenticate`: ASCII, at most 16,384 bytes."""
    try:
        body = token.encode("ascii")
    except UnicodeEncodeError:
        raise errors.InvalidArgument("the token is not ASCII (a JWT in compact form)") from None
    if len(body) > MAX_TOKEN_BYTES:
        raise errors.InvalidArgument(f"the token has {len(body)} bytes; at most {MAX_TOKEN_BYTES}")
    return body


def _parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise errors.InvalidArgument(f"address {address!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class _Call:
    """One caller's events in a batching lane."""

    __slots__ = ("count", "body", "linked", "ends_request", "alone", "keys", "future")

    def __init__(self, count: int, body: bytes, linked: bool, ends_request: bool, alone: bool,
                 keys: Sequence[int] | None, future: asyncio.Future) -> None:
        self.count = count
        self.body = body
        self.linked = linked
        self.ends_request = ends_request
        self.alone = alone
        self.keys = keys
        self.future = future


class _Lane:
    """Automatic batching for one operation (creates and lookups).

    Calls made while a request of the lane is in flight, or in the same event-loop
    iteration, queue; when nothing is in flight, the queue leaves as few requests as
    possible (each up to `max_events` events), sent together on the one connection
    (pipelined), and each caller gets exactly its own part of the reply. A caller's
    events are never split or reordered. A call ending with an open linked chain ends its
    request (the chain would otherwise swallow the next caller's events), and a call of
    imported events goes alone (a batch is all imported or none). A caller cancelled
    while queued is never sent.
    """

    def __init__(self, client: "AsyncClient", operation: Operation, split: Callable[[Frame, list[_Call]], list]):
        self.client = client
        self.operation = operation
        self.split = split
        self.queue: list[_Call] = []
        self.in_flight = 0
        self.scheduled = False

    async def submit(self, call: _Call) -> list:
        self.queue.append(call)
        if not self.scheduled and self.in_flight == 0:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        return await call.future

    def _flush(self) -> None:
        self.scheduled = False
        if self.in_flight:
            return
        limit = self.client.max_batch_events
        while self.queue:
            batch: list[_Call] = []
            count = 0
            while self.queue:
                call = self.queue[0]
                if call.future.done():  # cancelled while queued: never sent
                    self.queue.pop(0)
                    continue
                if batch and (call.alone or count + call.count > limit):
                    break
                batch.append(self.queue.pop(0))
                count += call.count
                if call.alone or call.ends_request:
                    break
            if not batch:
                break
            self.in_flight += 1
            asyncio.get_running_loop().create_task(self._run(batch, count))

    async def _run(self, batch: list[_Call], count: int) -> None:
        try:
            body = batch[0].body if len(batch) == 1 else b"".join(c.body for c in batch)
            linked = any(c.linked for c in batch)
            try:
                frame = await self.client._execute(self.operation, body, count, linked=linked)
                parts = self.split(frame, batch)
            except BaseException as e:  # noqa: BLE001 (handed to every caller)
                for c in batch:
                    if c.future.done():
                        continue
                    if isinstance(e, asyncio.CancelledError):
                        c.future.cancel()
                    else:
                        c.future.set_exception(e)
                if not isinstance(e, Exception):
                    raise
                return
            for c, part in zip(batch, parts):
                if not c.future.done():
                    c.future.set_result(part)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and self.queue:
                self._flush()


def _invalid(message: str) -> errors.InvalidBody:
    return errors.InvalidBody(errors.ErrorCode.INVALID_BODY, message)


def _records(frame: Frame, size: int, at_most: int) -> memoryview:
    """The reply's body, checked to hold `event_count` records of `size` bytes, at most
    `at_most` of them."""
    if frame.event_count * size != len(frame.body) or frame.event_count > at_most:
        raise _invalid(f"{str(Operation(frame.operation))} reply: {len(frame.body)} bytes for "
                       f"{frame.event_count} records of {size} bytes (at most {at_most})")
    return memoryview(frame.body)


def _split_results(decode: Callable[[memoryview], list]) -> Callable[[Frame, list[_Call]], list]:
    def split(frame: Frame, calls: list[_Call]) -> list:
        total = sum(c.count for c in calls)
        if frame.event_count != total:
            raise _invalid(f"{frame.event_count} results for {total} events")
        try:
            results = decode(_records(frame, 16, total))
        except ValueError as e:
            raise _invalid(str(e)) from None
        parts, at = [], 0
        for c in calls:
            parts.append(results[at:at + c.count])
            at += c.count
        return parts
    return split


def _split_lookup(decode: Callable[[memoryview], list]) -> Callable[[Frame, list[_Call]], list]:
    def split(frame: Frame, calls: list[_Call]) -> list:
        asked = sum(c.count for c in calls)
        found = {r.id: r for r in decode(_records(frame, 128, asked))}
        wanted = set()
        for c in calls:
            assert c.keys is not None, "lookups carry their ids"
            wanted.update(c.keys)
        if not wanted.issuperset(found):
            raise _invalid("a lookup reply holds a record that was not asked for")
        return [[found[i] for i in c.keys if i in found] for c in calls]  # type: ignore[union-attr]
    return split


class AsyncClient:
    """An asyncio client of a Kamino server (docs/protocol.md).

    ::

        async with kamino.AsyncClient("127.0.0.1:4410") as client:
            results = await client.create_transfers([kamino.Transfer(id=kamino.id(), ...)])

    **Batching and pipelining.** Concurrent `create_accounts`, `create_transfers`,
    `lookup_accounts` and `lookup_transfers` calls (tasks calling while a request of the
    same operation is in flight, or in the same loop iteration) are merged into one
    request of up to `max_batch_events` (8189) events; each caller gets exactly its own
    results. Every request shares one connection, with any number in flight, matched
    by request id.

    **Timeouts.** A request unanswered after `request_timeout` seconds fails with
    `RequestTimeout` (after the retries); the connection it was on takes no new request
    and the next attempt opens a new one. Connecting takes at most `connect_timeout`.

    **Retries and idempotency.** A failure is retried (up to `retry.max_attempts`, with
    exponential backoff and jitter; a reconnect included, so a restarted server is
    found again) when resending is safe:

    - `busy`, `shutting_down`, `not_primary` and a failed connect: the server guarantees
      nothing was executed, so any request is resent (after `not_primary` naming the
      primary, at once, to that primary).
    - A timeout, a connection lost while awaiting the reply, `replication_timeout`: the
      request may have been applied (`may_have_executed`). Reads are resent. Creates
      are idempotent by id: an event that was applied answers `exists` (with its
      original timestamp) to the resend, so outside linked chains treat `exists` like
      `created` after a retry. (An event that failed the first time may answer its
      failure again, or `id_already_failed` for a transfer id that failed before.)
    - **Linked chains are not resent after such a failure**: `exists` breaks a chain, so
      a resent chain that had been applied would answer `exists` for its first event
      and `linked_event_failed` for the others although all of them are committed. A
      create holding any `linked` event (with every other caller's events merged into
      its request) raises `OutcomeUnknown` instead: look the ids up and resend only the
      chains that are absent, under the same ids. `promote` is handled the same way (a
      second promote would answer `not_follower`).
    - `internal_error`, `batch_refused`, the malformed-request errors and unreadable
      replies are never retried.

    With several `addresses` (a replicated cluster), a failed connect tries the next
    one, and `not_primary` redirects writes to the primary the error names.

    **Authentication.** With `token` (a JWT string, or a callable returning one, called
    again on every connect), every connection's first request is `authenticate`; its
    answer is kept in `authentication`. A refused token raises `Unauthenticated` (its
    `reason`: `expired`, `bad_signature`, ...) and is not retried. A request answered
    `unauthenticated` on an authenticated connection (the token expired meanwhile) was
    not executed: it is resent on a new connection with the token asked again. Without
    a token, a server with authentication on answers `Unauthenticated`. `forbidden`,
    `rate_limited` (see `RateLimited.retry_after`) and `log_unavailable` are not
    retried.

    **TLS.** With `tls` (an `ssl.SSLContext`, for example from `kamino.tls_context`),
    every connection is TLS and verifies the server's certificate against the name in
    `server_hostname`, else the address's host. A failed handshake raises
    `ConnectionFailed` naming the reason (`CERTIFICATE_VERIFY_FAILED`, ...). With TLS 1.3
    a server that refuses this client's certificate (or its absence) says so only by
    closing the connection: the first request then fails with `ConnectionFailed`.
    """

    def __init__(self, addresses: str | Sequence[str] = "127.0.0.1:4410", *, request_timeout: float = 5.0,
                 connect_timeout: float = 2.0, retry: RetryPolicy = RetryPolicy(),
                 max_batch_events: int = MAX_EVENTS, token: Token | None = None,
                 tls: ssl.SSLContext | None = None, server_hostname: str | None = None) -> None:
        if isinstance(addresses, str):
            addresses = [addresses]
        if not addresses:
            raise errors.InvalidArgument("no server address")
        for a in addresses:
            _parse_address(a)
        if not 1 <= max_batch_events <= MAX_EVENTS:
            raise errors.InvalidArgument(f"max_batch_events must be 1 to {MAX_EVENTS}")
        if token is not None and not isinstance(token, str) and not callable(token):
            raise errors.InvalidArgument("token must be a string or a callable returning one")
        if isinstance(token, str):
            _token_bytes(token)
        if tls is not None and not isinstance(tls, ssl.SSLContext):
            raise errors.InvalidArgument("tls must be an ssl.SSLContext (see kamino.tls_context)")
        if server_hostname is not None and tls is None:
            raise errors.InvalidArgument("server_hostname is the name TLS verifies; pass tls too")
        self.tls = tls
        self.server_hostname = server_hostname
        self.token = token
        self._authentication: dict[str, Any] | None = None
        self.addresses = list(addresses)
        self.request_timeout = request_timeout
        self.connect_timeout = connect_timeout
        self.retry = retry
        self.max_batch_events = max_batch_events
        self._next_address = 0
        self._redirect: str | None = None
        self._conn: Connection | None = None
        self._connecting: asyncio.Future | None = None
        self._closed = False
        self._highest_lsn = 0
        self._lanes = {
            Operation.CREATE_ACCOUNTS: _Lane(self, Operation.CREATE_ACCOUNTS,
                                             _split_results(types.decode_account_results)),
            Operation.CREATE_TRANSFERS: _Lane(self, Operation.CREATE_TRANSFERS,
                                              _split_results(types.decode_transfer_results)),
            Operation.LOOKUP_ACCOUNTS: _Lane(self, Operation.LOOKUP_ACCOUNTS, _split_lookup(types.decode_accounts)),
            Operation.LOOKUP_TRANSFERS: _Lane(self, Operation.LOOKUP_TRANSFERS,
                                              _split_lookup(types.decode_transfers)),
        }

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the connection; calls in flight fail with `ConnectionFailed`, later calls
        with `ClientClosed`."""
        self._closed = True
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def highest_seen_lsn(self) -> int:
        """The highest `state_lsn` of every reply received: the newest ledger state this
        client has seen (its own writes included); 0 before any reply."""
        return self._highest_lsn

    @property
    def authentication(self) -> dict[str, Any] | None:
        """The server's answer to the last `authenticate` (`auth`, `subject`, `rights`,
        `ledgers`, `expires_at`), None before the first connect or without a token."""
        return self._authentication

    @property
    def connection(self) -> Connection | None:
        """The current connection, if any (its `max_in_flight` shows the pipelining)."""
        return self._conn

    # Ledger operations

    async def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        """Creates accounts; one result per account, in order. See the class docstring
        for retries (`exists` after a retry, `OutcomeUnknown` for linked chains)."""
        if not accounts:
            return []
        self._check_count(len(accounts))
        try:
            body = types.encode_accounts(accounts)
        except ValueError as e:
            raise errors.InvalidArgument(str(e)) from None
        linked = any(a.flags & AccountFlags.LINKED for a in accounts)
        call = _Call(len(accounts), body, linked, bool(accounts[-1].flags & AccountFlags.LINKED),
                     bool(accounts[0].flags & AccountFlags.IMPORTED), None, self._future())
        return await self._lanes[Operation.CREATE_ACCOUNTS].submit(call)

    async def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Creates transfers; one result per transfer, in order. See the class docstring
        for retries (`exists` after a retry, `OutcomeUnknown` for linked chains)."""
        if not transfers:
            return []
        self._check_count(len(transfers))
        try:
            body = types.encode_transfers(transfers)
        except ValueError as e:
            raise errors.InvalidArgument(str(e)) from None
        linked = any(t.flags & TransferFlags.LINKED for t in transfers)
        call = _Call(len(transfers), body, linked, bool(transfers[-1].flags & TransferFlags.LINKED),
                     bool(transfers[0].flags & TransferFlags.IMPORTED), None, self._future())
        return await self._lanes[Operation.CREATE_TRANSFERS].submit(call)

    async def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        """The accounts with these ids that exist, in the order of `ids`."""
        return await self._lookup(Operation.LOOKUP_ACCOUNTS, ids)

    async def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        """The transfers with these ids that exist, in the order of `ids`."""
        return await self._lookup(Operation.LOOKUP_TRANSFERS, ids)

    async def get_account_transfers(self, filter: AccountFilter) -> list[Transfer]:
        """The transfers of `filter.account_id` that match `filter` (an invalid filter
        answers nothing)."""
        body = self._encode(types.encode_account_filter, filter)
        frame = await self._execute(Operation.GET_ACCOUNT_TRANSFERS, body, 1)
        return types.decode_transfers(_records(frame, 128, MAX_EVENTS))

    async def get_account_balances(self, filter: AccountFilter) -> list[AccountBalance]:
        """The balance history (accounts with `history`) of `filter.account_id` that matches
        `filter`."""
        body = self._encode(types.encode_account_filter, filter)
        frame = await self._execute(Operation.GET_ACCOUNT_BALANCES, body, 1)
        try:
            return types.decode_balances(_records(frame, 128, MAX_EVENTS))
        except ValueError as e:
            raise _invalid(str(e)) from None

    async def query_accounts(self, filter: QueryFilter) -> list[Account]:
        """The accounts that match `filter`."""
        body = self._encode(types.encode_query_filter, filter)
        frame = await self._execute(Operation.QUERY_ACCOUNTS, body, 1)
        return types.decode_accounts(_records(frame, 128, MAX_EVENTS))

    async def query_transfers(self, filter: QueryFilter) -> list[Transfer]:
        """The transfers that match `filter`."""
        body = self._encode(types.encode_query_filter, filter)
        frame = await self._execute(Operation.QUERY_TRANSFERS, body, 1)
        return types.decode_transfers(_records(frame, 128, MAX_EVENTS))

    # Kamino's own operations

    async def status(self) -> dict[str, Any]:
        """The node's status (`role`, `epoch`, `last_lsn`, `durable_lsn`, `commit_lsn`,
        `primary`, `followers`, ...), as the JSON object it answers."""
        return await self._admin(Operation.STATUS)

    async def digest(self) -> dict[str, Any]:
        """`{"lsn": N, "digest": "HEX"}`: the state digest of the node's ledger now."""
        return await self._admin(Operation.DIGEST)

    async def promote(self) -> dict[str, Any]:
        """Makes a follower the primary of a new epoch (`{"role": "primary", "epoch": N}`);
        raises `NotFollower` on a node that is not a follower. Not resent once it may have
        been executed (`OutcomeUnknown`)."""
        return await self._admin(Operation.PROMOTE)

    # Internals

    def _future(self) -> asyncio.Future:
        return asyncio.get_running_loop().create_future()

    def _check_count(self, n: int) -> None:
        if n > self.max_batch_events:
            raise errors.InvalidArgument(f"{n} events; at most {self.max_batch_events} per call")

    @staticmethod
    def _encode(encode: Callable[[Any], bytes], value: Any) -> bytes:
        try:
            return encode(value)
        except ValueError as e:
            raise errors.InvalidArgument(str(e)) from None

    async def _lookup(self, operation: Operation, ids: Sequence[int]) -> list:
        if not ids:
            return []
        self._check_count(len(ids))
        ids = list(ids)
        body = self._encode(types.encode_ids, ids)
        call = _Call(len(ids), body, False, False, False, ids, self._future())
        return await self._lanes[operation].submit(call)

    async def _admin(self, operation: Operation) -> dict[str, Any]:
        frame = await self._execute(operation, b"", 0)
        if frame.event_count != 0:
            raise _invalid(f"{operation} reply with event_count {frame.event_count}")
        try:
            value = json.loads(frame.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise _invalid(f"{operation} reply is not UTF-8 JSON: {e}") from None
        if not isinstance(value, dict):
            raise _invalid(f"{operation} reply is not a JSON object")
        return value

    async def _execute(self, operation: Operation, body: bytes, count: int, *, linked: bool = False) -> Frame:
        """Sends one request, with the retries the class docstring describes."""
        attempt = 1
        while True:
            try:
                frame = await self._attempt(operation, body, count)
                if frame.state_lsn > self._highest_lsn:
                    self._highest_lsn = frame.state_lsn
                return frame
            except (*_RETRYABLE, errors.Unauthenticated) as e:
                if isinstance(e, errors.Unauthenticated) and (e.request_id == 0 or self.token is None):
                    raise  # the token itself was refused (or none given): resending cannot help
                if e.may_have_executed and (linked or operation == Operation.PROMOTE):
                    what = "a create with linked events" if linked else "promote"
                    raise errors.OutcomeUnknown(
                        f"{what} may have been applied ({e.message}); look its ids up before resending") from e
                if attempt >= self.retry.max_attempts or self._closed:
                    raise
                attempt += 1
                if isinstance(e, errors.NotPrimary):
                    if e.primary is not None and e.primary != self._current_address():
                        self._redirect_to(e.primary)
                        continue  # nothing was executed: resend at once
                    self._skip_address()
                await asyncio.sleep(self.retry.delay(attempt - 1))

    async def _attempt(self, operation: Operation, body: bytes, count: int) -> Frame:
        conn = await self._connection()
        await conn.writable()
        rid, future = conn.send(operation, body, count)
        try:
            return await asyncio.wait_for(future, self.request_timeout)
        except asyncio.TimeoutError:
            conn.timed_out(rid)
            if self._conn is conn:
                self._conn = None
            raise errors.RequestTimeout(f"no reply from {conn.address} to request {rid} ({operation}) within "
                                        f"{self.request_timeout} s", may_have_executed=True) from None
        except asyncio.CancelledError:
            conn.forget(rid)
            raise

    def _current_address(self) -> str:
        return self._redirect or self.addresses[self._next_address % len(self.addresses)]

    def _redirect_to(self, address: str) -> None:
        try:
            _parse_address(address)
        except errors.InvalidArgument:
            self._skip_address()
            return
        self._redirect = address
        if self._conn is not None:
            self._conn.retire()
            self._conn = None

    def _skip_address(self) -> None:
        self._redirect = None
        self._next_address += 1
        if self._conn is not None:
            self._conn.retire()
            self._conn = None

    async def _connection(self) -> Connection:
        if self._closed:
            raise errors.ClientClosed("the client is closed")
        conn = self._conn
        if conn is not None and conn.usable:
            return conn
        self._conn = None
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
        connecting = self._connecting
        try:
            return await asyncio.shield(connecting)
        finally:
            if connecting.done() and self._connecting is connecting:
                self._connecting = None

    async def _connect(self) -> Connection:
        address = self._current_address()
        host, port = _parse_address(address)
        loop = asyncio.get_running_loop()
        try:
            if self.tls is None:
                connecting = loop.create_connection(lambda: Connection(address), host, port)
            else:
                connecting = loop.create_connection(
                    lambda: Connection(address), host, port, ssl=self.tls,
                    server_hostname=self.server_hostname or host, ssl_handshake_timeout=self.connect_timeout)
            _, conn = await asyncio.wait_for(connecting, self.connect_timeout)
        except ssl.SSLError as e:
            self._skip_address()
            raise errors.ConnectionFailed(f"TLS handshake with {address} failed: {e}") from None
        except (OSError, asyncio.TimeoutError) as e:
            self._skip_address()
            raise errors.ConnectionFailed(f"cannot reach {address}: {e or 'connect timed out'}") from None
        if self._closed:
            conn.close()
            raise errors.ClientClosed("the client is closed")
        if self.token is not None:
            try:
                await self._authenticate(conn)
            except BaseException:
                conn.close()
                raise
        self._conn = conn
        return conn

    async def _authenticate(self, conn: Connection) -> None:
        """Sends `authenticate` with the token (asked again now) as the connection's first
        request. A refusal raises `Unauthenticated` with `request_id` 0 (so that it is not
        mistaken for an expiry during a request, and not retried)."""
        token = self.token
        assert token is not None
        if callable(token):
            value = token()
            if inspect.isawaitable(value):
                value = await value
            if not isinstance(value, str):
                raise errors.InvalidArgument(f"the token callable returned {type(value).__name__}, not str")
            token = value
        body = _token_bytes(token)
        rid, future = conn.send(Operation.AUTHENTICATE, body, 0)
        try:
            frame = await asyncio.wait_for(future, self.request_timeout)
        except asyncio.TimeoutError:
            conn.timed_out(rid)
            raise errors.RequestTimeout(f"no reply from {conn.address} to authenticate within "
                                        f"{self.request_timeout} s") from None
        except errors.Unauthenticated as e:
            raise errors.Unauthenticated(e.code, f"{e.text} (at {conn.address})") from None
        try:
            value = json.loads(frame.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise _invalid(f"authenticate reply is not UTF-8 JSON: {e}") from None
        if not isinstance(value, dict):
            raise _invalid("authenticate reply is not a JSON object")
        self._authentication = value
