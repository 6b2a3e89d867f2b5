"""UTC time helpers; one place to read the clock so tests and the demo can move it."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

_offset_seconds = 0.0
# The local stack's processes (API, workers, clock) share one moved clock through a file named
# by LOCAL_CLOCK_FILE (`make demo` advances it to reach a scheduled run without waiting for it).
# Never set in the cloud: there the file would not exist and the offset would be 0 anyway.
_shared: tuple[float, float] = (-1.0, 0.0)  # (read at, monotonic; offset)
_SHARED_TTL = 0.2


def _shared_offset() -> float:
    global _shared
    path = os.environ.get("LOCAL_CLOCK_FILE")
    if not path:
        return 0.0
    now = time.monotonic()
    if 0 <= now - _shared[0] < _SHARED_TTL:
        return _shared[1]
    try:
        with open(path, encoding="utf-8") as handle:
            value = float(handle.read().strip() or 0)
    except (OSError, ValueError):
        value = 0.0
    _shared = (now, value)
    return value


def utcnow() -> datetime:
    now = datetime.now(UTC)
    offset = _offset_seconds + _shared_offset()
    if offset:
        now += timedelta(seconds=offset)
    return now


def advance(seconds: float) -> None:
    """Move the product's clock forward (the demo and tests use it, never production code)."""
    global _offset_seconds
    _offset_seconds += seconds


def advance_shared(path: str, seconds: float) -> float:
    """Move the clock of every local-stack process reading ``path`` forward; returns the new offset."""
    try:
        with open(path, encoding="utf-8") as handle:
            current = float(handle.read().strip() or 0)
    except (OSError, ValueError):
        current = 0.0
    value = current + seconds
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(repr(value))
    os.replace(tmp, path)  # atomic: a reader never sees half a number
    return value


def reset() -> None:
    global _offset_seconds
    _offset_seconds = 0.0


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z") if dt else None
