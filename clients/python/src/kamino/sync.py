"""The blocking client: `Client`, an `AsyncClient` on an event loop of its own thread."""

from __future__ import annotations

import asyncio
import ssl
import concurrent.futures
import threading
from typing import Any, Coroutine, Sequence, TypeVar

from . import errors
from .aio import AsyncClient, RetryPolicy, Token
from .types import (Account, AccountBalance, AccountFilter, CreateAccountResult, CreateTransferResult,
                    QueryFilter, Transfer)
from .wire import MAX_EVENTS

T = TypeVar("T")


class Client:
    """A blocking client of a Kamino server, safe to share between threads.

    ::

        with kamino.Client("127.0.0.1:4410") as client:
            results = client.create_transfers([kamino.Transfer(id=kamino.id(), ...)])

    It runs an `AsyncClient` on an event loop in a background thread, so everything the
    `AsyncClient` docstring says holds here too: calls made concurrently from several
    threads are batched into shared requests (up to 8189 events) and pipelined on one
    connection; timeouts, retries (safe under the idempotency rules: linked chains
    are not resent once they may have been applied, `OutcomeUnknown`), reconnects, and
    `token` (a JWT, or a callable returning one, called again on every connect, from
    the client's thread): `authenticate` first on every connection; `tls` (an
    `ssl.SSLContext`, see `kamino.tls_context`) and `server_hostname` for TLS.
    """

    def __init__(self, addresses: str | Sequence[str] = "127.0.0.1:4410", *, request_timeout: float = 5.0,
                 connect_timeout: float = 2.0, retry: RetryPolicy = RetryPolicy(),
                 max_batch_events: int = MAX_EVENTS, token: Token | None = None,
                 tls: ssl.SSLContext | None = None, server_hostname: str | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kamino-client", daemon=True)
        self._thread.start()
        self._closed = False

        async def make() -> AsyncClient:
            return AsyncClient(addresses, request_timeout=request_timeout, connect_timeout=connect_timeout,
                               retry=retry, max_batch_events=max_batch_events, token=token, tls=tls,
                               server_hostname=server_hostname)
        try:
            self._client: AsyncClient = self._run(make())
        except BaseException:
            self._stop_loop()
            raise

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a kamino.Client cannot be called from its own event loop; use AsyncClient")
        if self._closed:
            coro.close()
            raise errors.ClientClosed("the client is closed")
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()
        except (concurrent.futures.CancelledError, asyncio.CancelledError):
            raise errors.ClientClosed("the client was closed during the call") from None

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connection and stops the client's thread; calls still running in
        other threads (waiting for a reply or to retry) raise `ClientClosed`."""
        if self._closed:
            return
        try:
            self._run(self._shutdown())
        finally:
            self._closed = True
            self._stop_loop()

    async def _shutdown(self) -> None:
        await self._client.close()
        me = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not me]
        for t in others:
            t.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    @property
    def highest_seen_lsn(self) -> int:
        """The highest `state_lsn` of every reply received (see `AsyncClient`)."""
        return self._client.highest_seen_lsn

    @property
    def authentication(self) -> dict[str, Any] | None:
        """The server's answer to the last `authenticate` (see `AsyncClient`)."""
        return self._client.authentication

    @property
    def async_client(self) -> AsyncClient:
        """The `AsyncClient` underneath (runs on this client's own loop and thread)."""
        return self._client

    def create_accounts(self, accounts: Sequence[Account]) -> list[CreateAccountResult]:
        """Creates accounts; one result per account, in order (see `AsyncClient`)."""
        return self._run(self._client.create_accounts(accounts))

    def create_transfers(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Creates transfers; one result per transfer, in order (see `AsyncClient`)."""
        return self._run(self._client.create_transfers(transfers))

    def lookup_accounts(self, ids: Sequence[int]) -> list[Account]:
        """The accounts with these ids that exist, in the order of `ids`."""
        return self._run(self._client.lookup_accounts(ids))

    def lookup_transfers(self, ids: Sequence[int]) -> list[Transfer]:
        """The transfers with these ids that exist, in the order of `ids`."""
        return self._run(self._client.lookup_transfers(ids))

    def get_account_transfers(self, filter: AccountFilter) -> list[Transfer]:
        """The transfers of `filter.account_id` that match `filter`."""
        return self._run(self._client.get_account_transfers(filter))

    def get_account_balances(self, filter: AccountFilter) -> list[AccountBalance]:
        """The balance history of `filter.account_id` that matches `filter`."""
        return self._run(self._client.get_account_balances(filter))

    def query_accounts(self, filter: QueryFilter) -> list[Account]:
        """The accounts that match `filter`."""
        return self._run(self._client.query_accounts(filter))

    def query_transfers(self, filter: QueryFilter) -> list[Transfer]:
        """The transfers that match `filter`."""
        return self._run(self._client.query_transfers(filter))

    def status(self) -> dict[str, Any]:
        """The node's status, as the JSON object it answers."""
        return self._run(self._client.status())

    def digest(self) -> dict[str, Any]:
        """`{"lsn": N, "digest": "HEX"}`: the state digest of the node's ledger now."""
        return self._run(self._client.digest())

    def promote(self) -> dict[str, Any]:
        """Makes a follower the primary of a new epoch (raises `NotFollower` elsewhere)."""
        return self._run(self._client.promote())
