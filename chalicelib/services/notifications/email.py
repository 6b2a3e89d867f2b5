"""The e-mail channel: a notification (or a group's, or the weekly digest) through the mail service.

Every e-mail is queued with a key naming what it is about and whom it is for, so the mail
service sends it once however often the fan-out runs.
"""

from __future__ import annotations

from typing import Any

from chalicelib.models.accounts import User
from chalicelib.services import mail
from chalicelib.services.event_names import EVENTS
from chalicelib.services.notifications import texts


def send_event(user: User, *, event: str, event_key: str, data: dict[str, Any]) -> None:
    mail.enqueue(user.account_id, user.email, "notification",
                 {"title": EVENTS[event].title, "message": texts.line(event, data)},
                 key=f"notify:{event_key}:{user.user_id}")


def send_group(user: User, *, event: str, group_id: str, count: int, data: dict[str, Any]) -> None:
    mail.enqueue(user.account_id, user.email, "notification",
                 {"title": EVENTS[event].title if count == 1 else f"{EVENTS[event].title} ({count})",
                  "message": texts.group_line(event, count, data)},
                 key=f"group:{group_id}:{user.user_id}")


def send_digest(user: User, *, week: str, count: int, lines: list[str]) -> None:
    mail.enqueue(user.account_id, user.email, "weekly_digest",
                 {"week": week, "count": str(count), "items": "\n".join(lines) or "Nothing was published."},
                 key=f"digest:{week}:{user.user_id}")
