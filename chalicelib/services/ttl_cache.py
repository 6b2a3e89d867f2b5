"""A small in-memory cache with a time limit, for platform records read on every AI call.

A Lambda container keeps its memory between invocations, so providers, models and system
settings are read from DynamoDB at most once per ``SYSTEM_CONFIG_CACHE_SECONDS``; a write
in the same container clears the cache at once, other containers catch up within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib import config

_MISSING = object()
_caches: list[TTLCache] = []


class TTLCache:
    def __init__(self, name: str) -> None:
        self.name = name
        self._items: dict[Any, tuple[float, Any]] = {}
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
                self._items[key] = (now + ttl, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def clear_all() -> None:
    """Forget every cached platform record (after a write, and between tests)."""
    for cache in _caches:
        cache.clear()
