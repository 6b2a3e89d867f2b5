"""Opaque, signed pagination cursors.

A cursor is the DynamoDB key to resume from, bound to the list it came from (its
*scope*, which always includes the caller's account id) and signed with the server key.
A client cannot forge one, nor replay one from another account's list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalicelib import config
from chalicelib.errors import BadRequest


def _key() -> bytes:
    return hmac.new(config.signing_secret(), b"pagination-cursor", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(last_key: dict[str, Any], scope: str) -> str:
    payload = json.dumps({"k": last_key, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
    sig = hmac.new(_key(), payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(sig)}"


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    invalid = BadRequest("The cursor is not valid for this list; start again without it.",
                         code="invalid_cursor")
    try:
        payload_text, sig_text = cursor.split(".", 1)
        payload = _unb64(payload_text)
        sig = _unb64(sig_text)
    except (ValueError, UnicodeError):
        raise invalid from None
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(sig, expected):
        raise invalid
    try:
        data = json.loads(payload)
    except ValueError:
        raise invalid from None
    # Only the server signs cursors, so this holds unless the key leaked; then still no 500.
    if not isinstance(data, dict) or data.get("s") != scope or not isinstance(data.get("k"), dict):
        raise invalid
    return data["k"]


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def paginate(query: Callable[..., Iterable[Any]], *, scope: str, limit: int,
             cursor: str | None, **query_kwargs: Any) -> Page:
    """Run a PynamoDB ``query``/index query for one page and sign where to resume."""
    start = decode_cursor(cursor, scope)
    results = query(limit=limit, last_evaluated_key=start, page_size=limit, **query_kwargs)
    items = list(results)
    last = results.last_evaluated_key if len(items) >= limit else None
    return Page(items, encode_cursor(last, scope) if last else None)
