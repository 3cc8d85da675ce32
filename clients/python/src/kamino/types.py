"""The records of docs/protocol.md ("Records"): accounts, transfers, filters, balances
and create results, their flags and result codes, and their 128/64/16-byte layouts.

Every u128 is a Python int in [0, 2**128); every record is a dataclass whose fields are
named as in the protocol. Encoding a value out of its field's range raises
`ValueError` (`kamino.InvalidArgument`).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

_M64 = (1 << 64) - 1


class AccountFlags(enum.IntFlag):
    """`Account.flags` (bits 6-15 are reserved)."""

    NONE = 0
    LINKED = 1 << 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1 << 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 1 << 2
    HISTORY = 1 << 3
    IMPORTED = 1 << 4
    CLOSED = 1 << 5


class TransferFlags(enum.IntFlag):
    """`Transfer.flags` (bits 9-15 are reserved)."""

    NONE = 0
    LINKED = 1 << 0
    PENDING = 1 << 1
    POST_PENDING_TRANSFER = 1 << 2
    VOID_PENDING_TRANSFER = 1 << 3
    BALANCING_DEBIT = 1 << 4
    BALANCING_CREDIT = 1 << 5
    CLOSING_DEBIT = 1 << 6
    CLOSING_CREDIT = 1 << 7
    IMPORTED = 1 << 8


class AccountFilterFlags(enum.IntFlag):
    """`AccountFilter.flags`."""

    NONE = 0
    DEBITS = 1 << 0
    CREDITS = 1 << 1
    REVERSED = 1 << 2


class QueryFilterFlags(enum.IntFlag):
    """`QueryFilter.flags`."""

    NONE = 0
    REVERSED = 1 << 0


class _NamedStatus(enum.IntEnum):
    """An enum whose str() is the protocol's snake_case name (`exceeds_credits`)."""

    def __str__(self) -> str:
        return self.name.lower()


class CreateAccountStatus(_NamedStatus):
    """The status of one `create_accounts` event: the reference's result codes."""

    CREATED = 0xFFFFFFFF
    LINKED_EVENT_FAILED = 1
    LINKED_EVENT_CHAIN_OPEN = 2
    TIMESTAMP_MUST_BE_ZERO = 3
    RESERVED_FIELD = 4
    RESERVED_FLAG = 5
    ID_MUST_NOT_BE_ZERO = 6
    ID_MUST_NOT_BE_INT_MAX = 7
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = 8
    DEBITS_PENDING_MUST_BE_ZERO = 9
    DEBITS_POSTED_MUST_BE_ZERO = 10
    CREDITS_PENDING_MUST_BE_ZERO = 11
    CREDITS_POSTED_MUST_BE_ZERO = 12
    LEDGER_MUST_NOT_BE_ZERO = 13
    CODE_MUST_NOT_BE_ZERO = 14
    EXISTS_WITH_DIFFERENT_FLAGS = 15
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = 16
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = 17
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = 18
    EXISTS_WITH_DIFFERENT_LEDGER = 19
    EXISTS_WITH_DIFFERENT_CODE = 20
    EXISTS = 21
    IMPORTED_EVENT_EXPECTED = 22
    IMPORTED_EVENT_NOT_EXPECTED = 23
    IMPORTED_EVENT_TIMESTAMP_OUT_OF_RANGE = 24
    IMPORTED_EVENT_TIMESTAMP_MUST_NOT_ADVANCE = 25
    IMPORTED_EVENT_TIMESTAMP_MUST_NOT_REGRESS = 26


