"""A small in-memory cache with a time limit, for platform records read on every AI call.

A Lambda container keeps its memory between invocations, so providers, models and system
settings are read from DynamoDB at most once per ``SYSTEM_CONFIG_CACHE_SECONDS``; a write
in the same container clears the cache at once, other containers catch up within the TTL.

Some keys come from outside (a prompt type in a URL path, a secret's ciphertext that changes
on rotation), so a cache holds at most ``max_entries``: expired entries go first, then the
oldest. Every entry lives the same TTL, so insertion order is expiry order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib import config

_MISSING = object()
_caches: list[TTLCache] = []
DEFAULT_MAX_ENTRIES = 128


class TTLCache:
    def __init__(self, name: str, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("a cache holds at least one entry")
        self.name = name
        self.max_entries = max_entries
        self._items: dict[Any, tuple[float, Any]] = {}  # insertion order = expiry order
        self._lock = threading.Lock()
        _caches.append(self)

    def get_or_load(self, key: Any, load: Callable[[], Any]) -> Any:
        now = time.monotonic()
        with self._lock:
            expires, value = self._items.get(key, (0.0, _MISSING))
        if value is not _MISSING and now < expires:
            return value
        value = load()
        ttl = config.system_cache_seconds()
        if ttl > 0:
            with self._lock:
                self._items.pop(key, None)  # re-inserted last: its new expiry is the latest
                self._evict(now)
                self._items[key] = (now + ttl, value)
        return value

    def _evict(self, now: float) -> None:
        items = self._items
        while items:
            oldest = next(iter(items))
            if items[oldest][0] > now and len(items) < self.max_entries:
                return
            del items[oldest]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def clear_all() -> None:
    """Forget every cached platform record (after a write, and between tests)."""
    for cache in _caches:
        cache.clear()
