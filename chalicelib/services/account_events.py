"""Emit an account event: one typed message on the ``account_events`` queue, handled once per key.

Called where a thing happens (a run ended, an article failed, credits ran low, a payment
failed). The message carries the emitter's ``key``: a worker that is retried and emits the
same event again puts a second message with the same key, and the fan-out
(services.notifications.fanout) handles the key once. Event names: services.event_names.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from chalicelib import messages, registry
from chalicelib.messages import AccountEvent
from chalicelib.services.event_names import EVENTS
from chalicelib.timeutil import iso, utcnow


def emit(account_id: str, event: str, data: dict[str, Any], key: str, site_id: str | None = None) -> None:
    """Queue ``event`` of ``account_id`` once per ``key`` (unique per event name; e.g. the run id)."""
    if event not in EVENTS:
        raise ValueError(f"unknown account event {event!r}")
    message = AccountEvent(account_id=account_id, event=event, key=f"{event}:{key}"[:200], at=str(iso(utcnow())),
                           site_id=site_id, data={k: v for k, v in data.items() if v is not None})
    messages.send(registry.queue("account_events"), [message])


def time_id(when: datetime) -> str:
    """The UUIDv7 of the millisecond ``when`` (no random part): a parent for ids derived from a time."""
    ms = int(when.timestamp() * 1000)
    return str(uuid.UUID(int=(ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | 0b10 << 62))
