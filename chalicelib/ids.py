"""Time-sortable ids (UUIDv7), so that "newest first" is plain key order."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def new_id() -> str:
    """A UUIDv7 string; ids made later in the same process always sort after earlier ones."""
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            # Same millisecond (or a clock step back): bump a 12-bit counter so that
            # order within the process is still strict.
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _seq = 0
        seq = _seq
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))


def is_id(value: str) -> bool:
    try:
        return uuid.UUID(value).version == 7 and str(uuid.UUID(value)) == value
    except (ValueError, AttributeError, TypeError):
        return False


def derived_id(parent_id: str, *parts: str) -> str:
    """A UUIDv7-shaped id that is a pure function of a parent id and some parts.

    It keeps the parent's timestamp (so it sorts with the parent's time) and fills the rest
    from a hash of the parts: a retried stage that creates "the same" record gets the same
    id, and a conditional put turns the second creation into a no-op.
    """
    import hashlib

    parent = uuid.UUID(parent_id).int
    ms = parent >> 80
    digest = int.from_bytes(hashlib.sha256("\x1f".join((parent_id, *parts)).encode()).digest()[:10], "big")
    seq = digest >> 68 & 0xFFF
    rand = digest & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | seq << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))
