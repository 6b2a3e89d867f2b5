"""Payments module: what Stripe tells us, kept so that each webhook is applied once and in order.

Two tables here are keyed by a Stripe id, not by an account id, because a webhook arrives
with no tenant: ``StripeEvent`` (the event id; it says whether that event was handled) and
``StripeCustomer`` (the customer id; it says which account the event is about). Like
``EmailLogin``, they hold only a pointer and bookkeeping, never an account's data, and are
read only by the (signature-verified) webhook. Everything else is keyed by the account id.

The pipeline's functions have no access to these tables (infra/cloud/policies.py grants
workers the billing module's tables, not this one).
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.base import TimestampedModel, table_meta
from chalicelib.models.billing import CreditAmounts, amounts
from chalicelib.models.connection import SharedClientModel
from chalicelib.models.site_scope import ACCOUNT, PLATFORM


class StripeEvent(SharedClientModel):
    """A Stripe event being handled or handled: claimed with a lease, then marked done.

    Kept for ``EVENT_RETENTION`` (45 days, beyond Stripe's 3 days of retries) by the TTL.
    """

    Meta = table_meta("stripe_events", ttl_attribute="expires_epoch")
    site_scope = ACCOUNT
    event_id = UnicodeAttribute(hash_key=True)
    event_type = UnicodeAttribute()
    event_created = NumberAttribute()  # the event's `created` (unix seconds)
    status = UnicodeAttribute()  # processing, done
    lease_until = NumberAttribute(default=0)  # unix seconds: a crashed handler's claim lapses
    attempts = NumberAttribute(default=1)
    account_id = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
    handled_at = UTCDateTimeAttribute(null=True)
    expires_epoch = NumberAttribute()


class StripeCustomer(SharedClientModel):
    """Stripe customer id -> account (the account keeps the id too: the lookup works both ways)."""

    Meta = table_meta("stripe_customers")
    site_scope = ACCOUNT
    stripe_customer_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class Subscription(TimestampedModel):
    """The last known state of one Stripe subscription of an account.

    ``state_ts`` is the ``created`` time of the event that state came from: an event older
    than it is not applied, and ``canceled`` / ``incomplete_expired`` are final (Stripe never
    revives them), so events arriving out of order cannot move the record backwards.
    """

    Meta = table_meta("subscriptions")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    subscription_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()  # Stripe's: incomplete, trialing, active, past_due, unpaid, canceled, ...
    plan_id = UnicodeAttribute(null=True)
    price_id = UnicodeAttribute(null=True)
    interval = UnicodeAttribute(null=True)  # month, year
    sub_created = NumberAttribute(default=0)
    current_period_start = UTCDateTimeAttribute(null=True)
    current_period_end = UTCDateTimeAttribute(null=True)
    cancel_at_period_end = BooleanAttribute(default=False)
    cancel_at = UTCDateTimeAttribute(null=True)
    ended_at = UTCDateTimeAttribute(null=True)
    state_ts = NumberAttribute(default=0)
    source = UnicodeAttribute(null=True)  # the event type the state came from


class InvoiceRecord(TimestampedModel):
    """A subscription invoice's payment state: a late 'payment failed' cannot undo a 'paid'."""

    Meta = table_meta("invoices")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    invoice_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()  # failed, paid, void
    subscription_id = UnicodeAttribute(null=True)
    billing_reason = UnicodeAttribute(null=True)
    plan_id = UnicodeAttribute(null=True)
    period_start = UTCDateTimeAttribute(null=True)
    period_end = UTCDateTimeAttribute(null=True)
    amount_paid_cents = NumberAttribute(default=0)


class PackPurchase(TimestampedModel):
    """A credit pack bought through Checkout; keyed by its PaymentIntent (what a refund names).

    A refund may arrive before the purchase is fulfilled: the record then exists with
    ``fulfilled`` False and the refunded amount, and fulfilment takes the refund into account.
    ``revoked_target`` is what the refunds so far entitle us to take back, ``revoked`` what
    was taken, ``unrecovered`` what had been spent already.
    """

    Meta = table_meta("pack_purchases")
    site_scope = ACCOUNT
    account_id = UnicodeAttribute(hash_key=True)
    purchase_key = UnicodeAttribute(range_key=True)  # pi_... (or the session id without one)
    checkout_session_id = UnicodeAttribute(null=True)
    pack_id = UnicodeAttribute(null=True)
    credits = CreditAmounts(default=amounts)
    amount_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(null=True)
    amount_refunded_cents = NumberAttribute(default=0)
    fulfilled = BooleanAttribute(default=False)
    revoked_target = CreditAmounts(default=amounts)
    revoked = CreditAmounts(default=amounts)
    unrecovered = CreditAmounts(default=amounts)


class CreditPack(TimestampedModel):
    """A one-off credit pack for sale (staff-managed); its credits never expire."""

    Meta = table_meta("credit_packs")
    site_scope = PLATFORM
    scope = UnicodeAttribute(hash_key=True, default=GLOBAL_SCOPE)
    pack_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    idea_credits = NumberAttribute(default=0)
    content_credits = NumberAttribute(default=0)
    image_credits = NumberAttribute(default=0)
    optimization_credits = NumberAttribute(default=0)
    price_cents = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="usd")
    stripe_price_id = UnicodeAttribute(null=True)
    is_active = BooleanAttribute(default=True)
    sort_order = NumberAttribute(default=0)
    updated_by = UnicodeAttribute(null=True)