class CreateTransferStatus(_NamedStatus):
    """The status of one `create_transfers` event: the reference's result codes (18 is
    unused)."""

    CREATED = 0xFFFFFFFF
    LINKED_EVENT_FAILED = 1
    LINKED_EVENT_CHAIN_OPEN = 2
    TIMESTAMP_MUST_BE_ZERO = 3
    RESERVED_FLAG = 4
    ID_MUST_NOT_BE_ZERO = 5
    ID_MUST_NOT_BE_INT_MAX = 6
    FLAGS_ARE_MUTUALLY_EXCLUSIVE = 7
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = 8
    DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = 9
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO = 10
    CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX = 11
    ACCOUNTS_MUST_BE_DIFFERENT = 12
    PENDING_ID_MUST_BE_ZERO = 13
    PENDING_ID_MUST_NOT_BE_ZERO = 14
    PENDING_ID_MUST_NOT_BE_INT_MAX = 15
    PENDING_ID_MUST_BE_DIFFERENT = 16
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = 17
    LEDGER_MUST_NOT_BE_ZERO = 19
    CODE_MUST_NOT_BE_ZERO = 20
    DEBIT_ACCOUNT_NOT_FOUND = 21
    CREDIT_ACCOUNT_NOT_FOUND = 22
    ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER = 23
    TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS = 24
    PENDING_TRANSFER_NOT_FOUND = 25
    PENDING_TRANSFER_NOT_PENDING = 26
    PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID = 27
    PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID = 28
    PENDING_TRANSFER_HAS_DIFFERENT_LEDGER = 29
    PENDING_TRANSFER_HAS_DIFFERENT_CODE = 30
    EXCEEDS_PENDING_TRANSFER_AMOUNT = 31
    PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT = 32
    PENDING_TRANSFER_ALREADY_POSTED = 33
    PENDING_TRANSFER_ALREADY_VOIDED = 34
    PENDING_TRANSFER_EXPIRED = 35
    EXISTS_WITH_DIFFERENT_FLAGS = 36
    EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID = 37
    EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID = 38
    EXISTS_WITH_DIFFERENT_AMOUNT = 39
    EXISTS_WITH_DIFFERENT_PENDING_ID = 40
    EXISTS_WITH_DIFFERENT_USER_DATA_128 = 41
    EXISTS_WITH_DIFFERENT_USER_DATA_64 = 42
    EXISTS_WITH_DIFFERENT_USER_DATA_32 = 43
    EXISTS_WITH_DIFFERENT_TIMEOUT = 44
    EXISTS_WITH_DIFFERENT_CODE = 45
    EXISTS = 46
    OVERFLOWS_DEBITS_PENDING = 47
    OVERFLOWS_CREDITS_PENDING = 48
    OVERFLOWS_DEBITS_POSTED = 49
    OVERFLOWS_CREDITS_POSTED = 50
    OVERFLOWS_DEBITS = 51
    OVERFLOWS_CREDITS = 52
    OVERFLOWS_TIMEOUT = 53
    EXCEEDS_CREDITS = 54
    EXCEEDS_DEBITS = 55
    IMPORTED_EVENT_EXPECTED = 56
    IMPORTED_EVENT_NOT_EXPECTED = 57
    IMPORTED_EVENT_TIMESTAMP_OUT_OF_RANGE = 58
    IMPORTED_EVENT_TIMESTAMP_MUST_NOT_ADVANCE = 59
    IMPORTED_EVENT_TIMESTAMP_MUST_NOT_REGRESS = 60
    IMPORTED_EVENT_TIMESTAMP_MUST_POSTDATE_DEBIT_ACCOUNT = 61
    IMPORTED_EVENT_TIMESTAMP_MUST_POSTDATE_CREDIT_ACCOUNT = 62
    IMPORTED_EVENT_TIMEOUT_MUST_BE_ZERO = 63
    CLOSING_TRANSFER_MUST_BE_PENDING = 64
    DEBIT_ACCOUNT_ALREADY_CLOSED = 65
    CREDIT_ACCOUNT_ALREADY_CLOSED = 66
    EXISTS_WITH_DIFFERENT_LEDGER = 67
    ID_ALREADY_FAILED = 68


@dataclass(slots=True)
class Account:
    """An account (128 bytes). Balances and `timestamp` are set by the server."""

    id: int = 0
    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    reserved: int = 0
    ledger: int = 0
    code: int = 0
    flags: int = AccountFlags.NONE
    timestamp: int = 0


@dataclass(slots=True)
class Transfer:
    """A transfer (128 bytes); `timeout` is in seconds, `timestamp` set by the server."""

    id: int = 0
    debit_account_id: int = 0
    credit_account_id: int = 0
    amount: int = 0
    pending_id: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    timeout: int = 0
    ledger: int = 0
    code: int = 0
    flags: int = TransferFlags.NONE
    timestamp: int = 0


