"""Billing module: the credit balance of an account and its ledger.

The balance is one item per account with, for each credit type, the plan credits of the
current period and the purchased (pack) credits, which never expire. Every change to it
is written in the same transaction as a ledger entry whose key is the operation's
idempotency key, so a retried charge or grant is a no-op, and
``balance == sum(ledger deltas)`` holds for every type at all times.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.models.base import TimestampedModel, index_meta, table_meta

CREDIT_TYPES = ("idea", "content", "image", "optimization")
BALANCE_KEY = "balance"


class CreditBalance(TimestampedModel):
    Meta = table_meta("credit_balances")
    account_id = UnicodeAttribute(hash_key=True)
    balance_key = UnicodeAttribute(range_key=True, default=BALANCE_KEY)
    idea_plan = NumberAttribute(default=0)
    idea_pack = NumberAttribute(default=0)
    content_plan = NumberAttribute(default=0)
    content_pack = NumberAttribute(default=0)
    image_plan = NumberAttribute(default=0)
    image_pack = NumberAttribute(default=0)
    optimization_plan = NumberAttribute(default=0)
    optimization_pack = NumberAttribute(default=0)
    plan_id = UnicodeAttribute(null=True)
    period_start = UTCDateTimeAttribute(null=True)
    period_end = UTCDateTimeAttribute(null=True)

    def available(self, credit_type: str) -> int:
        return int(getattr(self, f"{credit_type}_plan") or 0) + int(getattr(self, f"{credit_type}_pack") or 0)


class LedgerByTime(GlobalSecondaryIndex):
    Meta = index_meta("by_time", AllProjection())
    account_id = UnicodeAttribute(hash_key=True)
    time_key = UnicodeAttribute(range_key=True)


class LedgerBySite(GlobalSecondaryIndex):
    Meta = index_meta("by_site", AllProjection())
    site_key = UnicodeAttribute(hash_key=True)
    time_key = UnicodeAttribute(range_key=True)


class CreditLedgerEntry(TimestampedModel):
    """CreditUsage of the reference, extended to grants, expiries and refunds.

    ``entry_key`` = ``<kind>#<idempotency key>``: the same operation can never be
    recorded (and so never charged or granted) twice.
    """

    Meta = table_meta("credit_ledger")
    account_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # debit, grant, expire, refund, adjust
    credit_type = UnicodeAttribute()
    delta = NumberAttribute()  # signed: grants positive, debits negative
    plan_delta = NumberAttribute(default=0)
    pack_delta = NumberAttribute(default=0)
    operation = UnicodeAttribute()  # e.g. generate_content, plan_grant, pack_purchase
    site_id = UnicodeAttribute(null=True)
    user_id = UnicodeAttribute(null=True)
    related_object_id = UnicodeAttribute(null=True)
    job_id = UnicodeAttribute(null=True)
    model = UnicodeAttribute(null=True)
    provider = UnicodeAttribute(null=True)
    input_tokens = NumberAttribute(default=0)
    output_tokens = NumberAttribute(default=0)
    cached_tokens = NumberAttribute(default=0)
    images = NumberAttribute(default=0)
    note = UnicodeAttribute(null=True)
    time_key = UnicodeAttribute()  # ISO time#entry_key: time order within the account
    site_key = UnicodeAttribute(null=True)  # account_id#site_id, sparse

    by_time = LedgerByTime()
    by_site = LedgerBySite()
