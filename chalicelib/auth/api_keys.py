"""API keys for server-to-server clients: their shape, and how their secret is kept.

A key reads ``sk_<prefix>_<secret>``: the prefix (12 lowercase letters and digits) is visible
and names the key (in lists, logs and the audit log); the secret (256 random bits) is shown
once, at creation, and stored only as a SHA-256 hash: with that much entropy a fast hash is
enough, as for refresh tokens, and checking a key costs microseconds, not a KDF's 50 ms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

KEY_MARK = "sk_"
PREFIX_LENGTH = 12
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_BYTES = 32
MAX_KEY_LENGTH = 128

# What a key may be allowed to do (services.api_keys; api.routing maps each route to one).
READ, WRITE, JOBS, PUBLISH = "read", "write", "jobs", "publish"
SCOPES: tuple[str, ...] = (READ, WRITE, JOBS, PUBLISH)


class InvalidKey(Exception):
    """Not the shape of an API key."""


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_MARK)


def new_key() -> tuple[str, str]:
    """(prefix, the whole key): a fresh random key."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    return prefix, f"{KEY_MARK}{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"


def parse(key: str) -> tuple[str, str]:
    """(prefix, secret) of a key; ``InvalidKey`` for anything else."""
    if len(key) > MAX_KEY_LENGTH or not looks_like_key(key):
        raise InvalidKey("not an API key")
    prefix, sep, secret = key[len(KEY_MARK):].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or any(c not in _PREFIX_ALPHABET for c in prefix) \
            or len(secret) < 32:
        raise InvalidKey("malformed API key")
    return prefix, secret


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
