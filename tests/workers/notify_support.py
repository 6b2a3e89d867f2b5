"""What the notification and webhook worker tests share: the loops, SQS's clock, the mailbox."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest

import app as app_module
from chalicelib import registry
from infra.local.worker import WorkerLoop

QUEUES = ("account_events", "webhook_deliveries", "mail")


def loop(*keys: str) -> WorkerLoop:
    # A failed message comes back at once (the product's own backoff is a delayed re-send).
    return WorkerLoop(app_module, queues=[registry.queue(k) for k in keys or QUEUES], backoff=lambda n: 0)


def drain() -> None:
    loop().drain(until_empty=False)


class SqsClock:
    """Moves moto's SQS clock (delays and visibility) forward, as waiting would: a delayed message
    (a webhook retry, a group's e-mail) becomes visible without the test sleeping through it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import moto.sqs.models as sqs_models

        self.offset_ms = 0.0
        real = sqs_models.unix_time_millis
        monkeypatch.setattr(sqs_models, "unix_time_millis", lambda *a: real(*a) + self.offset_ms)

    def advance(self, seconds: float) -> None:
        self.offset_ms += seconds * 1000


def mails(outbox: Path) -> list[tuple[str, str, str]]:
    """(to, subject, text) of every e-mail sent, but the address confirmation every registration sends."""
    found = []
    for path in sorted(outbox.glob("*.eml")):
        kept = email.message_from_bytes(path.read_bytes(), policy=default)
        if str(kept["X-Mail-Key"]).startswith("verify_email:"):
            continue
        found.append((str(kept["To"]), str(kept["Subject"]), kept.get_body(("plain",)).get_content()))
    return found


def close_groups() -> dict:
    """The groups' windows close (the product's clock moves past them) and their schedule fires, as
    EventBridge would; then their e-mails go out."""
    from chalicelib import timeutil
    from chalicelib.services.notifications import groups
    from infra.local.clock import Clock

    timeutil.advance((groups.WINDOW + groups.GRACE).total_seconds() + 1)
    result = Clock(app_module).fire("notification_groups")
    drain()
    return result