@dataclass(slots=True)
class AccountFilter:
    """The filter of `get_account_transfers` and `get_account_balances` (128 bytes).
    Zero fields match anything; timestamps are inclusive bounds (0: none)."""

    account_id: int = 0
    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    code: int = 0
    timestamp_min: int = 0
    timestamp_max: int = 0
    limit: int = 8189
    flags: int = AccountFilterFlags.DEBITS | AccountFilterFlags.CREDITS


@dataclass(slots=True)
class QueryFilter:
    """The filter of `query_accounts` and `query_transfers` (64 bytes). Zero fields match
    anything; timestamps are inclusive bounds (0: none)."""

    user_data_128: int = 0
    user_data_64: int = 0
    user_data_32: int = 0
    ledger: int = 0
    code: int = 0
    timestamp_min: int = 0
    timestamp_max: int = 0
    limit: int = 8189
    flags: int = QueryFilterFlags.NONE


@dataclass(slots=True, frozen=True)
class AccountBalance:
    """One entry of an account's balance history (reply of `get_account_balances`)."""

    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    timestamp: int


@dataclass(slots=True, frozen=True)
class CreateAccountResult:
    """The result of one `create_accounts` event. `timestamp` is the account's (for
    `created` and `exists`) or the event's time."""

    timestamp: int
    status: CreateAccountStatus


@dataclass(slots=True, frozen=True)
class CreateTransferResult:
    """The result of one `create_transfers` event. `timestamp` is the transfer's (for
    `created` and `exists`) or the event's time."""

    timestamp: int
    status: CreateTransferStatus


# Layouts. A u128 travels as two u64: low, then high.
ACCOUNT = struct.Struct("<QQQQQQQQQQQQQIIIHHQ")
TRANSFER = struct.Struct("<QQQQQQQQQQQQQIIIHHQ")
ID = struct.Struct("<QQ")
ACCOUNT_FILTER = struct.Struct("<QQQQQIH58xQQII")
QUERY_FILTER = struct.Struct("<QQQIIH6xQQII")
ACCOUNT_BALANCE = struct.Struct("<QQQQQQQQQ56s")
CREATE_RESULT = struct.Struct("<QII")
assert ACCOUNT.size == TRANSFER.size == ACCOUNT_FILTER.size == ACCOUNT_BALANCE.size == 128
assert QUERY_FILTER.size == 64 and CREATE_RESULT.size == 16 and ID.size == 16


def _split(v: int) -> tuple[int, int]:
    if not 0 <= v < 1 << 128:
        raise ValueError(f"{v} is not a u128")
    return v & _M64, v >> 64


def encode_accounts(accounts: Sequence[Account]) -> bytes:
    """The 128-byte layouts of `accounts`, concatenated."""
    out = bytearray(128 * len(accounts))
    pack = ACCOUNT.pack_into
    m = _M64
    try:
        for i, a in enumerate(accounts):
            pack(out, 128 * i,
                 a.id & m, a.id >> 64, a.debits_pending & m, a.debits_pending >> 64,
                 a.debits_posted & m, a.debits_posted >> 64, a.credits_pending & m, a.credits_pending >> 64,
                 a.credits_posted & m, a.credits_posted >> 64, a.user_data_128 & m, a.user_data_128 >> 64,
                 a.user_data_64, a.user_data_32, a.reserved, a.ledger, a.code, a.flags, a.timestamp)
    except struct.error as e:
        raise ValueError(f"account {i} has a field out of range: {e}") from None
    return bytes(out)


def encode_transfers(transfers: Sequence[Transfer]) -> bytes:
    """The 128-byte layouts of `transfers`, concatenated."""
    out = bytearray(128 * len(transfers))
    pack = TRANSFER.pack_into
    m = _M64
    try:
        for i, t in enumerate(transfers):
            pack(out, 128 * i,
                 t.id & m, t.id >> 64, t.debit_account_id & m, t.debit_account_id >> 64,
                 t.credit_account_id & m, t.credit_account_id >> 64, t.amount & m, t.amount >> 64,
                 t.pending_id & m, t.pending_id >> 64, t.user_data_128 & m, t.user_data_128 >> 64,
                 t.user_data_64, t.user_data_32, t.timeout, t.ledger, t.code, t.flags, t.timestamp)
    except struct.error as e:
        raise ValueError(f"transfer {i} has a field out of range: {e}") from None
    return bytes(out)


