"""UUIDv7 identifiers: time-ordered, so new rows land at the end of indexes."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_millis = 0
_sequence = 0


def uuid7() -> uuid.UUID:
    """A RFC 9562 version 7 UUID, monotonic within this process (12-bit counter in rand_a)."""
    global _last_millis, _sequence
    with _lock:
        millis = time.time_ns() // 1_000_000
        if millis <= _last_millis:
            _sequence += 1
            if _sequence > 0xFFF:
                _last_millis += 1
                _sequence = 0
            millis = _last_millis
        else:
            _last_millis = millis
            _sequence = 0
        sequence = _sequence
    random_tail = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= sequence << 64
    value |= 0b10 << 62
    value |= random_tail
    return uuid.UUID(int=value)


def uuid7_floor(moment_millis: int) -> uuid.UUID:
    """The smallest UUIDv7 of a millisecond: ids below it were made earlier (range deletes without a join)."""
    return uuid.UUID(int=((moment_millis & ((1 << 48) - 1)) << 80) | (0x7 << 76) | (0b10 << 62))
