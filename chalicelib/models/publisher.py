"""Publisher module: WordPress connections, publishing settings, slots, counters, attempts.

- SiteIntegration: one per site and platform; the application password is stored
  encrypted (services.secrets), never returned.
- PublishingSettings: limits, publish days and time slots, in the site's time zone.
- PublishCounter: how many items a site has scheduled/published in one day, ISO week or
  month (site-local). Every reservation increments all three in one transaction with
  ``count < limit`` conditions, so no race can pass a limit.
- SlotClaim: one item per occupied time slot (at most one article per slot), written in
  the same transaction; it also feeds the calendar.
- PublishingRecord: every publish attempt, kept.
- WebhookRoute: the one pre-authentication lookup of this module: a WordPress webhook
  names only its site id, so this maps site id -> account and the signing secret.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_scope import ChildrenOf, Item, Partition
from chalicelib.models.writer import Content


def _site_partition(account_id: str, site_id: str) -> str:
    return f"{account_id}#{site_id}"

DEFAULT_PUBLISH_DAYS = ["mon", "tue", "wed", "thu", "fri"]
DEFAULT_TIME_SLOTS = ["09:00", "14:00", "18:00"]


class SiteIntegration(TimestampedModel):
    Meta = table_meta("site_integrations")
    site_scope = Partition(_site_partition)  # with its encrypted secrets
    site_key = UnicodeAttribute(hash_key=True)  # account_id#site_id
    platform = UnicodeAttribute(range_key=True, default="wordpress")
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    external_site_url = UnicodeAttribute()
    username = UnicodeAttribute()
    app_password_enc = UnicodeAttribute()
    app_password_hint = UnicodeAttribute(default="")
    webhook_secret_enc = UnicodeAttribute(null=True)
    config_json = JSONAttribute(default=dict)
    sync_enabled = BooleanAttribute(default=True)
    sync_status = UnicodeAttribute(default="pending")  # pending, syncing, completed, error
    last_sync_at = UTCDateTimeAttribute(null=True)
    sync_error = UnicodeAttribute(null=True)
    connection_status = UnicodeAttribute(default="connected")  # connected, error
    is_active = BooleanAttribute(default=True)
    categories = JSONAttribute(default=list)
    tags = JSONAttribute(default=list)
    authors = JSONAttribute(default=list)
    post_types = JSONAttribute(default=list)
    structure_updated_at = UTCDateTimeAttribute(null=True)
    plugin_active = BooleanAttribute(default=False)
    seo_fields = ListAttribute(of=UnicodeAttribute, default=list)


class PublishingSettings(TimestampedModel):
    Meta = table_meta("publishing_settings")
    site_scope = Item()
    account_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute(range_key=True)
    auto_approval_enabled = BooleanAttribute(default=True)
    auto_publish_enabled = BooleanAttribute(default=True)
    daily_publish_limit = NumberAttribute(default=3)
    weekly_publish_limit = NumberAttribute(default=15)
    monthly_publish_limit = NumberAttribute(default=50)
    publish_days = ListAttribute(of=UnicodeAttribute, default=lambda: list(DEFAULT_PUBLISH_DAYS))
    publish_time_slots = ListAttribute(of=UnicodeAttribute, default=lambda: list(DEFAULT_TIME_SLOTS))


class PublishCounter(TimestampedModel):
    Meta = table_meta("publish_counters", ttl_attribute="expires_epoch")
    site_scope = Partition(_site_partition)
    site_key = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)  # d#2026-11-25, w#2026-W48, m#2026-11 (site-local)
    count = NumberAttribute(default=0)
    expires_epoch = NumberAttribute(null=True)


class SlotClaim(TimestampedModel):
    Meta = table_meta("publish_slots")
    site_scope = Partition(_site_partition)
    site_key = UnicodeAttribute(hash_key=True)
    slot = UnicodeAttribute(range_key=True)  # UTC ISO time of the slot (sorts by time)
    content_id = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    periods = ListAttribute(of=UnicodeAttribute, default=list)  # the counters it holds
    state = UnicodeAttribute(default="scheduled")  # scheduled, published, failed
    manual = BooleanAttribute(default=False)


class PublishingRecord(TimestampedModel):
    Meta = table_meta("publishing_records")
    site_scope = ChildrenOf(Content, lambda content: f"{content.account_id}#{content.content_id}")
    sector_scope = site_scope
    content_key = UnicodeAttribute(hash_key=True)  # account_id#content_id
    attempt_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    site_id = UnicodeAttribute()
    content_id = UnicodeAttribute()
    platform = UnicodeAttribute(default="wordpress")
    status = UnicodeAttribute(default="pending")  # pending, published, failed, held (site or sector stopped)
    external_id = UnicodeAttribute(null=True)
    external_url = UnicodeAttribute(null=True)
    action = UnicodeAttribute(null=True)  # created, updated, recovered
    error = UnicodeAttribute(null=True)
    published_at = UTCDateTimeAttribute(null=True)


class WebhookRoute(TimestampedModel):
    Meta = table_meta("webhook_routes")
    site_scope = Partition(lambda account_id, site_id: site_id, owner_attr="account_id")
    site_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    secret_enc = UnicodeAttribute()


class WebhookNonce(TimestampedModel):
    """A webhook's nonce, remembered past its tolerance window: a replay is refused."""

    Meta = table_meta("webhook_nonces", ttl_attribute="expires_epoch")
    site_scope = Partition(lambda account_id, site_id: f"wordpress#{site_id}")
    scope = UnicodeAttribute(hash_key=True)  # wordpress#<site_id>
    nonce = UnicodeAttribute(range_key=True)
    expires_epoch = NumberAttribute()
