"""Notifications module: account events handled once, in-app notifications, groups, preferences.

Every key starts with the account id. An in-app notification is one user's (partition
``account#user``); its id is derived from the event (or the event's group) and the user, so
a duplicated delivery writes the same item. Unread notifications are also in a sparse index
(``unread_key`` is set only while unread): the unread count is a Query of it.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import TimestampedModel, index_meta, table_meta
from chalicelib.models.site_scope import Kept, NotSiteScoped

# Notifications outlive the site they mention: what happened stays told; they expire by their TTL.
ACCOUNT_FEED = Kept("an account's news of what happened (a site's too); it expires by its own TTL")


def user_key(account_id: str, user_id: str) -> str:
    return f"{account_id}#{user_id}"


class AccountEventRecord(TimestampedModel):
    """An event the fan-out worker took: keyed by the emitter's key, so the same event is one record."""

    Meta = table_meta("account_events", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT_FEED
    account_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    event = UnicodeAttribute()
    at = UTCDateTimeAttribute()  # when it was first emitted: every id derived from it is stable
    site_id = UnicodeAttribute(null=True)
    data = JSONAttribute(default=dict)
    status = UnicodeAttribute(default="received")  # received, done, failed (its worker died)
    error = UnicodeAttribute(null=True)
    expires_epoch = NumberAttribute()


class UnreadIndex(GlobalSecondaryIndex):
    Meta = index_meta("by_unread", AllProjection())
    unread_key = UnicodeAttribute(hash_key=True)
    notification_id = UnicodeAttribute(range_key=True)


class Notification(TimestampedModel):
    """One user's in-app notification: one event, or a group of the same event in one window."""

    Meta = table_meta("notifications", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT_FEED
    user_key = UnicodeAttribute(hash_key=True)  # account#user
    notification_id = UnicodeAttribute(range_key=True)  # UUIDv7-shaped: newest first is key order
    account_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    event = UnicodeAttribute()
    title = UnicodeAttribute()
    site_id = UnicodeAttribute(null=True)
    data = JSONAttribute(default=dict)  # the latest event's data
    event_count = NumberAttribute(default=1)  # events in it (a group counts each once)
    event_keys = UnicodeSetAttribute(default=set)
    read_at = UTCDateTimeAttribute(null=True)
    unread_key = UnicodeAttribute(null=True)  # = user_key while unread (the sparse index)
    expires_epoch = NumberAttribute()

    unread = UnreadIndex()


class GroupDueIndex(GlobalSecondaryIndex):
    Meta = index_meta("by_due", AllProjection())
    due_shard = UnicodeAttribute(hash_key=True)
    due_epoch = NumberAttribute(range_key=True)


class NotificationGroup(TimestampedModel):
    """A burst of one event in one window, account-wide: counted once per event; e-mailed once, at its end
    (in the sharded due index until then)."""

    Meta = table_meta("notification_groups", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT_FEED
    account_id = UnicodeAttribute(hash_key=True)
    group_id = UnicodeAttribute(range_key=True)
    event = UnicodeAttribute()
    site_id = UnicodeAttribute(null=True)
    event_count = NumberAttribute(default=0)
    event_keys = UnicodeSetAttribute(default=set)
    data = JSONAttribute(default=dict)  # the latest event's data, for the e-mail
    window_end = UTCDateTimeAttribute()
    emailed = BooleanAttribute(default=False)
    due_shard = UnicodeAttribute(null=True)  # set until its e-mail is sent: the sparse due index
    due_epoch = NumberAttribute(null=True)
    expires_epoch = NumberAttribute()

    due = GroupDueIndex()


class NotificationPrefs(TimestampedModel):
    """A user's channel per event (events absent: the event's default)."""

    Meta = table_meta("notification_prefs")
    site_scope = NotSiteScoped("a user's own settings")
    account_id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(range_key=True)
    channels = JSONAttribute(default=dict)  # event -> in_app | email | both | none
    weekly_digest = BooleanAttribute(default=True)


class NotificationSettings(TimestampedModel):
    """The account's notification settings (admins): below how many credits "credits low" is sent."""

    Meta = table_meta("notification_settings")
    site_scope = NotSiteScoped("an account-wide setting")
    account_id = UnicodeAttribute(hash_key=True)
    credits_low_threshold = NumberAttribute(null=True)


class DigestDueIndex(GlobalSecondaryIndex):
    Meta = index_meta("by_due", AllProjection())
    due_shard = UnicodeAttribute(hash_key=True)
    due_epoch = NumberAttribute(range_key=True)


class WeeklyDigest(TimestampedModel):
    """What an account published since its last digest; in the due index (sharded) while it has any."""

    Meta = table_meta("weekly_digests")
    site_scope = ACCOUNT_FEED
    account_id = UnicodeAttribute(hash_key=True)
    due_shard = UnicodeAttribute(null=True)  # set while something waits to be told: the sparse due index
    due_epoch = NumberAttribute(null=True)
    event_count = NumberAttribute(default=0)
    lines = UnicodeSetAttribute(default=set)
    event_keys = UnicodeSetAttribute(default=set)

    due = DigestDueIndex()
