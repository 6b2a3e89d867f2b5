"""Lazy AWS clients (Chalice's pattern): created on first use, reused by a warm Lambda."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from chalicelib import config


@cache
def client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=config.region())


def reset() -> None:
    """Forget cached clients (tests and the local stack switch endpoints)."""
    client.cache_clear()
    queue_url.cache_clear()


@lru_cache(maxsize=64)
def queue_url(queue_name: str) -> str:
    return client("sqs").get_queue_url(QueueName=queue_name)["QueueUrl"]
