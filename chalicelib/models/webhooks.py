"""Outbound webhooks module: the account's endpoints and each delivery to one of them.

An endpoint's signing secret is stored KMS-encrypted (``secret_enc``; signing needs the
secret itself, so a hash would not do), bound to the endpoint by the encryption context.
A delivery is keyed under its endpoint (``account#endpoint``), its id derived from the event
and the endpoint, so a duplicated fan-out writes the same delivery; it is kept 30 days.
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
from chalicelib.models.site_scope import NotSiteScoped


def endpoint_key(account_id: str, endpoint_id: str) -> str:
    return f"{account_id}#{endpoint_id}"


class WebhookEndpoint(TimestampedModel):
    Meta = table_meta("webhook_endpoints")
    site_scope = NotSiteScoped("an account-wide integration")
    account_id = UnicodeAttribute(hash_key=True)
    endpoint_id = UnicodeAttribute(range_key=True)
    url = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    events = ListAttribute(of=UnicodeAttribute, default=list)  # the event names it subscribes to
    secret_enc = UnicodeAttribute()  # kms1:... (services.secrets), never answered
    secret_hint = UnicodeAttribute(default="")
    enabled = BooleanAttribute(default=True)
    consecutive_failures = NumberAttribute(default=0)
    disabled_reason = UnicodeAttribute(null=True)
    disabled_at = UTCDateTimeAttribute(null=True)
    last_delivery_at = UTCDateTimeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    created_by = UnicodeAttribute(null=True)


class WebhookDelivery(TimestampedModel):
    Meta = table_meta("webhook_deliveries", ttl_attribute="expires_epoch")
    site_scope = NotSiteScoped("the delivery log of an account-wide endpoint (expires by TTL)")
    endpoint_key = UnicodeAttribute(hash_key=True)  # account#endpoint
    delivery_id = UnicodeAttribute(range_key=True)  # the webhook-id header; UUIDv7-shaped
    account_id = UnicodeAttribute()
    endpoint_id = UnicodeAttribute()
    event = UnicodeAttribute()
    event_key = UnicodeAttribute()
    payload = UnicodeAttribute()  # the exact body sent (the same on every attempt)
    status = UnicodeAttribute(default="pending")  # pending, retrying, delivered, failed
    attempts_made = NumberAttribute(default=0)
    attempts = JSONAttribute(default=list)  # [{attempt, at, status_code, error, retry_in}]
    response_code = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    next_attempt_at = UTCDateTimeAttribute(null=True)
    delivered_at = UTCDateTimeAttribute(null=True)
    expires_epoch = NumberAttribute()
