"""Billing module: the credit balance of an account, its periods and its ledger.

The balance is one item per account with, for each credit type, the plan credits of the
current period and the purchased (pack) credits, which never expire. Every change to it
is written in the same transaction as a ledger entry whose key is the operation's
idempotency key, so a retried charge or grant is a no-op, and
``balance == sum(ledger deltas)`` holds for every type at all times.

``CreditPeriod`` records one plan period each (the reference's CreditBalance rows with
period_start / period_end): what was granted, rolled over, used and expired. The live
balance item stays the one thing charges touch. Stripe's records are in ``payments``.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection

from chalicelib.models.base import TimestampedModel, index_meta, table_meta
from chalicelib.models.site_scope import ACCOUNT, Kept

CREDIT_TYPES = ("idea", "content", "image", "optimization")
BALANCE_KEY = "balance"
RENEWAL_SHARD = "renew"  # the prefix of RenewalsDue's shards (models.shards)


class RenewalsDue(GlobalSecondaryIndex):
    """Balances whose period renews without an invoice, by its end (sparse, sharded): the
    plan-renewal schedule finds what is due with one Query per shard."""

    Meta = index_meta("renewals_due", KeysOnlyProjection())
    renewal_shard = UnicodeAttribute(hash_key=True)
    period_end = UTCDateTimeAttribute(range_key=True)


class CreditBalance(TimestampedModel):
    Meta = table_meta("credit_balances")
    site_scope = ACCOUNT
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
    plan_id = UnicodeAttribute(null=True)  # the plan of the current period
    period_start = UTCDateTimeAttribute(null=True)
    period_end = UTCDateTimeAttribute(null=True)
    period_key = UnicodeAttribute(null=True)  # the current CreditPeriod's key
    # Stripe invoices whose payment failed and that are not paid yet. Non-empty = past due:
    # generation is refused (credits.require_credits reads this item anyway: no extra read).
    # One set per invoice, so a late "paid" of one invoice cannot clear another's failure.
    past_due_invoices = UnicodeSetAttribute(null=True)
    # Set while the current period renews without an invoice (no subscription: a free or a
    # staff-given plan); services.plan_renewals opens the next one when period_end passes.
    renewal_shard = UnicodeAttribute(null=True)

    renewals_due = RenewalsDue()

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
    site_scope = Kept("money history: every grant and debit stays, so the balance is always their sum")
    account_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # debit, grant, expire, revoke (refunded pack), refund, adjust
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


class CreditAmounts(MapAttribute):
    """Credits per type; a typed map, so one type can be incremented in place."""

    idea = NumberAttribute(default=0)
    content = NumberAttribute(default=0)
    image = NumberAttribute(default=0)
    optimization = NumberAttribute(default=0)

    def get(self, credit_type: str) -> int:
        return int(getattr(self, credit_type, 0) or 0)

    def as_dict(self) -> dict[str, int]:
        return {t: self.get(t) for t in CREDIT_TYPES}


def amounts(values: dict[str, int] | None = None) -> CreditAmounts:
    values = values or {}
    return CreditAmounts(**{t: int(values.get(t, 0)) for t in CREDIT_TYPES})


class CreditPeriod(TimestampedModel):
    """One plan period of an account: ``period_key`` = ``<ISO start>#<source id>`` (newest last).

    At its start: ``rolled_over_in`` (plan credits kept from the period before) and
    ``granted`` (the plan's credits); later ``added`` (upgrade top-ups, late invoices). At its close:
    ``closing`` (plan credits left), split into ``expired`` and ``rolled_over_out`` by the
    ``rollover`` rule of its plan, copied here when the period opened.
    """

    Meta = table_meta("credit_periods")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    period_key = UnicodeAttribute(range_key=True)
    plan_id = UnicodeAttribute()
    rollover = BooleanAttribute(default=False)
    period_start = UTCDateTimeAttribute()
    period_end = UTCDateTimeAttribute()
    source = UnicodeAttribute()  # signup, invoice, subscription_end
    source_id = UnicodeAttribute(null=True)  # e.g. the Stripe invoice id
    status = UnicodeAttribute(default="current")  # current, closed, superseded (paid late)
    granted = CreditAmounts(default=amounts)  # the plan's credits, at the start
    rolled_over_in = CreditAmounts(default=amounts)
    added = CreditAmounts(default=amounts)  # later: upgrade top-ups, invoices of earlier periods paid late
    superseded_by = UnicodeAttribute(null=True)  # a late period: the period its credits went to
    closing = CreditAmounts(null=True)
    expired = CreditAmounts(null=True)
    rolled_over_out = CreditAmounts(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
