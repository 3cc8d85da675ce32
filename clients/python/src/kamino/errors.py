"""The client's exceptions.

`ProtocolError` and its subclasses carry the codes of docs/protocol.md ("Error
replies"): one subclass per code (`Busy`, `BadBodyChecksum`, `NotPrimary`,
`Unauthenticated`, `Forbidden`, ...), raised
for the server's error replies and, for `InvalidBody`, for a reply this client cannot
read. The other exceptions are the client's own: `RequestTimeout`, `ConnectionFailed`,
`OutcomeUnknown`, `ClientClosed` and `InvalidArgument`.

Every exception has `may_have_executed`: True when the request had been written to the
server when it failed (a timeout, a connection lost while awaiting the reply,
`replication_timeout`, `internal_error`), so the server may have applied it.
"""

from __future__ import annotations

import enum
import re


class ErrorCode(enum.IntEnum):
    """The `error_code` of an error reply; str() gives the protocol's name (`busy`)."""

    BAD_MAGIC = 1
    UNSUPPORTED_VERSION = 2
    BAD_HEADER_CHECKSUM = 3
    FRAME_TOO_LARGE = 4
    TRUNCATED_FRAME = 5
    INVALID_HEADER = 6
    BAD_BODY_CHECKSUM = 7
    UNKNOWN_OPERATION = 8
    BAD_BODY_SIZE = 9
    TOO_MANY_EVENTS = 10
    INVALID_BODY = 11
    BUSY = 12
    SHUTTING_DOWN = 13
    INTERNAL_ERROR = 14
    BATCH_REFUSED = 15
    NOT_PRIMARY = 16
    REPLICATION_TIMEOUT = 17
    NOT_FOLLOWER = 18
    LOG_UNAVAILABLE = 19
    UNAUTHENTICATED = 20
    FORBIDDEN = 21
    RATE_LIMITED = 22
    TOO_MANY_CONNECTIONS = 23
    TIMED_OUT = 24

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def closes_connection(self) -> bool:
        """True for the codes after which the server closes the connection (framing lost,
        the server stopping, authentication refused, a connection cap or a timeout)."""
        return self in _CLOSING


_CLOSING = frozenset({ErrorCode.BAD_MAGIC, ErrorCode.UNSUPPORTED_VERSION, ErrorCode.BAD_HEADER_CHECKSUM,
                      ErrorCode.FRAME_TOO_LARGE, ErrorCode.TRUNCATED_FRAME, ErrorCode.SHUTTING_DOWN,
                      ErrorCode.UNAUTHENTICATED, ErrorCode.TOO_MANY_CONNECTIONS, ErrorCode.TIMED_OUT})


