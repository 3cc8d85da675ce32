"""The client's encoding against docs/protocol.md: the worked example byte for byte, the
checksum, the record layouts and the id generator (no server needed)."""

from __future__ import annotations

import os
import re
import time

import pytest

import kamino
from conftest import REPO
from kamino import _crc32c, types, wire
from kamino.wire import FrameReader, Kind, Operation, StreamError, encode_header, encode_request


def doc_block(marker: str) -> bytes:
    """The bytes of the hex block after `<!-- marker -->` in docs/protocol.md."""
    text = (REPO / "docs" / "protocol.md").read_text()
    m = re.search(rf"<!-- {re.escape(marker)} -->\s*```text\n(.*?)```", text, re.S)
    assert m, f"docs/protocol.md has no {marker} block"
    return bytes.fromhex(m.group(1))


def test_crc32c_check_value_and_long_inputs():
    assert _crc32c.crc32c(b"123456789") == 0xE3069283
    assert _crc32c.crc32c(b"") == 0
    for n in [1, 44, 256, 257, 1000, 4096, 70_001, 8189 * 128]:
        data = os.urandom(n)
        assert _crc32c.crc32c(data) == _crc32c._crc_loop(data) ^ 0xFFFFFFFF, n


def test_worked_example_request_is_byte_exact():
    transfer = kamino.Transfer(id=1001, debit_account_id=1, credit_account_id=2, amount=10000, ledger=700, code=10)
    body = types.encode_transfers([transfer])
    assert encode_request(Operation.CREATE_TRANSFERS, 1, body, 1) == doc_block("worked-example:request")


def test_worked_example_reply_decodes():
    [frame] = FrameReader().feed(doc_block("worked-example:reply"))
    assert (frame.operation, frame.kind, frame.request_id, frame.event_count) == (147, Kind.REPLY, 1, 1)
    [result] = types.decode_transfer_results(frame.body)
    assert result == kamino.CreateTransferResult(1767225600000000000, kamino.CreateTransferStatus.CREATED)


def test_reader_handles_split_and_joined_frames():
    reply = doc_block("worked-example:reply")
    reader = FrameReader()
    stream = reply * 3
    frames = []
    for i in range(0, len(stream), 7):
        frames += reader.feed(stream[i:i + 7])
    assert len(frames) == 3 and reader.buffered == 0


@pytest.mark.parametrize("damage,name", [
    (lambda f: b"XMNO" + f[4:], "bad_magic"),
    (lambda f: f[:4] + b"\x02\x00" + f[6:], "unsupported_version"),
    (lambda f: f[:44] + bytes([f[44] ^ 1]) + f[45:], "bad_header_checksum"),
    (lambda f: f[:48] + bytes([f[48] ^ 1]) + f[49:], "bad_body_checksum"),
])
def test_reader_rejects_damaged_frames(damage, name):
    with pytest.raises(StreamError) as e:
        FrameReader().feed(damage(doc_block("worked-example:reply")))
    assert e.value.name == name


def test_reader_rejects_requests_and_reserved_bytes():
    with pytest.raises(StreamError, match="invalid_header"):
        FrameReader().feed(encode_request(Operation.STATUS, 1, b"", 0))
    frame = encode_header(Operation.STATUS, Kind.REPLY, 1, b"", 0, reserved=b"\x00\x01" + bytes(4))
    with pytest.raises(StreamError, match="invalid_header"):
        FrameReader().feed(frame)
    frame = encode_header(Operation.STATUS, Kind.ERROR, 1, b"", 0, error_code=0)
    with pytest.raises(StreamError, match="invalid_header"):
        FrameReader().feed(frame)


def test_records_round_trip_and_sizes():
    a = kamino.Account(id=(1 << 128) - 2, debits_pending=3, debits_posted=1 << 100, credits_pending=5,
                       credits_posted=6, user_data_128=7, user_data_64=8, user_data_32=9, ledger=10, code=11,
                       flags=kamino.AccountFlags.HISTORY | kamino.AccountFlags.LINKED, timestamp=12)
    assert types.decode_accounts(types.encode_accounts([a, a])) == [a, a]
    t = kamino.Transfer(id=1, debit_account_id=2, credit_account_id=3, amount=(1 << 128) - 1, pending_id=5,
                        user_data_128=6, user_data_64=7, user_data_32=8, timeout=9, ledger=10, code=11,
                        flags=kamino.TransferFlags.PENDING, timestamp=13)
    assert types.decode_transfers(types.encode_transfers([t])) == [t]
    f = types.encode_account_filter(kamino.AccountFilter(account_id=1 << 127, code=3, timestamp_min=4,
                                                         timestamp_max=5, limit=6, flags=7))
    assert len(f) == 128 and f[44:46] == b"\x03\x00" and f[46:104] == bytes(58) and f[120:124] == b"\x06\x00\x00\x00"
    q = types.encode_query_filter(kamino.QueryFilter(ledger=700, code=10, limit=1, flags=1))
    assert len(q) == 64 and q[28:32] == (700).to_bytes(4, "little") and q[34:40] == bytes(6)
    assert types.encode_ids([1 << 64]) == bytes(8) + b"\x01" + bytes(7)


def test_out_of_range_fields_are_value_errors():
    with pytest.raises(ValueError):
        types.encode_transfers([kamino.Transfer(id=1 << 128)])
    with pytest.raises(ValueError):
        types.encode_accounts([kamino.Account(id=-1)])
    with pytest.raises(ValueError):
        types.encode_ids([1 << 128])


def test_result_decoding_refuses_unknown_status_and_reserved():
    with pytest.raises(ValueError, match="unknown"):
        types.decode_transfer_results((0).to_bytes(8, "little") + (18).to_bytes(4, "little") + bytes(4))
    with pytest.raises(ValueError, match="reserved"):
        types.decode_account_results((0).to_bytes(8, "little") + (21).to_bytes(4, "little") + b"\x01" + bytes(3))


def test_names_are_the_protocols():
    assert str(kamino.CreateTransferStatus.EXCEEDS_CREDITS) == "exceeds_credits"
    assert str(kamino.ErrorCode.BAD_BODY_CHECKSUM) == "bad_body_checksum"
    assert kamino.CreateAccountStatus.EXISTS == 21 and kamino.CreateTransferStatus.ID_ALREADY_FAILED == 68
    assert wire.MAX_BODY == 1_048_528 and wire.HEADER_SIZE + 8189 * 128 <= wire.MAX_MESSAGE


def test_ids_are_time_ordered_and_monotonic():
    before = time.time_ns() // 1_000_000
    ids = [kamino.id() for _ in range(10_000)]
    after = time.time_ns() // 1_000_000
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(before <= i >> 80 <= after for i in (ids[0], ids[-1]))
    assert all(0 < i < 1 << 128 for i in ids)


def test_id_generator_survives_a_clock_going_back(monkeypatch):
    gen = kamino.IdGenerator()
    first = gen()
    monkeypatch.setattr(time, "time_ns", lambda: 1_000_000_000)  # 1970: the clock went back
    second = gen()
    assert second == first + 1
