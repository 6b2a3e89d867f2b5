"""Shards of a global index: a schedule reads ``SHARDS`` partitions of it, never one hot one."""

from __future__ import annotations

import hashlib

SHARDS = 4


def shard(value: str, prefix: str) -> str:
    """A stable shard of ``value`` (an account or site id): ``<prefix>#<0..SHARDS-1>``."""
    return f"{prefix}#{hashlib.sha256(value.encode()).digest()[0] % SHARDS}"


def shard_keys(prefix: str) -> list[str]:
    """Every shard of ``prefix``: what a schedule's tick queries, one by one."""
    return [f"{prefix}#{n}" for n in range(SHARDS)]