class KaminoError(Exception):
    """Base of every exception this client raises."""

    #: True when the request had been written when it failed: it may have been applied.
    may_have_executed: bool = False

    def __init__(self, message: str, *, may_have_executed: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.may_have_executed = may_have_executed


class ProtocolError(KaminoError):
    """An error of docs/protocol.md's table: `code` is an `ErrorCode` (or the raw int of a
    code this client does not know), `request_id` the id the error reply echoed (0 when
    it concerned the whole connection). Catch a subclass (`Busy`, ...) for one code."""

    code: ErrorCode | int

    def __init__(self, code: ErrorCode | int, message: str, *, request_id: int = 0,
                 may_have_executed: bool = False) -> None:
        name = str(code) if isinstance(code, ErrorCode) else f"error code {code}"
        super().__init__(f"{name}: {message}" if message else name, may_have_executed=may_have_executed)
        self.code = code
        self.text = message
        self.request_id = request_id


class BadMagic(ProtocolError):
    """1 `bad_magic`: the frame did not start with `KMNO`; the connection was closed."""


class UnsupportedVersion(ProtocolError):
    """2 `unsupported_version`: the frame's version is not 1; the connection was closed."""


class BadHeaderChecksum(ProtocolError):
    """3 `bad_header_checksum`; the connection was closed."""


class FrameTooLarge(ProtocolError):
    """4 `frame_too_large`: `body_size` above 1,048,528; the connection was closed."""


class TruncatedFrame(ProtocolError):
    """5 `truncated_frame`: the stream ended inside a frame; the connection was closed."""


class InvalidHeader(ProtocolError):
    """6 `invalid_header`: unknown or unexpected `kind`, non-zero reserved bytes or
    `error_code`."""


class BadBodyChecksum(ProtocolError):
    """7 `bad_body_checksum`."""


class UnknownOperation(ProtocolError):
    """8 `unknown_operation`."""


class BadBodySize(ProtocolError):
    """9 `bad_body_size`: not a whole number of records, a wrong `event_count`, or a
    query without exactly one filter."""


class TooManyEvents(ProtocolError):
    """10 `too_many_events`: more than 8189 events."""


class InvalidBody(ProtocolError):
    """11 `invalid_body`: raised by this client for a reply it cannot read (an unknown
    status, non-zero reserved bytes, a reply that does not answer its request); the
    connection is dropped."""


class Busy(ProtocolError):
    """12 `busy`: the server's queues are full; nothing was executed (retried)."""


class ShuttingDown(ProtocolError):
    """13 `shutting_down`: the server is stopping; nothing was executed (retried)."""


class InternalError(ProtocolError):
    """14 `internal_error`: the request's outcome is unknown (not retried)."""


class BatchRefused(ProtocolError):
    """15 `batch_refused`: the ledger refused the batch as a whole; nothing changed."""


class NotPrimary(ProtocolError):
    """16 `not_primary`: the node takes no writes; nothing was executed. `primary` is the
    primary's `HOST:PORT` named by the reply, or None."""

    @property
    def primary(self) -> str | None:
        first = self.text.split("\n", 1)[0].strip()
        return first or None


class ReplicationTimeout(ProtocolError):
    """17 `replication_timeout`: durable on the primary, unconfirmed by the sync quorum;
    outcome unknown (retried like a lost reply, except creates with linked events)."""


class NotFollower(ProtocolError):
    """18 `not_follower`: `promote` sent to a node that is not a follower."""


class LogUnavailable(ProtocolError):
    """19 `log_unavailable`: the server's log cannot be written (disk full, I/O error).
    Not retried by the client: a standalone server did not apply the write and takes
    writes again once the log can be written, but a replicated node fences itself and
    the write may have reached the next primary (`may_have_executed` is True). Resend
    later, with backoff, under the same ids (`exists` for what was applied)."""


class Unauthenticated(ProtocolError):
    """20 `unauthenticated`: authentication is on and the connection has no valid token
    (none was given, the server refused it: the text is `token refused: REASON`, or it
    expired during the connection). Nothing was executed; the connection was closed."""

    @property
    def reason(self) -> str | None:
        """The server's reason (`expired`, `bad_signature`, ...), or None."""
        m = re.match(r"token refused: (\w+)", self.text)
        return m.group(1) if m else None


class Forbidden(ProtocolError):
    """21 `forbidden`: the token lacks the right the operation needs, or the request
    touches a ledger outside the token's ledgers; nothing of it was applied (not
    retried)."""


class RateLimited(ProtocolError):
    """22 `rate_limited`: the token's request or event rate is exhausted; nothing was
    executed. Not retried by the client: `retry_after` is the wait the server named."""

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait before resending (from the text `retry in N ms`), or None."""
        m = re.search(r"retry in (\d+) ms", self.text)
        return int(m.group(1)) / 1000 if m else None


class TooManyConnections(ProtocolError):
    """23 `too_many_connections`: the server's or this address's connection cap is
    reached; the connection was closed."""


class TimedOut(ProtocolError):
    """24 `timed_out`: the connection sent no complete message within the server's
    frame timeout or stayed idle beyond its idle timeout; it was closed."""


_BY_CODE: dict[int, type[ProtocolError]] = {
    ErrorCode.BAD_MAGIC: BadMagic, ErrorCode.UNSUPPORTED_VERSION: UnsupportedVersion,
    ErrorCode.BAD_HEADER_CHECKSUM: BadHeaderChecksum, ErrorCode.FRAME_TOO_LARGE: FrameTooLarge,
    ErrorCode.TRUNCATED_FRAME: TruncatedFrame, ErrorCode.INVALID_HEADER: InvalidHeader,
    ErrorCode.BAD_BODY_CHECKSUM: BadBodyChecksum, ErrorCode.UNKNOWN_OPERATION: UnknownOperation,
    ErrorCode.BAD_BODY_SIZE: BadBodySize, ErrorCode.TOO_MANY_EVENTS: TooManyEvents,
    ErrorCode.INVALID_BODY: InvalidBody, ErrorCode.BUSY: Busy, ErrorCode.SHUTTING_DOWN: ShuttingDown,
    ErrorCode.INTERNAL_ERROR: InternalError, ErrorCode.BATCH_REFUSED: BatchRefused,
    ErrorCode.NOT_PRIMARY: NotPrimary, ErrorCode.REPLICATION_TIMEOUT: ReplicationTimeout,
    ErrorCode.NOT_FOLLOWER: NotFollower, ErrorCode.LOG_UNAVAILABLE: LogUnavailable,
    ErrorCode.UNAUTHENTICATED: Unauthenticated, ErrorCode.FORBIDDEN: Forbidden, ErrorCode.RATE_LIMITED: RateLimited,
    ErrorCode.TOO_MANY_CONNECTIONS: TooManyConnections, ErrorCode.TIMED_OUT: TimedOut,
}


def protocol_error(raw_code: int, text: str, request_id: int = 0) -> ProtocolError:
    """The exception for an error reply with `raw_code` (a plain `ProtocolError` for a code
    this client does not know). `replication_timeout`, `internal_error` and
    `log_unavailable` (on a replicated node) leave the outcome unknown, so they are
    marked `may_have_executed`."""
    try:
        code: ErrorCode | int = ErrorCode(raw_code)
    except ValueError:
        code = raw_code
    cls = _BY_CODE.get(raw_code, ProtocolError)
    unknown = code in (ErrorCode.REPLICATION_TIMEOUT, ErrorCode.INTERNAL_ERROR, ErrorCode.LOG_UNAVAILABLE)
    return cls(code, text, request_id=request_id, may_have_executed=unknown)


class RequestTimeout(KaminoError, TimeoutError):
    """No reply within the request timeout (after every retry). The request may have
    been applied."""


class ConnectionFailed(KaminoError, ConnectionError):
    """No server could be reached, or the connection was lost (after every retry)."""


class OutcomeUnknown(KaminoError):
    """A create containing `linked` events (or a `promote`) failed after it was written,
    so it was not resent: it may or may not have been applied. A resent chain that was
    applied would answer `exists` for its first event and `linked_event_failed` for the
    others, so look the ids up (`lookup_accounts` / `lookup_transfers`) and resend only
    the chains that are absent, under the same ids. `__cause__` is the last failure."""

    def __init__(self, message: str) -> None:
        super().__init__(message, may_have_executed=True)


class ClientClosed(KaminoError):
    """The client was closed."""


class InvalidArgument(KaminoError, ValueError):
    """The call itself is invalid (too many events, a field out of range); nothing was
    sent."""