def encode_ids(ids: Sequence[int]) -> bytes:
    """The 16-byte layouts of `ids`, concatenated."""
    out = bytearray(16 * len(ids))
    pack = ID.pack_into
    try:
        for i, v in enumerate(ids):
            pack(out, 16 * i, v & _M64, v >> 64)
    except (struct.error, TypeError) as e:
        raise ValueError(f"id {i} is not a u128: {e}") from None
    return bytes(out)


def encode_account_filter(f: AccountFilter) -> bytes:
    """The 128-byte layout of `f`."""
    try:
        return ACCOUNT_FILTER.pack(*_split(f.account_id), *_split(f.user_data_128), f.user_data_64, f.user_data_32,
                                   f.code, f.timestamp_min, f.timestamp_max, f.limit, f.flags)
    except struct.error as e:
        raise ValueError(f"account filter has a field out of range: {e}") from None


def encode_query_filter(f: QueryFilter) -> bytes:
    """The 64-byte layout of `f`."""
    try:
        return QUERY_FILTER.pack(*_split(f.user_data_128), f.user_data_64, f.user_data_32, f.ledger, f.code,
                                 f.timestamp_min, f.timestamp_max, f.limit, f.flags)
    except struct.error as e:
        raise ValueError(f"query filter has a field out of range: {e}") from None


def decode_accounts(body: bytes | memoryview) -> list[Account]:
    """Accounts from their 128-byte layouts."""
    return [Account(a0 | a1 << 64, b0 | b1 << 64, c0 | c1 << 64, d0 | d1 << 64, e0 | e1 << 64, f0 | f1 << 64,
                    u64, u32, res, ledger, code, AccountFlags(flags), ts)
            for (a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1, u64, u32, res, ledger, code, flags, ts)
            in ACCOUNT.iter_unpack(body)]


def decode_transfers(body: bytes | memoryview) -> list[Transfer]:
    """Transfers from their 128-byte layouts."""
    return [Transfer(a0 | a1 << 64, b0 | b1 << 64, c0 | c1 << 64, d0 | d1 << 64, e0 | e1 << 64, f0 | f1 << 64,
                     u64, u32, timeout, ledger, code, TransferFlags(flags), ts)
            for (a0, a1, b0, b1, c0, c1, d0, d1, e0, e1, f0, f1, u64, u32, timeout, ledger, code, flags, ts)
            in TRANSFER.iter_unpack(body)]


def decode_balances(body: bytes | memoryview) -> list[AccountBalance]:
    """Account balances from their 128-byte layouts; ValueError on non-zero reserved bytes."""
    out = []
    for a0, a1, b0, b1, c0, c1, d0, d1, ts, reserved in ACCOUNT_BALANCE.iter_unpack(body):
        if any(reserved):
            raise ValueError("an account balance has non-zero reserved bytes")
        out.append(AccountBalance(a0 | a1 << 64, b0 | b1 << 64, c0 | c1 << 64, d0 | d1 << 64, ts))
    return out


def _decode_results(body: bytes | memoryview, status_type: type, result_type: type) -> list:
    out = []
    lookup = status_type._value2member_map_
    for ts, status, reserved in CREATE_RESULT.iter_unpack(body):
        s = lookup.get(status)
        if s is None:
            raise ValueError(f"unknown {status_type.__name__} {status} (a newer server?)")
        if reserved:
            raise ValueError("a create result has a non-zero reserved field")
        out.append(result_type(ts, s))
    return out


def decode_account_results(body: bytes | memoryview) -> list[CreateAccountResult]:
    """`create_accounts` results; ValueError on an unknown status or non-zero reserved bytes."""
    return _decode_results(body, CreateAccountStatus, CreateAccountResult)


def decode_transfer_results(body: bytes | memoryview) -> list[CreateTransferResult]:
    """`create_transfers` results; ValueError on an unknown status or non-zero reserved bytes."""
    return _decode_results(body, CreateTransferStatus, CreateTransferResult)


def ids_of(records: Iterable[Account | Transfer]) -> list[int]:
    """The ids of `records`."""
    return [r.id for r in records]
