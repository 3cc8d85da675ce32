"""Framing of docs/protocol.md: the 48-byte header, request encoding, and a reader that
cuts the server's byte stream into checked frames.

    offset  0  magic "KMNO"        24  error_code u16
            4  version u16 (1)     26  reserved [6]u8
            6  operation u8        32  state_lsn u64 (replies only)
            7  kind u8             40  body_checksum u32 (CRC32C of the body)
            8  request_id u64      44  header_checksum u32 (CRC32C of bytes 0..43)
           16  body_size u32
           20  event_count u32
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from ._crc32c import crc32c

MAGIC = b"KMNO"
VERSION = 1
HEADER_SIZE = 48
MAX_MESSAGE = 1 << 20
MAX_BODY = MAX_MESSAGE - HEADER_SIZE  # 1,048,528
MAX_EVENTS = 8189
MAX_ERROR_TEXT = 1024
#: The longest token an `authenticate` request may carry (bytes).
MAX_TOKEN_BYTES = 16384

HEADER = struct.Struct("<4sHBBQIIH6sQII")
assert HEADER.size == HEADER_SIZE


class Kind(enum.IntEnum):
    """The header's `kind`."""

    REQUEST = 1
    REPLY = 2
    ERROR = 3


class Operation(enum.IntEnum):
    """The operations a client may call (header `operation`)."""

    LOOKUP_ACCOUNTS = 140
    LOOKUP_TRANSFERS = 141
    GET_ACCOUNT_TRANSFERS = 142
    GET_ACCOUNT_BALANCES = 143
    QUERY_ACCOUNTS = 144
    QUERY_TRANSFERS = 145
    CREATE_ACCOUNTS = 146
    CREATE_TRANSFERS = 147
    STATUS = 200
    PROMOTE = 201
    DIGEST = 202
    AUTHENTICATE = 203

    def __str__(self) -> str:
        return self.name.lower()

    @property
    def request_record_size(self) -> int:
        """Bytes per record of a request body (0: the body is empty)."""
        return _REQUEST_RECORD[self]

    @property
    def reply_record_size(self) -> int:
        """Bytes per record of a reply body (0: the body is JSON, `event_count` 0)."""
        return _REPLY_RECORD[self]

    @property
    def is_admin(self) -> bool:
        return self >= 200


_REQUEST_RECORD = {
    Operation.LOOKUP_ACCOUNTS: 16, Operation.LOOKUP_TRANSFERS: 16, Operation.GET_ACCOUNT_TRANSFERS: 128,
    Operation.GET_ACCOUNT_BALANCES: 128, Operation.QUERY_ACCOUNTS: 64, Operation.QUERY_TRANSFERS: 64,
    Operation.CREATE_ACCOUNTS: 128, Operation.CREATE_TRANSFERS: 128,
    Operation.STATUS: 0, Operation.PROMOTE: 0, Operation.DIGEST: 0, Operation.AUTHENTICATE: 0,
}
_REPLY_RECORD = {
    Operation.LOOKUP_ACCOUNTS: 128, Operation.LOOKUP_TRANSFERS: 128, Operation.GET_ACCOUNT_TRANSFERS: 128,
    Operation.GET_ACCOUNT_BALANCES: 128, Operation.QUERY_ACCOUNTS: 128, Operation.QUERY_TRANSFERS: 128,
    Operation.CREATE_ACCOUNTS: 16, Operation.CREATE_TRANSFERS: 16,
    Operation.STATUS: 0, Operation.PROMOTE: 0, Operation.DIGEST: 0, Operation.AUTHENTICATE: 0,
}

_ZERO6 = bytes(6)


def encode_header(operation: int, kind: int, request_id: int, body: bytes | bytearray | memoryview,
                  event_count: int, error_code: int = 0, state_lsn: int = 0, *,
                  version: int = VERSION, magic: bytes = MAGIC, reserved: bytes = _ZERO6,
                  body_checksum: int | None = None, header_checksum: int | None = None) -> bytes:
    """A 48-byte header for `body`. The keyword arguments exist to build damaged frames
    in tests; a client leaves them alone."""
    if body_checksum is None:
        body_checksum = crc32c(body) if len(body) else 0
    head = HEADER.pack(magic, version, operation, kind, request_id, len(body), event_count, error_code,
                       reserved, state_lsn, body_checksum, 0)
    if header_checksum is None:
        header_checksum = crc32c(head[:44])
    return head[:44] + struct.pack("<I", header_checksum)


def encode_request(operation: Operation, request_id: int, body: bytes, event_count: int) -> bytes:
    """A whole request frame: header then body."""
    return encode_header(operation, Kind.REQUEST, request_id, body, event_count) + body


@dataclass(slots=True)
class Frame:
    """One checked frame from the server: a reply (`kind` 2) or an error reply (3)."""

    operation: int
    kind: int
    request_id: int
    event_count: int
    error_code: int
    state_lsn: int
    body: bytes


class StreamError(Exception):
    """The server's stream cannot be read (a framing or header problem): the connection
    must be dropped. `name` is the protocol's name of the check that failed."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class FrameReader:
    """Cuts the server's stream into frames and checks them (docs/protocol.md, "How a
    receiver reads the stream", as a client: replies and error replies only)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by `data`; raises StreamError on a broken stream."""
        buf = self._buf
        buf += data
        frames = []
        pos = 0
        n = len(buf)
        while n - pos >= 4:
            if buf[pos:pos + 4] != MAGIC:
                raise StreamError("bad_magic", f"frame starts with {bytes(buf[pos:pos + 4])!r}")
            if n - pos >= 6:
                (version,) = struct.unpack_from("<H", buf, pos + 4)
                if version != VERSION:
                    raise StreamError("unsupported_version", f"version {version}")
            if n - pos < HEADER_SIZE:
                break
            (magic, version, operation, kind, request_id, body_size, event_count, error_code, reserved,
             state_lsn, body_checksum, header_checksum) = HEADER.unpack_from(buf, pos)
            if crc32c(memoryview(buf)[pos:pos + 44]) != header_checksum:
                raise StreamError("bad_header_checksum", "header checksum does not match")
            if body_size > MAX_BODY:
                raise StreamError("frame_too_large", f"body_size {body_size}")
            end = pos + HEADER_SIZE + body_size
            if n < end:
                break
            body = bytes(buf[pos + HEADER_SIZE:end])
            pos = end
            if kind not in (Kind.REPLY, Kind.ERROR):
                raise StreamError("invalid_header", f"kind {kind} from a server")
            if reserved != _ZERO6 or (kind != Kind.REPLY and state_lsn != 0):
                raise StreamError("invalid_header", "non-zero reserved bytes")
            if (kind == Kind.REPLY) == (error_code != 0):
                raise StreamError("invalid_header", f"error_code {error_code} in a kind {kind} frame")
            if (crc32c(body) if body else 0) != body_checksum:
                raise StreamError("bad_body_checksum", "body checksum does not match")
            frames.append(Frame(operation, kind, request_id, event_count, error_code, state_lsn, body))
        if pos:
            del buf[:pos]
        return frames

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame."""
        return len(self._buf)
