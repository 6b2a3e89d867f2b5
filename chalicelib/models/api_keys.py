"""API keys: the account's record of each key, and the pre-authentication lookup by prefix.

``ApiKey`` is a tenant record (``account_id``, ``key_id``): what the key may do, its hash, when
it was last used, whether it is revoked. ``ApiKeyPrefix`` is, like ``EmailLogin``, a pointer
read before any tenant is known: the visible prefix -> (account, key). It exists only while the
key is usable: revoking deletes it in the same transaction, so the next request (which reads it
with a consistent read) is refused at once.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_scope import ACCOUNT


class ApiKey(TimestampedModel):
    Meta = table_meta("api_keys")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    key_id = UnicodeAttribute(range_key=True)  # UUIDv7: the list is in creation order
    name = UnicodeAttribute()
    prefix = UnicodeAttribute()  # the visible part: sk_<prefix>_...
    key_hash = UnicodeAttribute()  # sha256 of the whole key; the key itself is never stored
    scopes = UnicodeSetAttribute()  # read, write, jobs, publish
    site_id = UnicodeAttribute(null=True)  # only this site's routes (None: every site)
    expires_at = UTCDateTimeAttribute(null=True)
    rate_limit_per_minute = NumberAttribute()
    created_by = UnicodeAttribute()
    last_used_at = UTCDateTimeAttribute(null=True)  # written at most once a minute
    revoked_at = UTCDateTimeAttribute(null=True)
    revoked_by = UnicodeAttribute(null=True)


class ApiKeyPrefix(SharedClientModel):
    """The visible prefix of a usable key -> its account and key id (also keeps prefixes unique)."""

    Meta = table_meta("api_key_prefixes")
    site_scope = ACCOUNT
    prefix = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
