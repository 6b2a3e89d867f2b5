"""Settings read from the environment, in one place.

Everything that differs between the local stack, the tests and the cloud is an
environment variable; code never reads ``os.environ`` anywhere else.
"""

from __future__ import annotations

import os
from functools import lru_cache


class ConfigError(RuntimeError):
    """A required setting is missing; the message says which and how to set it."""


def stage() -> str:
    return os.environ.get("APP_STAGE", "dev")


def resource_prefix() -> str:
    """Prefix of every table, queue and bucket name, e.g. ``seo-dev``."""
    return os.environ.get("RESOURCE_PREFIX", f"seo-{stage()}")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def bucket_name() -> str:
    return os.environ.get("MEDIA_BUCKET", f"{resource_prefix()}-media")


@lru_cache(maxsize=1)
def signing_secret() -> bytes:
    """Key for access tokens and pagination cursors.

    There is deliberately no default: a hard-coded key in a deployed stack would let
    anyone mint tokens. The local stack and the tests generate one.
    """
    value = os.environ.get("APP_SIGNING_SECRET", "")
    if len(value) < 32:
        raise ConfigError(
            "APP_SIGNING_SECRET is missing or shorter than 32 characters; "
            "set it to a long random string (the local stack generates one)"
        )
    return value.encode()


def access_token_ttl_seconds() -> int:
    return int(os.environ.get("ACCESS_TOKEN_TTL", "900"))


def refresh_token_ttl_seconds() -> int:
    return int(os.environ.get("REFRESH_TOKEN_TTL", str(30 * 24 * 3600)))


def allow_loopback_targets() -> bool:
    """Outbound calls to customer URLs may reach loopback only when this is set (local/test)."""
    return os.environ.get("ALLOW_LOOPBACK_TARGETS", "") == "1"
