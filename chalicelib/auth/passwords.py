"""Password hashing with scrypt (memory-hard, in the standard library: nothing to ship)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

# n=2**14, r=8 -> 16 MiB per hash: memory-hard, yet ~50 ms on a small Lambda.
_N, _R, _P, _LEN = 2**14, 8, 1, 32


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_LEN)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt_b64)
        expected = base64.b64decode(digest_b64)
        actual = hashlib.scrypt(password.encode(), salt=salt, n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so a login's timing does not tell
    whether an account exists. Made on first use: scrypt at import would slow cold starts."""
    return hash_password("not-a-real-password")
