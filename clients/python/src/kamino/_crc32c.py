"""CRC32C (Castagnoli), the checksum of every Kamino frame (docs/protocol.md, "Checksums").

The standard library has no CRC32C, and a byte-at-a-time loop in Python takes about
0.2 s per MiB: a full 8189-event frame would spend more time in its checksum than on
the wire. So long inputs use the CRC's linearity instead, with Python's big integers
as bit vectors:

For a message M of n bytes, the register after processing M from 0 is the XOR, over
every set bit of M, of a 32-bit contribution that depends only on how many bits follow
that bit. Bit j of the CRC is therefore the parity of ``X & MASK[j]``, where X is M read
as one big-endian integer and MASK[j] holds, at each bit position, bit j of that
position's contribution. 32 ANDs and popcounts of n-byte integers run in C, about 40
times faster than the loop. The initial value's part is the register after n zero bytes
from 0xFFFFFFFF, cached per length.

The masks cover the longest message seen so far and grow by doubling (32 masks of the
message's size: 32 MiB for a 1 MiB frame). Short inputs use the table loop.
"""

from __future__ import annotations

import threading

_POLY = 0x82F63B78  # 0x1EDC6F41 reflected
_SHORT = 256  # inputs up to this many bytes use the table loop


def _step(r: int) -> int:
    """One bit step of the reflected CRC register with a zero input bit."""
    return (r >> 1) ^ _POLY if r & 1 else r >> 1


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = _step(c)
        table.append(c)
    return table


_TABLE = _make_table()


def _crc_loop(data: bytes | bytearray | memoryview, crc: int = 0xFFFFFFFF) -> int:
    """The register after `data` from `crc` (no final XOR), a byte at a time."""
    t = _TABLE
    for b in data:
        crc = t[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


def _apply(matrix: list[int], v: int) -> int:
    """A 32x32 GF(2) matrix (column l = image of bit l) applied to `v`."""
    out = 0
    l = 0
    while v:
        if v & 1:
            out ^= matrix[l]
        v >>= 1
        l += 1
    return out


def _compose(a: list[int], b: list[int]) -> list[int]:
    """The matrix of `a` after `b`."""
    return [_apply(a, col) for col in b]


def _shift_matrix(nbits: int) -> list[int]:
    """The matrix of `nbits` zero-input steps."""
    result = [1 << l for l in range(32)]
    base = [_step(1 << l) for l in range(32)]
    while nbits:
        if nbits & 1:
            result = _compose(base, result)
        base = _compose(base, base)
        nbits >>= 1
    return result


class _Masks:
    """The 32 bit masks, covering `nbytes` bytes, grown on demand (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # One byte: the bit at position b (of a big-endian byte) is data bit b, which is
        # followed by 7 - b more bits of its byte: contribution step^(8 - b)(1).
        contributions = [0] * 8
        r = 1
        for k in range(1, 9):
            r = _step(r)
            contributions[8 - k] = r  # step^k(1) belongs to bit b = 8 - k
        self.masks = [sum(((contributions[b] >> j) & 1) << b for b in range(8)) for j in range(32)]
        self.nbytes = 1
        self.zero_init: dict[int, int] = {}

    def grow(self, nbytes: int) -> list[int]:
        """Masks covering at least `nbytes` bytes."""
        with self.lock:
            while self.nbytes < nbytes:
                # The upper half's positions are followed by 8 * self.nbytes more bits.
                shift = _shift_matrix(8 * self.nbytes)
                nbits = 8 * self.nbytes
                low = self.masks
                high = []
                for j in range(32):
                    m = 0
                    for l in range(32):
                        if (shift[l] >> j) & 1:
                            m ^= low[l]
                    high.append(m)
                self.masks = [(high[j] << nbits) | low[j] for j in range(32)]
                self.nbytes *= 2
            return self.masks

    def init_part(self, nbytes: int) -> int:
        """The register after `nbytes` zero bytes from 0xFFFFFFFF."""
        v = self.zero_init.get(nbytes)
        if v is None:
            v = _apply(_shift_matrix(8 * nbytes), 0xFFFFFFFF)
            with self.lock:
                if len(self.zero_init) > 64:
                    self.zero_init.clear()
                self.zero_init[nbytes] = v
        return v


_masks = _Masks()


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC32C of `data` (check value: crc32c(b"123456789") == 0xE3069283)."""
    n = len(data)
    if n <= _SHORT:
        return _crc_loop(data) ^ 0xFFFFFFFF
    masks = _masks.grow(n)
    x = int.from_bytes(data, "big")
    reg = 0
    for j in range(32):
        reg |= ((x & masks[j]).bit_count() & 1) << j
    return reg ^ _masks.init_part(n) ^ 0xFFFFFFFF
