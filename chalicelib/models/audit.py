"""The audit log: who did what to an account's security or money, kept for a retention period.

One item per action, keyed ``(account_id, entry_id)`` with a UUIDv7 id, so "newest first" is a
descending Query of the account's partition; ``by_action`` (``account#action``) serves the filter
by action. Entries are only ever put (under ``entry_id.does_not_exist()``), never updated: the
API has no route that changes or deletes one, and DynamoDB's TTL (``expires_epoch``, set from
``config.audit_retention_days()``) is what removes them once the retention has passed.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import FigureMapAttribute, table_meta
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_records import gsi, join_key
from chalicelib.models.site_scope import Kept


def action_key(account_id: str, action: str) -> str:
    return join_key(account_id, action)


class AuditEntry(SharedClientModel):
    Meta = table_meta("audit", ttl_attribute="expires_epoch")
    # An entry may name a site (a WordPress connection changed): the log is append-only history, kept
    # after the site's deletion until its TTL.
    site_scope = Kept("the append-only audit log outlives what it names, until its TTL")
    account_id = UnicodeAttribute(hash_key=True)
    entry_id = UnicodeAttribute(range_key=True)  # UUIDv7: time-ordered
    action = UnicodeAttribute()  # e.g. "auth.sign_in", "api_key.created" (services.audit)
    action_key = UnicodeAttribute()  # account#action: the by_action index
    actor = UnicodeAttribute()  # "user:<id>", "api_key:<id>", "staff:<id>", "stripe", "system"
    target = UnicodeAttribute(null=True)  # what was acted on, e.g. "user:<id>", "site:<id>"
    details = FigureMapAttribute(default=dict)  # flat: numbers and strings, never a secret
    at = UTCDateTimeAttribute()
    expires_epoch = NumberAttribute()

    by_action = gsi("by_action", "action_key", "entry_id")
