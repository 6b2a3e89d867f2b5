"""Bursts: the events of one kind in one window (per run, or per site, or per account) are one group.

A group is counted once per event (its key is added on the condition it is not in yet), is
one in-app notification per user, and is e-mailed once, after its window closed: the group
sits in a sparse, sharded due index (due at the window's end plus a grace for events still on
their way) which the ``notification_groups`` schedule reads (a Query per shard; no Scan),
sending one e-mail per user who wants e-mail ("40 articles failed", not 40 mails).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.ids import derived_id
from chalicelib.messages import AccountEvent
from chalicelib.models.conditions import conditional
from chalicelib.models.notifications import NotificationGroup
from chalicelib.services.account_events import time_id
from chalicelib.timeutil import utcnow

WINDOW = timedelta(minutes=15)
GRACE = timedelta(seconds=30)  # events of the window still on their way when it closes
RETENTION = timedelta(days=30)
SHARDS = 8


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


def shard_of(account_id: str) -> str:
    return f"groups#{zlib.crc32(account_id.encode()) % SHARDS}"


def add(message: AccountEvent, window: Window) -> bool:
    """Count the event in its group (due for its e-mail at the window's end); False: counted already."""
    now = utcnow()
    group = NotificationGroup(message.account_id, window.group_id)
    actions = [NotificationGroup.event.set(message.event), NotificationGroup.event_count.add(1),
               NotificationGroup.event_keys.add({message.key}), NotificationGroup.data.set(message.data),
               NotificationGroup.window_end.set(window.end),
               NotificationGroup.due_shard.set(shard_of(message.account_id)),
               NotificationGroup.due_epoch.set(int((window.end + GRACE).timestamp())),
               NotificationGroup.created_at.set(NotificationGroup.created_at | now),
               NotificationGroup.expires_epoch.set(int((window.end + RETENTION).timestamp()))]
    if message.site_id:
        actions.append(NotificationGroup.site_id.set(message.site_id))
    with conditional() as write:
        group.update(actions=actions, condition=~NotificationGroup.event_keys.contains(message.key))
    return write.held


def due(now: datetime | None = None) -> list[NotificationGroup]:
    epoch = int((now or utcnow()).timestamp())
    return [g for n in range(SHARDS)
            for g in NotificationGroup.due.query(f"groups#{n}", NotificationGroup.due_epoch <= epoch)]


def mark_emailed(group: NotificationGroup) -> None:
    """Out of the due index; an event of the window arriving later counts in-app only (its e-mail is sent)."""
    group.update(actions=[NotificationGroup.emailed.set(True), NotificationGroup.due_shard.remove(),
                          NotificationGroup.due_epoch.remove()])
