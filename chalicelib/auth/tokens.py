"""Access tokens (short-lived JWT, HS256) and refresh tokens (opaque, rotated, hashed at rest)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass

import jwt

from chalicelib import config

ISSUER = "seo-content-engine"
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """The token is malformed, tampered with, expired or of the wrong kind."""


def _jwt_key() -> bytes:
    return hashlib.sha256(config.signing_secret() + b"|access-token").digest()


def issue_access_token(*, account_id: str, user_id: str, session_id: str, now: float | None = None,
                       generation: int = 0) -> str:
    now = int(now if now is not None else time.time())
    claims = {
        "gen": generation,
        "iss": ISSUER,
        "sub": user_id,
        "acc": account_id,
        "sid": session_id,
        "typ": "access",
        "iat": now,
        "exp": now + config.access_token_ttl_seconds(),
    }
    return jwt.encode(claims, _jwt_key(), algorithm=_ALGORITHM)


@dataclass(frozen=True)
class AccessClaims:
    account_id: str
    user_id: str
    session_id: str
    generation: int = 0  # the user's session_generation it was issued under (none: 0)


def verify_access_token(token: str) -> AccessClaims:
    try:
        # algorithms is pinned: a token claiming "none" or RS256 is rejected outright.
        claims = jwt.decode(
            token, _jwt_key(), algorithms=[_ALGORITHM], issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "acc", "sid", "typ", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from None
    if claims.get("typ") != "access":
        raise InvalidToken("not an access token")
    for name in ("sub", "acc", "sid"):
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise InvalidToken(f"bad claim {name}")
    generation = claims.get("gen", 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise InvalidToken("bad claim gen")
    return AccessClaims(account_id=claims["acc"], user_id=claims["sub"], session_id=claims["sid"],
                        generation=generation)


def new_refresh_secret() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


def hash_refresh_secret(secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is enough (no KDF needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def format_refresh_token(account_id: str, session_id: str, secret: str) -> str:
    return f"{account_id}.{session_id}.{secret}"


def parse_refresh_token(token: str) -> tuple[str, str, str]:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts) or len(token) > 512:
        raise InvalidToken("malformed refresh token")
    return parts[0], parts[1], parts[2]


# --- one-time links: invites, e-mail verification, password reset ------------------------------
# ``<kind>_<account id>.<record id>.<secret>``: the record is found by its key (no index on
# secrets), the secret is compared by hash, and the kind keeps one link from passing for another.
ONE_TIME_KINDS = ("inv", "vfy", "rst")


def format_one_time_token(kind: str, account_id: str, record_id: str, secret: str) -> str:
    if kind not in ONE_TIME_KINDS:
        raise ValueError(f"unknown one-time token kind {kind!r}")
    return f"{kind}_{account_id}.{record_id}.{secret}"


def parse_one_time_token(kind: str, token: str) -> tuple[str, str, str]:
    """(account id, record id, secret) of a ``kind`` link; InvalidToken for anything else."""
    prefix = f"{kind}_"
    if not isinstance(token, str) or not token.startswith(prefix) or len(token) > 512:
        raise InvalidToken("not a link of this kind")
    parts = token[len(prefix):].split(".")
    if len(parts) != 3 or not all(parts):
        raise InvalidToken("malformed link token")
    return parts[0], parts[1], parts[2]
