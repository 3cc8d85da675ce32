"""One TCP connection to a server, as an asyncio protocol: writes numbered requests,
reads frames, and matches replies to requests by id (pipelining: any number of
requests in flight, answered in any order)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from . import errors
from .wire import MAX_ERROR_TEXT, Frame, FrameReader, Kind, Operation, StreamError, encode_request


@dataclass(slots=True)
class _Pending:
    operation: int
    future: asyncio.Future


class Connection(asyncio.Protocol):
    """The client end of one connection.

    A reply or error reply completes its request's future. A reply this client cannot
    trust (a broken stream, an unknown request id, another operation) drops the
    connection. Requests in flight when the connection drops fail with
    `ConnectionFailed(may_have_executed=True)`. After a timeout the connection is
    *retired*: it takes no new request and closes once nothing is in flight (the server
    may be stopped or cut off, so the next attempt opens a new connection).
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self.transport: asyncio.Transport | None = None
        self.pending: dict[int, _Pending] = {}
        self.next_id = 1
        self.failure: errors.KaminoError | None = None
        self.retiring = False
        self._reader = FrameReader()
        self._writable = asyncio.Event()
        self._writable.set()
        #: The most requests this connection had in flight at once (for tests and stats).
        self.max_in_flight = 0
        #: Requests written on this connection, and the events they carried.
        self.requests_sent = 0
        self.events_sent = 0

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"the connection to {self.address} was lost" + (f": {exc}" if exc else "")
        self._fail_all(errors.ConnectionFailed(reason, may_have_executed=True))
        self._writable.set()

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        if self.failure is not None:
            return
        try:
            frames = self._reader.feed(data)
        except StreamError as e:
            self._drop(errors.InvalidBody(errors.ErrorCode.INVALID_BODY, f"unreadable reply stream ({e})",
                                          may_have_executed=True))
            return
        for frame in frames:
            self._handle(frame)
            if self.failure is not None:
                return

    # Use

    @property
    def usable(self) -> bool:
        """True while the connection takes new requests."""
        return self.failure is None and not self.retiring and self.transport is not None \
            and not self.transport.is_closing()

    async def writable(self) -> None:
        """Waits while the transport's write buffer is above its high-water mark."""
        await self._writable.wait()

    def send(self, operation: Operation, body: bytes, event_count: int) -> tuple[int, asyncio.Future]:
        """Writes one request; returns its id and the future of its reply `Frame`.
        Raises `ConnectionFailed` (nothing sent) if the connection takes no request."""
        if not self.usable:
            why = self.failure.message if self.failure else "it is retired or closing"
            raise errors.ConnectionFailed(f"the connection to {self.address} takes no request: {why}")
        assert self.transport is not None
        rid = self.next_id
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[rid] = _Pending(operation, future)
        self.requests_sent += 1
        self.events_sent += event_count
        if len(self.pending) > self.max_in_flight:
            self.max_in_flight = len(self.pending)
        self.transport.write(encode_request(operation, rid, body, event_count))
        return rid, future

    def timed_out(self, rid: int) -> None:
        """The request `rid` got no reply in time: forget it and retire the connection."""
        self.pending.pop(rid, None)
        self.retiring = True
        self._close_if_retired_and_idle()

    def forget(self, rid: int) -> None:
        """The caller of `rid` stopped waiting (cancelled): a late reply is ignored."""
        self.pending.pop(rid, None)
        self._close_if_retired_and_idle()

    def retire(self) -> None:
        """Take no new request; close once nothing is in flight."""
        self.retiring = True
        self._close_if_retired_and_idle()

    def close(self) -> None:
        """Closes now; requests in flight fail with `ConnectionFailed`."""
        self._drop(errors.ConnectionFailed(f"the connection to {self.address} was closed", may_have_executed=True))

    # Internals

    def _handle(self, frame: Frame) -> None:
        rid = frame.request_id
        if frame.kind == Kind.ERROR:
            text = frame.body[:MAX_ERROR_TEXT].decode("utf-8", "replace")
            error = errors.protocol_error(frame.error_code, text, rid)
            if rid == 0:
                # About the stream as a whole: the server lost the framing and closes.
                e = errors.ConnectionFailed(f"the server rejected the stream ({error})", may_have_executed=True)
                e.__cause__ = error
                self._drop(e)
                return
            p = self.pending.pop(rid, None)
            if p is None:
                if rid >= self.next_id:
                    self._drop(errors.InvalidBody(errors.ErrorCode.INVALID_BODY,
                                                  f"error reply to request {rid}, never sent", may_have_executed=True))
                return  # a late error reply to a request that timed out
            if not p.future.done():
                p.future.set_exception(error)
            if error.code in (errors.ErrorCode.SHUTTING_DOWN,):
                self.retiring = True  # the server closes it; take nothing new
            elif isinstance(error.code, errors.ErrorCode) and error.code.closes_connection:
                self._drop(errors.ConnectionFailed(f"the server closed the connection ({error})",
                                                   may_have_executed=True))
                return
            self._close_if_retired_and_idle()
            return
        p = self.pending.pop(rid, None)
        if p is None:
            if rid == 0 or rid >= self.next_id:
                self._drop(errors.InvalidBody(errors.ErrorCode.INVALID_BODY, f"reply to request {rid}, never sent",
                                              may_have_executed=True))
            return  # a late reply to a request that timed out or was cancelled
        if frame.operation != p.operation:
            e = errors.InvalidBody(errors.ErrorCode.INVALID_BODY,
                                   f"reply to request {rid} is for operation {frame.operation}, not {p.operation}",
                                   may_have_executed=True)
            if not p.future.done():
                p.future.set_exception(e)
            self._drop(e)
            return
        if not p.future.done():
            p.future.set_result(frame)
        self._close_if_retired_and_idle()

    def _close_if_retired_and_idle(self) -> None:
        if self.retiring and not self.pending and self.failure is None:
            self.failure = errors.ConnectionFailed(f"the connection to {self.address} is retired")
            if self.transport is not None:
                self.transport.close()

    def _drop(self, error: errors.KaminoError) -> None:
        self._fail_all(error)
        if self.transport is not None:
            self.transport.close()

    def _fail_all(self, error: errors.KaminoError) -> None:
        if self.failure is None:
            self.failure = error
        pending = list(self.pending.values())
        self.pending.clear()
        for p in pending:
            if not p.future.done():
                p.future.set_exception(error)
