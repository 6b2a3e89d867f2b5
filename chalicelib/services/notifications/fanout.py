"""The account-event worker: each event, once per key, to people (in-app, e-mail) and to webhook endpoints.

The event's record is written first (keyed by the emitter's key; a second message with the
same key finds it done and stops). Every write of the fan-out is itself keyed by the event
(a notification's id, a group's event set, a delivery's id, an e-mail's key), so a worker that
dies half-way is simply run again by SQS and completes what is missing, never twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.ids import derived_id
from chalicelib.messages import AccountEvent
from chalicelib.models.accounts import User
from chalicelib.models.conditions import conditional
from chalicelib.models.notifications import AccountEventRecord, NotificationGroup
from chalicelib.observability import logger
from chalicelib.services.account_events import time_id
from chalicelib.services.event_names import CONTENT_PUBLISHED, EVENTS, EventDef
from chalicelib.services.notifications import audience, digest, email, groups, inbox, prefs
from chalicelib.services.webhooks import delivery
from chalicelib.timeutil import utcnow

RETENTION = timedelta(days=30)
DONE = "done"


def handle(message: AccountEvent) -> str:
    record = _take(message)
    if record.status == DONE:
        return "duplicate"
    definition = EVENTS[message.event]
    at = record.at
    if definition.notify:
        _notify(message, definition, at)
    if definition.webhook:
        delivery.fan_out(message, at)
    if message.event == CONTENT_PUBLISHED:
        digest.add(message)
    record.update(actions=[AccountEventRecord.status.set(DONE)])
    return "handled"


def _take(message: AccountEvent) -> AccountEventRecord:
    """The event's record: written now, or (the same key again) as the first message wrote it."""
    at = datetime.fromisoformat(message.at)
    record = AccountEventRecord(message.account_id, message.key, event=message.event, at=at, site_id=message.site_id,
                                data=message.data, expires_epoch=int((utcnow() + RETENTION).timestamp()))
    with conditional() as write:
        record.save(condition=AccountEventRecord.event_key.does_not_exist())
    if write.held:
        return record
    return AccountEventRecord.get(message.account_id, message.key, consistent_read=True)


def _audience(account_id: str, definition: EventDef) -> list[User]:
    return audience.members(account_id, definition.min_role)


def _notify(message: AccountEvent, definition: EventDef, at: datetime) -> None:
    wanted = prefs.of_account(message.account_id)
    window = groups.window_of(message.event, at, message.data, message.site_id) if definition.grouped else None
    if window is not None:
        groups.add(message, window)
    for user in _audience(message.account_id, definition):
        channel = prefs.channel(wanted.get(user.user_id), message.event)
        if channel in ("in_app", "both"):
            parent = (time_id(window.start), window.group_id) if window else (time_id(at), message.key)
            inbox.deliver(message.account_id, user.user_id, derived_id(*parent, user.user_id), event=message.event,
                          event_key=message.key, site_id=message.site_id, data=message.data)
        if channel in ("email", "both") and window is None:
            email.send_event(user, event=message.event, event_key=message.key, data=message.data)


def close_due_groups(now: datetime | None = None) -> dict[str, int]:
    """The groups whose window closed: one e-mail of each to every user who wants e-mail for its event."""
    closed = emails = 0
    for group in groups.due(now):
        if not group.emailed:
            emails += _email_group(group)
        groups.mark_emailed(group)
        closed += 1
    return {"closed": closed, "emails": emails}


def _email_group(group: NotificationGroup) -> int:
    wanted = prefs.of_account(group.account_id)
    sent = 0
    for user in _audience(group.account_id, EVENTS[group.event]):
        if prefs.channel(wanted.get(user.user_id), group.event) in ("email", "both"):
            email.send_group(user, event=group.event, group_id=group.group_id, count=int(group.event_count),
                             data=group.data or {})
            sent += 1
    return sent


def fail_dead_letter(message: AccountEvent) -> str:
    """An event whose worker died on every delivery: its record says so (``worker_died``), written if missing."""
    with conditional() as write:
        AccountEventRecord(message.account_id, message.key).update(actions=[
            AccountEventRecord.event.set(message.event), AccountEventRecord.at.set(datetime.fromisoformat(message.at)),
            AccountEventRecord.data.set(message.data), AccountEventRecord.status.set("failed"),
            AccountEventRecord.error.set("worker_died: the fan-out stopped on every try"),
            AccountEventRecord.created_at.set(AccountEventRecord.created_at | utcnow()),
            AccountEventRecord.expires_epoch.set(int((utcnow() + RETENTION).timestamp()))],
            condition=AccountEventRecord.status.does_not_exist() | (AccountEventRecord.status != DONE))
    logger.error("account event dead-lettered", extra={"event": message.event, "key": message.key})
    return "failed" if write.held else "finished"
