"""The weekly digest: what an account published, e-mailed once a week to the users who want it.

Each ``content.published`` event adds a line to the account's ``WeeklyDigest`` (once per event
key) and puts it in the sharded due index, due the next Monday 08:00 UTC. The hourly tick reads
each shard's due digests (a Query; no Scan), e-mails them (keyed by account, week and user:
once), then empties the digest on the condition nothing was added meanwhile; an account that
published nothing is not in the index and gets no e-mail.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

from chalicelib.messages import AccountEvent
from chalicelib.models.conditions import conditional
from chalicelib.models.notifications import WeeklyDigest
from chalicelib.services.notifications import audience, email, prefs
from chalicelib.services.notifications.texts import line
from chalicelib.timeutil import utcnow

SHARDS = 8
SEND_HOUR = 8
MAX_LINES = 200


def shard_of(account_id: str) -> str:
    return f"digest#{zlib.crc32(account_id.encode()) % SHARDS}"


def next_due(after: datetime) -> datetime:
    """The first Monday 08:00 UTC after ``after``."""
    day = after.astimezone(UTC).replace(hour=SEND_HOUR, minute=0, second=0, microsecond=0)
    day += timedelta(days=(7 - day.weekday()) % 7)
    return day if day > after else day + timedelta(days=7)


def add(message: AccountEvent) -> bool:
    """Count a published article in the account's next digest (once per event)."""
    digest = WeeklyDigest(message.account_id)
    due = int(next_due(utcnow()).timestamp())
    with conditional() as write:
        digest.update(actions=[
            WeeklyDigest.due_shard.set(shard_of(message.account_id)),
            WeeklyDigest.due_epoch.set(WeeklyDigest.due_epoch | due),
            WeeklyDigest.event_count.add(1), WeeklyDigest.event_keys.add({message.key}),
            WeeklyDigest.lines.add({line(message.event, message.data)[:300]}),
            WeeklyDigest.created_at.set(WeeklyDigest.created_at | utcnow()),
        ], condition=~WeeklyDigest.event_keys.contains(message.key) & (
            WeeklyDigest.event_count.does_not_exist() | (WeeklyDigest.event_count < MAX_LINES)))
    return write.held


def due(now: datetime | None = None) -> list[WeeklyDigest]:
    epoch = int((now or utcnow()).timestamp())
    return [d for n in range(SHARDS) for d in WeeklyDigest.due.query(f"digest#{n}", WeeklyDigest.due_epoch <= epoch)]


def send(digest: WeeklyDigest) -> int:
    """E-mail one due digest to each active user who wants it; then empty it. Returns e-mails queued."""
    week = datetime.fromtimestamp(int(digest.due_epoch), tz=UTC).date().isoformat()
    wanted = prefs.of_account(digest.account_id)
    sent = 0
    for user in audience.members(digest.account_id):
        choice = wanted.get(user.user_id)
        if choice is None or choice.weekly_digest:
            email.send_digest(user, week=week, count=int(digest.event_count), lines=sorted(digest.lines or ()))
            sent += 1
    with conditional():  # something was added meanwhile: the next tick sends it (the e-mails above are keyed)
        digest.update(actions=[WeeklyDigest.due_shard.remove(), WeeklyDigest.due_epoch.remove(),
                               WeeklyDigest.event_count.set(0), WeeklyDigest.lines.remove(),
                               WeeklyDigest.event_keys.remove()],
                      condition=WeeklyDigest.event_count == int(digest.event_count))
    return sent


def tick(now: datetime | None = None) -> dict[str, int]:
    digests = due(now)
    return {"due": len(digests), "emails": sum(send(d) for d in digests)}
