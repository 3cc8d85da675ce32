"""Time-ordered u128 ids with TigerBeetle's layout: the high 48 bits are the Unix time in
milliseconds, the low 80 bits random. Ids from one process are strictly increasing:
within one millisecond (or if the clock goes back) the previous id's random part is
incremented instead of drawn again, so they sort in creation order, which keeps the
server's indexes append-friendly.
"""

from __future__ import annotations

import os
import threading
import time

_RANDOM_BITS = 80
_RANDOM_MASK = (1 << _RANDOM_BITS) - 1
_TIME_MASK = (1 << 48) - 1


class IdGenerator:
    """Monotonic ids (thread-safe). `id()` is the process-wide instance's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_random = 0

    def __call__(self) -> int:
        """The next id: greater than every id this generator returned before."""
        ms = time.time_ns() // 1_000_000 & _TIME_MASK
        with self._lock:
            if ms <= self._last_ms:
                ms = self._last_ms
                random = self._last_random + 1
                if random > _RANDOM_MASK:
                    # 2**80 ids in one millisecond cannot happen; move to the next one.
                    ms += 1
                    random = int.from_bytes(os.urandom(10), "little")
            else:
                random = int.from_bytes(os.urandom(10), "little")
            assert ms > self._last_ms or random > self._last_random, "ids are strictly increasing"
            self._last_ms = ms
            self._last_random = random
        return ms << _RANDOM_BITS | random


_default = IdGenerator()


def id() -> int:  # noqa: A001 (the reference clients call it id())
    """A new time-ordered u128 id (48-bit ms timestamp, 80 random bits), monotonic within
    this process."""
    return _default()
