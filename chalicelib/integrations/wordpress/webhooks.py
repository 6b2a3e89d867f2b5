"""Verifying the companion plugin's webhooks (``POST /v1/webhooks/wordpress/{site_id}``).

The plugin signs ``f"{timestamp}.{raw_body}"`` with HMAC-SHA256 and the site's secret and
sends ``X-SEO-Engine-Timestamp: <unix seconds>`` and ``X-SEO-Engine-Signature: sha256=<hex>``.
The JSON body is ``{event, post_id, content_id, status, link, modified_gmt, timestamp, nonce}``
with ``event`` one of updated, trashed, restored, deleted (and ``ping`` from the plugin's
test route, with post_id 0 and an empty content_id).

A route handler does, in this order (verify the raw bytes before parsing them)::

    event = verify_webhook(raw_body, request.headers, secret=site_secret, site_id=site_id,
                           replay_guard=guard)   # raises WebhookVerificationError -> 401/400

``replay_guard`` is the caller's store of seen nonces (:class:`ReplayGuard`): in DynamoDB, a
conditional put of ``f"{site_id}#{nonce}"`` with a TTL of ``event.replay_expires_at``. A nonce
only has to be remembered while its timestamp is inside the tolerance window: after that
the timestamp check refuses the message anyway.

Delivery is best effort and may repeat or arrive out of order (two edits in one second):
apply an event only if ``modified_gmt`` is newer than what is stored, and treat it as a
hint to re-read the post rather than as the post's state.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.integrations.wordpress.fields import CONTENT_ID_PATTERN, parse_gmt

TIMESTAMP_HEADER = "X-SEO-Engine-Timestamp"
SIGNATURE_HEADER = "X-SEO-Engine-Signature"
SIGNATURE_PREFIX = "sha256="
EVENTS = frozenset({"updated", "trashed", "restored", "deleted", "ping"})
DEFAULT_TOLERANCE = 300
DEFAULT_MAX_FUTURE_SKEW = 60
MAX_BODY_BYTES = 64 * 1024

Secret = str | bytes


class WebhookVerificationError(Exception):
    """The webhook must be refused. ``reason`` is a stable code:

    missing_header, bad_timestamp, stale, future, bad_signature, bad_body, replayed.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class WordPressWebhookEvent:
    event: str
    post_id: int
    content_id: str
    status: str
    link: str
    modified_gmt: datetime | None
    timestamp: int
    nonce: str
    tolerance: int = DEFAULT_TOLERANCE

    @property
    def replay_expires_at(self) -> int:
        """Until when (unix seconds) the nonce must be remembered."""
        return self.timestamp + self.tolerance + DEFAULT_MAX_FUTURE_SKEW


class ReplayGuard(Protocol):
    """Remembers nonces; the lead's implementation is a conditional put with a TTL."""

    def claim(self, site_id: str, nonce: str, expires_at: int) -> bool:
        """Record ``nonce`` for ``site_id``; False if it was already recorded (a replay).

        Must be atomic (two concurrent deliveries of one message: exactly one gets True).
        """
        ...


class InMemoryReplayGuard:
    """A process-local ReplayGuard for tests and the local stack."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def claim(self, site_id: str, nonce: str, expires_at: int) -> bool:
        now = int(time.time())
        with self._lock:
            self._seen = {k: v for k, v in self._seen.items() if v >= now}
            if (site_id, nonce) in self._seen:
                return False
            self._seen[(site_id, nonce)] = expires_at
            return True


def _key(secret: Secret) -> bytes:
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def sign(raw_body: bytes, secret: Secret, timestamp: int | str) -> str:
    """``sha256=<hex>`` for this body and timestamp (what the plugin sends)."""
    message = str(timestamp).encode() + b"." + raw_body
    return SIGNATURE_PREFIX + hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def signature_headers(raw_body: bytes, secret: Secret, timestamp: int | None = None) -> dict[str, str]:
    """Headers a delivery of ``raw_body`` carries (for tests and tools)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: sign(raw_body, secret, ts),
            "Content-Type": "application/json"}


def _epoch(now: float | int | datetime | None) -> float:
    if now is None:
        from chalicelib.timeutil import utcnow

        return utcnow().timestamp()
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return now.timestamp()
    return float(now)


