"""Verification of the companion plugin's signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from chalicelib.integrations.wordpress.webhooks import (
    InMemoryReplayGuard,
    WebhookVerificationError,
    parse_event,
    sign,
    signature_headers,
    verify_signature,
    verify_webhook,
)

pytestmark = pytest.mark.security  # make test-security

SECRET = "s" * 40
NOW = 1_800_000_000


def _body(**overrides: object) -> bytes:
    body = {"event": "trashed", "post_id": 12, "content_id": "0190c0de-aaaa-7bbb-8ccc-123456789abc",
            "status": "trash", "link": "https://blog.example.com/?p=12", "modified_gmt": "2027-01-15T10:20:30",
            "timestamp": NOW, "nonce": "3f2c9a52-2d7e-4d0e-9d51-0a2b8f0e1c11"}
    body.update(overrides)
    return json.dumps(body, separators=(",", ":")).encode()


def test_signature_matches_the_plugins_scheme() -> None:
    raw = _body()
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + raw, hashlib.sha256).hexdigest()
    assert sign(raw, SECRET, NOW) == f"sha256={expected}"


def test_valid_signature() -> None:
    raw = _body()
    assert verify_signature(raw, str(NOW), sign(raw, SECRET, NOW), SECRET, now=NOW + 10) == NOW
    assert verify_signature(raw, NOW, sign(raw, SECRET, NOW).upper().replace("SHA256=", "sha256="), SECRET,
                            now=datetime.fromtimestamp(NOW, UTC)) == NOW


@pytest.mark.parametrize("mutate", [
    lambda raw, sig, ts: (raw + b" ", sig, ts),  # body changed
    lambda raw, sig, ts: (raw, sig, str(int(ts) + 1)),  # timestamp changed
    lambda raw, sig, ts: (raw, sig[:-1] + ("0" if sig[-1] != "0" else "1"), ts),  # signature changed
    lambda raw, sig, ts: (raw, sig.replace("sha256=", "sha1="), ts),
    lambda raw, sig, ts: (raw, sig.removeprefix("sha256="), ts),
])
def test_tampering_is_refused(mutate) -> None:
    raw = _body()
    raw, sig, ts = mutate(raw, sign(raw, SECRET, NOW), str(NOW))
    with pytest.raises(WebhookVerificationError) as caught:
        verify_signature(raw, ts, sig, SECRET, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_wrong_secret_is_refused_and_rotation_accepts_either() -> None:
    raw = _body()
    signature = sign(raw, SECRET, NOW)
    with pytest.raises(WebhookVerificationError):
        verify_signature(raw, NOW, signature, "t" * 40, now=NOW)
    assert verify_signature(raw, NOW, signature, ["t" * 40, SECRET], now=NOW) == NOW


def test_stale_and_future_timestamps_are_refused() -> None:
    raw = _body()
    signature = sign(raw, SECRET, NOW)
    assert verify_signature(raw, NOW, signature, SECRET, now=NOW + 300) == NOW
    with pytest.raises(WebhookVerificationError) as stale:
        verify_signature(raw, NOW, signature, SECRET, now=NOW + 301)
    assert stale.value.reason == "stale"
    with pytest.raises(WebhookVerificationError) as future:
        verify_signature(raw, NOW, signature, SECRET, now=NOW - 61)
    assert future.value.reason == "future"
    with pytest.raises(WebhookVerificationError):
        verify_signature(raw, NOW, signature, SECRET, now=NOW + 31, tolerance=30)


@pytest.mark.parametrize(("timestamp", "signature", "reason"), [
    (None, "sha256=00", "missing_header"), ("", "sha256=00", "missing_header"), (str(NOW), None, "missing_header"),
    ("12.5", "sha256=00", "bad_timestamp"), ("-5", "sha256=00", "bad_timestamp"),
    ("9" * 20, "sha256=00", "bad_timestamp"),
])
def test_malformed_headers(timestamp, signature, reason) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_signature(_body(), timestamp, signature, SECRET, now=NOW)
    assert caught.value.reason == reason


def test_parse_event_checks_the_body() -> None:
    event = parse_event(_body(), timestamp=NOW)
    assert event.event == "trashed" and event.post_id == 12 and event.status == "trash"
    assert event.modified_gmt == datetime(2027, 1, 15, 10, 20, 30, tzinfo=UTC)
    assert event.replay_expires_at > NOW + 300
    for bad in (_body(event="exploded"), _body(post_id="12"), _body(content_id="x y"), _body(nonce=""),
                _body(timestamp=NOW + 1), b"[]", b"not json"):
        with pytest.raises(WebhookVerificationError):
            parse_event(bad, timestamp=NOW)
    ping = parse_event(_body(event="ping", post_id=0, content_id="", modified_gmt=None), timestamp=NOW)
    assert ping.event == "ping" and ping.modified_gmt is None


def test_verify_webhook_end_to_end_with_replay_guard() -> None:
    raw = _body()
    headers = {k.lower(): v for k, v in signature_headers(raw, SECRET, NOW).items()}  # any header case
    guard = InMemoryReplayGuard()
    event = verify_webhook(raw, headers, secret=SECRET, site_id="site-1", replay_guard=guard, now=NOW + 5)
    assert event.content_id == "0190c0de-aaaa-7bbb-8ccc-123456789abc"
    with pytest.raises(WebhookVerificationError) as replay:
        verify_webhook(raw, headers, secret=SECRET, site_id="site-1", replay_guard=guard, now=NOW + 6)
    assert replay.value.reason == "replayed"
    # Nonces are per site.
    verify_webhook(raw, headers, secret=SECRET, site_id="site-2", replay_guard=guard, now=NOW + 6)


def test_a_forged_message_does_not_consume_a_nonce() -> None:
    raw = _body()
    guard = InMemoryReplayGuard()
    forged = {"X-SEO-Engine-Timestamp": str(NOW), "X-SEO-Engine-Signature": "sha256=" + "0" * 64}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(raw, forged, secret=SECRET, site_id="s", replay_guard=guard, now=NOW)
    verify_webhook(raw, signature_headers(raw, SECRET, NOW), secret=SECRET, site_id="s", replay_guard=guard, now=NOW)
