"""A Python client for the Kamino ledger server (docs/protocol.md), standard library only.

``Client`` is blocking and thread-safe; ``AsyncClient`` is its asyncio twin. Both batch
concurrent calls, pipeline requests on one connection, time out, retry when it is safe,
and reconnect. ``id()`` makes time-ordered u128 ids.
"""

from .aio import NO_RETRY, AsyncClient, RetryPolicy, Token
from .errors import (BadBodyChecksum, BadBodySize, BadHeaderChecksum, BadMagic, BatchRefused, Busy,
                     ClientClosed, ConnectionFailed, ErrorCode, Forbidden, FrameTooLarge, InternalError,
                     InvalidArgument, InvalidBody, InvalidHeader, KaminoError, LogUnavailable, NotFollower,
                     NotPrimary, OutcomeUnknown, ProtocolError, RateLimited, ReplicationTimeout, RequestTimeout,
                     ShuttingDown, TimedOut, TooManyConnections, TooManyEvents, TruncatedFrame, Unauthenticated,
                     UnknownOperation, UnsupportedVersion)
from .ids import IdGenerator, id
from .sync import Client
from .tls import tls_context
from .types import (Account, AccountBalance, AccountFilter, AccountFilterFlags, AccountFlags,
                    CreateAccountResult, CreateAccountStatus, CreateTransferResult, CreateTransferStatus,
                    QueryFilter, QueryFilterFlags, Transfer, TransferFlags)
from .wire import MAX_EVENTS, Operation

__version__ = "0.1.0"

__all__ = [
    "Account", "AccountBalance", "AccountFilter", "AccountFilterFlags", "AccountFlags", "AsyncClient",
    "BadBodyChecksum", "BadBodySize", "BadHeaderChecksum", "BadMagic", "BatchRefused", "Busy", "Client",
    "ClientClosed", "ConnectionFailed", "Forbidden", "LogUnavailable", "RateLimited", "TimedOut", "Token",
    "TooManyConnections", "Unauthenticated", "CreateAccountResult", "CreateAccountStatus", "CreateTransferResult",
    "CreateTransferStatus", "ErrorCode", "FrameTooLarge", "IdGenerator", "InternalError", "InvalidArgument",
    "InvalidBody", "InvalidHeader", "KaminoError", "MAX_EVENTS", "NO_RETRY", "NotFollower", "NotPrimary",
    "Operation", "OutcomeUnknown", "ProtocolError", "QueryFilter", "QueryFilterFlags", "ReplicationTimeout",
    "RequestTimeout", "RetryPolicy", "ShuttingDown", "TooManyEvents", "Transfer", "TransferFlags",
    "TruncatedFrame", "UnknownOperation", "UnsupportedVersion", "id", "tls_context",
]
