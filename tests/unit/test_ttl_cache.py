"""The platform-record cache: served within its TTL, and never more than its bound of entries."""

from __future__ import annotations

import pytest

from chalicelib.services import ttl_cache
from chalicelib.services.ttl_cache import TTLCache


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(ttl_cache.time, "monotonic", lambda: now[0])
    monkeypatch.setenv("SYSTEM_CONFIG_CACHE_SECONDS", "30")
    return now


def test_a_value_is_loaded_once_within_the_ttl_and_again_after(clock: list[float]) -> None:
    cache, loads = TTLCache("test"), []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.get_or_load("k", load) == 1
    clock[0] += 29
    assert cache.get_or_load("k", load) == 1
    clock[0] += 2
    assert cache.get_or_load("k", load) == 2


def test_keys_from_outside_never_hold_more_than_the_bound(clock: list[float]) -> None:
    """A prompt type in a URL path is a key: a client sending new ones cannot grow the cache."""
    cache = TTLCache("test", max_entries=8)
    for n in range(1000):
        cache.get_or_load(f"no-such-type-{n}", lambda: None)
        clock[0] += 0.001
    assert len(cache) == 8
    loads = []
    assert cache.get_or_load("no-such-type-999", lambda: loads.append(1)) is None
    assert loads == [], "the newest keys are the ones kept"


def test_expired_entries_are_dropped_before_live_ones(clock: list[float]) -> None:
    cache = TTLCache("test", max_entries=3)
    cache.get_or_load("old", lambda: "a")
    clock[0] += 31
    cache.get_or_load("new", lambda: "b")
    assert len(cache) == 1
    cache.get_or_load("newer", lambda: "c")
    cache.get_or_load("newest", lambda: "d")
    assert len(cache) == 3
    assert cache.get_or_load("new", lambda: "reloaded") == "b"


def test_a_zero_ttl_keeps_nothing(clock: list[float], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYSTEM_CONFIG_CACHE_SECONDS", "0")
    cache = TTLCache("test")
    cache.get_or_load("k", lambda: 1)
    assert len(cache) == 0
