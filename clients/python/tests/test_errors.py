"""The error replies of docs/protocol.md: malformed frames sent on raw sockets to a real
`kamino serve`, what the server answers and whether it keeps the connection, and the
typed exceptions the client raises for them."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

import kamino
from kamino import errors, types
from kamino.wire import HEADER_SIZE, MAX_BODY, FrameReader, Kind, Operation, encode_header, encode_request

E = kamino.ErrorCode


class Raw:
    """A raw connection: sends bytes, reads checked frames."""

    def __init__(self, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.reader = FrameReader()
        self.frames: list = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self):
        """The next frame (fails the test on EOF or after 10 s)."""
        while not self.frames:
            data = self.sock.recv(1 << 16)
            assert data, "the server closed the connection before answering"
            self.frames += self.reader.feed(data)
        return self.frames.pop(0)

    def closed(self) -> bool:
        """True when the server closes the connection (within 10 s) without sending more."""
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError:
            return True
        return data == b""

    def still_open(self) -> None:
        """Asserts the connection still works: a status request gets its reply."""
        self.send(encode_request(Operation.STATUS, 99, b"", 0))
        f = self.frame()
        assert (f.kind, f.request_id, f.operation) == (Kind.REPLY, 99, Operation.STATUS)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(server):
    r = Raw(server.address)
    yield r
    r.close()


def error_of(frame):
    assert frame.kind == Kind.ERROR and frame.event_count == 0 and len(frame.body) <= 1024
    return frame.error_code, frame.request_id, frame.operation


def status_frame(request_id: int = 5, **damage) -> bytes:
    return encode_header(Operation.STATUS, Kind.REQUEST, request_id, b"", 0, **damage)


def test_bad_magic_closes(raw):
    raw.send(b"GET / HTTP/1.1\r\nHost: kamino\r\n\r\n" + bytes(32))
    assert error_of(raw.frame()) == (E.BAD_MAGIC, 0, 0)
    assert raw.closed()


def test_unsupported_version_closes(raw):
    raw.send(status_frame(version=2))
    assert error_of(raw.frame())[:2] == (E.UNSUPPORTED_VERSION, 0)
    assert raw.closed()


def test_bad_header_checksum_closes(raw):
    raw.send(status_frame(header_checksum=0x12345678))
    assert error_of(raw.frame())[:2] == (E.BAD_HEADER_CHECKSUM, 0)
    assert raw.closed()


def test_frame_too_large_closes(raw):
    head = encode_header(Operation.CREATE_TRANSFERS, Kind.REQUEST, 7, b"", 8190, body_checksum=0)
    # Patch body_size to one byte over the limit and re-checksum the header.
    head = bytearray(head)
    struct.pack_into("<I", head, 16, MAX_BODY + 1)
    struct.pack_into("<I", head, 44, kamino._crc32c.crc32c(bytes(head[:44])))
    raw.send(bytes(head))
    assert error_of(raw.frame()) == (E.FRAME_TOO_LARGE, 7, Operation.CREATE_TRANSFERS)
    assert raw.closed()


def test_truncated_frame_closes(raw):
    body = types.encode_ids([1])
    raw.send(encode_request(Operation.LOOKUP_ACCOUNTS, 8, body, 1)[:HEADER_SIZE + 5])
    raw.sock.shutdown(socket.SHUT_WR)
    code, rid, op = error_of(raw.frame())
    assert (code, rid, op) == (E.TRUNCATED_FRAME, 0, 0)  # docs/protocol.md: 0 for codes 1 to 3 and 5
    assert raw.closed()


@pytest.mark.parametrize("damage", [
    dict(kind=Kind.REPLY),
    dict(kind=Kind.ERROR, error_code=12),
    dict(kind=9),
    dict(reserved=b"\x00\x00\x00\x01\x00\x00"),
    dict(state_lsn=1),
    dict(error_code=3),
])
def test_invalid_header_keeps_the_connection(raw, damage):
    kind = damage.pop("kind", Kind.REQUEST)
    raw.send(encode_header(Operation.STATUS, kind, 11, b"", 0, **damage))
    assert error_of(raw.frame()) == (E.INVALID_HEADER, 11, Operation.STATUS)
    raw.still_open()


def test_bad_body_checksum_keeps_the_connection_and_executes_nothing(raw, server):
    account = kamino.Account(id=kamino.id(), ledger=1, code=1)
    body = types.encode_accounts([account])
    head = encode_header(Operation.CREATE_ACCOUNTS, Kind.REQUEST, 12, body, 1, body_checksum=1)
    raw.send(head + body)
    assert error_of(raw.frame()) == (E.BAD_BODY_CHECKSUM, 12, Operation.CREATE_ACCOUNTS)
    raw.still_open()
    with kamino.Client(server.address) as c:
        assert c.lookup_accounts([account.id]) == []


@pytest.mark.parametrize("operation", [0, 128, 139, 148, 199, 204, 250, 251, 255])
def test_unknown_operation_keeps_the_connection(raw, operation):
    raw.send(encode_header(operation, Kind.REQUEST, 13, b"", 0))
    assert error_of(raw.frame()) == (E.UNKNOWN_OPERATION, 13, operation)
    raw.still_open()


@pytest.mark.parametrize("operation,body,count", [
    (Operation.CREATE_TRANSFERS, bytes(100), 1),  # not a whole record
    (Operation.CREATE_TRANSFERS, bytes(128), 2),  # event_count differs
    (Operation.LOOKUP_ACCOUNTS, bytes(16), 0),
    (Operation.QUERY_ACCOUNTS, b"", 0),  # queries take exactly one filter
    (Operation.QUERY_TRANSFERS, bytes(128), 2),
    (Operation.GET_ACCOUNT_TRANSFERS, bytes(64), 1),
    (Operation.STATUS, bytes(16), 1),  # admin requests are empty
])
def test_bad_body_size_keeps_the_connection(raw, operation, body, count):
    raw.send(encode_request(operation, 14, body, count))
    assert error_of(raw.frame()) == (E.BAD_BODY_SIZE, 14, operation)
    raw.still_open()


def test_too_many_events_keeps_the_connection(raw):
    raw.send(encode_request(Operation.LOOKUP_ACCOUNTS, 15, bytes(16 * 8190), 8190))
    assert error_of(raw.frame()) == (E.TOO_MANY_EVENTS, 15, Operation.LOOKUP_ACCOUNTS)
    raw.still_open()


def test_requests_before_lost_framing_are_answered(raw):
    raw.send(encode_request(Operation.STATUS, 21, b"", 0) + b"garbage!")
    # Replies may come in any order: here the error reply may overtake the status reply.
    frames = sorted([raw.frame(), raw.frame()], key=lambda f: f.kind)
    assert [(f.kind, f.request_id) for f in frames] == [(Kind.REPLY, 21), (Kind.ERROR, 0)]
    assert frames[1].error_code == E.BAD_MAGIC
    assert raw.closed()


def test_the_client_raises_typed_errors(server):
    async def main():
        async with kamino.AsyncClient(server.address, retry=kamino.NO_RETRY) as c:
            with pytest.raises(kamino.BadBodySize) as e:
                await c._execute(Operation.QUERY_ACCOUNTS, b"", 0)
            assert e.value.code == E.BAD_BODY_SIZE and not e.value.may_have_executed and e.value.request_id > 0
            with pytest.raises(kamino.UnknownOperation):
                await c._execute(128, b"", 0)  # type: ignore[arg-type]
            with pytest.raises(kamino.TooManyEvents):
                await c._execute(Operation.LOOKUP_ACCOUNTS, bytes(16 * 8190), 8190)
            # The connection survives them all.
            assert (await c.status())["role"] == "standalone"
            assert c.connection.requests_sent == 4
    asyncio.run(main())


def test_every_code_has_its_exception():
    names = {c: type(errors.protocol_error(c, "x", 1)).__name__ for c in E}
    assert names[E.BUSY] == "Busy" and names[E.NOT_PRIMARY] == "NotPrimary"
    for code, name in names.items():
        assert name.lower() == str(code).replace("_", ""), code
    unknown = errors.protocol_error(99, "from a newer server")
    assert type(unknown) is kamino.ProtocolError and unknown.code == 99
    assert errors.protocol_error(E.REPLICATION_TIMEOUT, "").may_have_executed
    assert not errors.protocol_error(E.BUSY, "").may_have_executed
    assert errors.protocol_error(E.NOT_PRIMARY, "10.0.0.5:4410\nthis node is a follower").primary == "10.0.0.5:4410"
    assert errors.protocol_error(E.NOT_PRIMARY, "\nno primary known").primary is None


def test_unreadable_reply_is_invalid_body():
    """The real server never sends an unknown status, so a scripted peer does: the client
    refuses the reply as `invalid_body` (docs/protocol.md) instead of guessing."""
    async def main():
        async def serve(reader, writer):
            head = await reader.readexactly(HEADER_SIZE)
            rid = struct.unpack_from("<Q", head, 8)[0]
            await reader.readexactly(struct.unpack_from("<I", head, 16)[0])
            body = struct.pack("<QII", 1, 18, 0)  # transfer status 18 is unused
            writer.write(encode_header(Operation.CREATE_TRANSFERS, Kind.REPLY, rid, body, 1) + body)
            await writer.drain()
        srv = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        try:
            async with kamino.AsyncClient(f"127.0.0.1:{port}") as c:
                with pytest.raises(kamino.InvalidBody) as e:
                    await c.create_transfers([kamino.Transfer(id=1, debit_account_id=1, credit_account_id=2)])
                assert e.value.code == E.INVALID_BODY and "18" in str(e.value)
        finally:
            srv.close()
    asyncio.run(main())


def test_busy_beyond_the_in_flight_limit_executes_nothing(raw, server):
    """3000 creates pipelined in one write exceed the server's in-flight limit (256 per
    connection): the excess is answered `busy` (same request id, connection kept) and
    not executed."""
    ids = [kamino.id() for _ in range(3000)]
    raw.send(b"".join(encode_request(Operation.CREATE_ACCOUNTS, i + 1,
                                     types.encode_accounts([kamino.Account(id=a, ledger=9, code=1)]), 1)
                      for i, a in enumerate(ids)))
    frames = [raw.frame() for _ in ids]
    busy = {f.request_id for f in frames if f.kind == Kind.ERROR}
    assert busy and all(error_of(f)[0] == E.BUSY for f in frames if f.kind == Kind.ERROR)
    assert sorted(f.request_id for f in frames) == list(range(1, 3001))
    raw.still_open()
    with kamino.Client(server.address) as c:
        found = {a.id for a in c.lookup_accounts(ids[:8189])}
    assert found == {a for i, a in enumerate(ids) if i + 1 not in busy}


def test_the_client_retries_busy(new_server):
    """Requests refused `busy` were not executed: the client resends them (with backoff)
    and every one succeeds; without retries the caller gets `kamino.Busy`. The server
    admits 8 requests per connection, so a fast server still refuses some of 1500."""
    server = new_server(["--max-requests-in-flight", "8"])

    async def flood(retry):
        async with kamino.AsyncClient(server.address, retry=retry) as c:
            bodies = [types.encode_accounts([kamino.Account(id=kamino.id(), ledger=9, code=1)]) for _ in range(1500)]
            return await asyncio.gather(*(c._execute(Operation.CREATE_ACCOUNTS, b, 1) for b in bodies),
                                        return_exceptions=True)
    refused = [r for r in asyncio.run(flood(kamino.NO_RETRY)) if isinstance(r, Exception)]
    assert refused and all(isinstance(e, kamino.Busy) and not e.may_have_executed for e in refused)
    patient = kamino.RetryPolicy(max_attempts=50, initial_backoff=0.01, max_backoff=0.1)
    results = asyncio.run(flood(patient))
    assert not [r for r in results if isinstance(r, Exception)]
    assert all(types.decode_account_results(f.body)[0].status == kamino.CreateAccountStatus.CREATED for f in results)
