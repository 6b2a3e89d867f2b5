"""Per-account request counters: one item per account, bucket and fixed window (services.rate_limits)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.models.base import table_meta
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_scope import ACCOUNT


def counter_key(account_id: str, bucket: str) -> str:
    return f"{account_id}#{bucket}"


class RateCounter(SharedClientModel):
    """Requests of one account to one bucket of routes in the window starting at ``window`` (epoch
    seconds). Expired by TTL once its window is over: the table holds only the current windows."""

    Meta = table_meta("rate_limits", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    key = UnicodeAttribute(hash_key=True)  # counter_key(account_id, bucket)
    window = NumberAttribute(range_key=True)
    count = NumberAttribute(default=0)
    expires_epoch = NumberAttribute()
