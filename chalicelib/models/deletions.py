"""Deletions of a site or a sector: the record a client polls while the background job runs.

One item per deleted site or sector, in the account's partition: ``target`` is
``site#<site_id>`` or ``sector#<site_id>#<sector_id>`` (ids are never reused, so a target is
deleted once). It is the one trace of a deleted site that stays, and only for
``RETENTION`` after the deletion completed (DynamoDB's TTL removes it then); the credit
ledger keeps the money history for good.
"""

from __future__ import annotations

from datetime import timedelta

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_scope import Kept

DELETION_STATUSES = ("stopping", "deleting", "completed")
RETENTION = timedelta(days=30)


def site_target(site_id: str) -> str:
    return f"site#{site_id}"


def sector_target(site_id: str, sector_id: str) -> str:
    return f"sector#{site_id}#{sector_id}"


class Deletion(TimestampedModel):
    Meta = table_meta("deletions", ttl_attribute="expires_epoch")
    site_scope = Kept("the deletion's poll record, kept 30 days after the deletion completed (TTL)")
    sector_scope = site_scope
    account_id = UnicodeAttribute(hash_key=True)
    target = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # site | sector
    site_id = UnicodeAttribute()
    sector_id = UnicodeAttribute(null=True)
    # stopping: accepted, the site or sector takes nothing new; work already running may still
    # write until sweep_after. deleting: the rules run. completed: nothing of it is left.
    status = UnicodeAttribute(default="stopping")
    requested_by = UnicodeAttribute(null=True)
    sweep_after = UTCDateTimeAttribute()
    step = NumberAttribute(default=0)  # index of the rule being run (services.deletion.plan)
    cursor = JSONAttribute(null=True)  # where the current rule's walk over parent records stopped
    counts = JSONAttribute(default=dict)  # table short name (or "files") -> items deleted
    invocations = NumberAttribute(default=0)
    dead_letters = NumberAttribute(default=0)  # turns whose worker died on every delivery (resumed)
    lease_until = UTCDateTimeAttribute(null=True)  # the worker running it now
    attempt_id = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    expires_epoch = NumberAttribute(null=True)  # set on completion: RETENTION later
