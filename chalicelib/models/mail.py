"""Mail module: one record per e-mail event, the guard that sends it at most once.

The key is the caller's event key (``services.mail.enqueue(..., key=)``), inside the account's
partition: SQS may deliver a message twice, the record's conditional claim lets one send through.
It keeps what a person may see (template, recipient, status, the provider's id, the last error),
never the message's data (links carry one-time tokens).
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.site_scope import ACCOUNT


class MailDelivery(TimestampedModel):
    Meta = table_meta("mail_deliveries", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)
    template = UnicodeAttribute()
    to = UnicodeAttribute()
    # sending (claimed until claimed_until), sent, retrying (the provider failed; SQS brings it
    # back), failed (refused for good, or its worker died on every delivery)
    status = UnicodeAttribute()
    claimed_until = NumberAttribute(default=0)
    attempts = NumberAttribute(default=0)
    provider = UnicodeAttribute(null=True)
    provider_message_id = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    expires_epoch = NumberAttribute()
