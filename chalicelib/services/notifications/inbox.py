"""In-app notifications: written per user by the fan-out, listed newest first, marked read.

A notification's id is derived from its event (or its group) and the user, and each write
adds the event's key to it on the condition that the key is not in it yet: a duplicated
delivery changes nothing, and a group counts each event once. A notification that gets a
new event of its group becomes unread again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.errors import NotFound
from chalicelib.models.conditions import conditional
from chalicelib.models.notifications import Notification, user_key
from chalicelib.models.pages import Page, paginate
from chalicelib.services.event_names import EVENTS
from chalicelib.services.notifications import texts
from chalicelib.timeutil import utcnow

RETENTION = timedelta(days=90)


def deliver(account_id: str, user_id: str, notification_id: str, *, event: str, event_key: str,
            site_id: str | None, data: dict[str, Any]) -> bool:
    """Add the event to the user's notification ``notification_id``; False: it was in it already."""
    ukey = user_key(account_id, user_id)
    now = utcnow()
    actions = [Notification.account_id.set(account_id), Notification.user_id.set(user_id),
               Notification.event.set(event), Notification.title.set(EVENTS[event].title),
               Notification.data.set(data), Notification.event_count.add(1), Notification.event_keys.add({event_key}),
               Notification.unread_key.set(ukey), Notification.read_at.remove(),
               Notification.created_at.set(Notification.created_at | now),
               Notification.expires_epoch.set(int((now + RETENTION).timestamp()))]
    if site_id:
        actions.append(Notification.site_id.set(site_id))
    with conditional() as write:
        Notification(ukey, notification_id).update(actions=actions,
                                                   condition=~Notification.event_keys.contains(event_key))
    return write.held


def view(n: Notification) -> dict[str, Any]:
    return {"notification_id": n.notification_id, "event": n.event, "title": n.title,
            "message": texts.group_line(n.event, int(n.event_count), n.data or {}), "count": int(n.event_count),
            "site_id": n.site_id, "data": n.data or {}, "read": n.read_at is not None, "read_at": n.read_at,
            "created_at": n.created_at, "updated_at": n.updated_at}


def page(account_id: str, user_id: str, *, unread_only: bool, limit: int, cursor: str | None) -> Page:
    ukey = user_key(account_id, user_id)
    query = Notification.unread.query if unread_only else Notification.query
    found = paginate(lambda **kw: query(ukey, scan_index_forward=False, **kw),
                     scope=f"notifications:{ukey}:{int(unread_only)}", limit=limit, cursor=cursor)
    return Page([view(n) for n in found.items], found.next_cursor)


def unread_count(account_id: str, user_id: str) -> int:
    return Notification.unread.count(user_key(account_id, user_id))


def mark_read(account_id: str, user_id: str, notification_id: str) -> dict[str, Any]:
    ukey = user_key(account_id, user_id)
    item = Notification(ukey, notification_id)
    with conditional(otherwise=NotFound("Notification")):
        item.update(actions=[Notification.unread_key.remove(),
                             Notification.read_at.set(Notification.read_at | utcnow())],
                    condition=Notification.user_key.exists())
    return view(item)


def mark_all_read(account_id: str, user_id: str) -> int:
    ukey = user_key(account_id, user_id)
    marked = 0
    for n in Notification.unread.query(ukey):
        with conditional() as write:
            n.update(actions=[Notification.unread_key.remove(), Notification.read_at.set(utcnow())],
                     condition=Notification.unread_key.exists())
        marked += int(write.held)
    return marked
