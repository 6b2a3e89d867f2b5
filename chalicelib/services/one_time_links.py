"""Single-use links in e-mails: made with a secret kept only as a hash, checked, spent once.

Shared by invites (``Invite``) and the user's own links (``UserToken``: confirm the address,
reset the password). A link is ``<kind>_<account>.<record>.<secret>`` (``auth.tokens``): its
record is read by key, the secret compared in constant time. Every way a link can be wrong
(malformed, another kind, unknown, tampered, used, expired, superseded) is one answer, 400
``invalid_token``, so a guesser learns nothing from which.
"""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

from chalicelib import config
from chalicelib.auth import tokens
from chalicelib.errors import BadRequest
from chalicelib.timeutil import utcnow

# A spent or expired link's record is kept this long (support can tell "used" from "never sent").
KEEP_AFTER_END = timedelta(days=30)


def invalid(what: str = "link") -> BadRequest:
    return BadRequest(f"This {what} is invalid, already used or expired; ask for a new one.", code="invalid_token")


def new_secret() -> tuple[str, str]:
    """(secret, its hash)."""
    secret = tokens.new_refresh_secret()
    return secret, tokens.hash_refresh_secret(secret)


def matches(secret: str, token_hash: str) -> bool:
    return hmac.compare_digest(tokens.hash_refresh_secret(secret), token_hash)


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def now_epoch() -> int:
    return epoch(utcnow())


def ends(ttl: timedelta) -> tuple[int, int]:
    """(valid_until, expires_epoch) of a link made now that works for ``ttl``."""
    until = utcnow() + ttl
    return epoch(until), epoch(until + KEEP_AFTER_END)


def link(path: str, token: str) -> str:
    """The web app's page for a link (the token in the query: the page posts it to the API)."""
    return f"{config.web_app_url()}{path}?token={token}"