def verify_signature(raw_body: bytes, timestamp: str | int | None, signature: str | None,
                     secret: Secret | Sequence[Secret], now: float | int | datetime | None = None,
                     tolerance: int = DEFAULT_TOLERANCE, *, max_future_skew: int = DEFAULT_MAX_FUTURE_SKEW) -> int:
    """Check the signature and the timestamp window; return the timestamp.

    ``secret`` may be a list (during a secret rotation: any one may match). Comparison is
    constant-time. Refuses timestamps older than ``tolerance`` seconds and newer than
    ``max_future_skew`` seconds ahead of ``now`` (default: the product's clock).
    Raises :class:`WebhookVerificationError`.
    """
    if timestamp is None or timestamp == "" or not signature:
        raise WebhookVerificationError("missing_header", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    text = str(timestamp).strip()
    if not text.isdigit() or len(text) > 12:
        raise WebhookVerificationError("bad_timestamp", "the timestamp is not a unix time in seconds")
    ts = int(text)
    current = _epoch(now)
    if ts < current - tolerance:
        raise WebhookVerificationError("stale", "the webhook is too old")
    if ts > current + max_future_skew:
        raise WebhookVerificationError("future", "the webhook's timestamp is in the future")
    given = signature.strip()
    if not given.startswith(SIGNATURE_PREFIX):
        raise WebhookVerificationError("bad_signature", "the signature is not sha256=<hex>")
    secrets = [secret] if isinstance(secret, str | bytes) else list(secret)
    if not secrets:
        raise ValueError("no webhook secret given")
    matched = False
    for candidate in secrets:
        # Compare all candidates (no early exit) so timing does not reveal which one matched.
        matched |= hmac.compare_digest(sign(raw_body, candidate, text).encode(), given.lower().encode())
    if not matched:
        raise WebhookVerificationError("bad_signature", "the signature does not match")
    return ts


def parse_event(raw_body: bytes, *, timestamp: int | None = None, tolerance: int = DEFAULT_TOLERANCE
                ) -> WordPressWebhookEvent:
    """Parse a verified body. ``timestamp`` (the header's) must equal the body's."""
    if len(raw_body) > MAX_BODY_BYTES:
        raise WebhookVerificationError("bad_body", "the body is too large")
    try:
        body: Any = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookVerificationError("bad_body", "the body is not JSON") from exc
    if not isinstance(body, Mapping):
        raise WebhookVerificationError("bad_body", "the body is not a JSON object")
    event = body.get("event")
    post_id = body.get("post_id")
    content_id = body.get("content_id")
    nonce = body.get("nonce")
    body_ts = body.get("timestamp")
    if event not in EVENTS:
        raise WebhookVerificationError("bad_body", f"unknown event {event!r}")
    if not isinstance(post_id, int) or isinstance(post_id, bool) or post_id < 0:
        raise WebhookVerificationError("bad_body", "post_id must be a non-negative integer")
    if not isinstance(content_id, str) or (event != "ping" and not CONTENT_ID_PATTERN.match(content_id)):
        raise WebhookVerificationError("bad_body", "content_id is missing or malformed")
    if not isinstance(nonce, str) or not 8 <= len(nonce) <= 100:
        raise WebhookVerificationError("bad_body", "nonce is missing or malformed")
    if not isinstance(body_ts, int) or isinstance(body_ts, bool):
        raise WebhookVerificationError("bad_body", "timestamp must be an integer")
    if timestamp is not None and body_ts != timestamp:
        raise WebhookVerificationError("bad_body", "the body's timestamp differs from the signed header")
    return WordPressWebhookEvent(
        event=str(event), post_id=post_id, content_id=content_id, status=str(body.get("status") or ""),
        link=str(body.get("link") or ""), modified_gmt=parse_gmt(body.get("modified_gmt")), timestamp=body_ts,
        nonce=nonce, tolerance=tolerance,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify_webhook(raw_body: bytes, headers: Mapping[str, str], *, secret: Secret | Sequence[Secret],
                   site_id: str, replay_guard: ReplayGuard | None, now: float | int | datetime | None = None,
                   tolerance: int = DEFAULT_TOLERANCE) -> WordPressWebhookEvent:
    """Signature, time window, body, then the nonce (once). Raises WebhookVerificationError.

    Pass ``replay_guard=None`` only where a replay is harmless (it is checked last, so a
    forged message never consumes a nonce).
    """
    ts = verify_signature(raw_body, _header(headers, TIMESTAMP_HEADER), _header(headers, SIGNATURE_HEADER), secret,
                          now, tolerance)
    event = parse_event(raw_body, timestamp=ts, tolerance=tolerance)
    if replay_guard is not None and not replay_guard.claim(site_id, event.nonce, event.replay_expires_at):
        raise WebhookVerificationError("replayed", "this webhook was already received")
    return event
