"""Bursts: the events of one kind in one window (per run, or per site, or per account) are one group.

A group is counted once per event (its key is added on the condition it is not in yet), is
one in-app notification per user, and is e-mailed once, when its window closes: the first
event of a group queues a ``group_due`` message delayed to the window's end, and that
message sends one e-mail per user who wants e-mail ("40 articles failed", not 40 mails).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib import messages, registry
from chalicelib.ids import derived_id
from chalicelib.messages import AccountEvent
from chalicelib.models.conditions import conditional
from chalicelib.models.notifications import NotificationGroup
from chalicelib.services.account_events import time_id
from chalicelib.timeutil import iso, utcnow

WINDOW = timedelta(minutes=15)
RETENTION = timedelta(days=30)
MAX_DELAY_SECONDS = 900  # SQS's longest delay
GRACE_SECONDS = 30  # events of the window still on their way when it closes


@dataclass(frozen=True)
class Window:
    group_id: str
    start: datetime
    end: datetime


def window_of(event: str, at: datetime, data: dict[str, Any], site_id: str | None) -> Window:
    """The group of an event: its kind, its run (else its site, else the account), its 15-minute window."""
    scope = f"run:{data['run_id']}" if data.get("run_id") else f"site:{site_id}" if site_id else "account"
    epoch = int(at.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % int(WINDOW.total_seconds()), tz=at.tzinfo)
    return Window(derived_id(time_id(start), event, scope), start, start + WINDOW)


def add(message: AccountEvent, window: Window) -> bool:
    """Count the event in its group; False when it was counted already. The group's first event
    queues its e-mail for the window's end."""
    now = utcnow()
    group = NotificationGroup(message.account_id, window.group_id)
    actions = [NotificationGroup.event.set(message.event), NotificationGroup.event_count.add(1),
               NotificationGroup.event_keys.add({message.key}), NotificationGroup.data.set(message.data),
               NotificationGroup.window_end.set(window.end),
               NotificationGroup.created_at.set(NotificationGroup.created_at | now),
               NotificationGroup.expires_epoch.set(int((window.end + RETENTION).timestamp()))]
    if message.site_id:
        actions.append(NotificationGroup.site_id.set(message.site_id))
    with conditional() as write:
        group.update(actions=actions, condition=~NotificationGroup.event_keys.contains(message.key))
    return write.held and int(group.event_count) == 1


def queue_email(message: AccountEvent, window: Window) -> None:
    delay = int((window.end - utcnow()).total_seconds()) + GRACE_SECONDS
    due = AccountEvent(type="group_due", account_id=message.account_id, event=message.event,
                       key=f"group:{window.group_id}", at=str(iso(window.end)), site_id=message.site_id,
                       group_id=window.group_id)
    messages.send(registry.queue("account_events"), [due], delay_seconds=max(0, min(MAX_DELAY_SECONDS, delay)))


def get(account_id: str, group_id: str) -> NotificationGroup | None:
    try:
        return NotificationGroup.get(account_id, group_id, consistent_read=True)
    except NotificationGroup.DoesNotExist:
        return None


def mark_emailed(group: NotificationGroup) -> None:
    group.update(actions=[NotificationGroup.emailed.set(True)])
