"""Billing with Stripe: customers, checkout and portal, subscriptions, invoices, credit packs.

What each Stripe fact does to an account (webhooks: ``services/stripe_events.py``):

- a subscription that is live (active, trialing, past_due, unpaid) sets the account's plan
  (its limits); one that ended (canceled, incomplete_expired) puts the account back on the
  free plan and opens a free period, in one transaction with the plan switch (the ended
  plan's unused credits expire then, even on a plan that rolls over; packs stay);
- a paid subscription invoice opens the period it pays for and grants its plan's credits
  (``credit_periods.open_period``, keyed by the invoice); an upgrade's invoice tops up the
  difference; a failed one marks the account past due until that invoice is paid;
- a paid credit pack adds never-expiring pack credits; a refund takes back its share of
  what is left of them.

Order: subscription states carry the ``created`` time of their event and an older state
never overwrites a newer one; ended is final. Invoices and packs are keyed by their own
ids, so their effects do not depend on the order they arrive in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import config
from chalicelib.auth.context import Tenant
from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.integrations import stripe_client
from chalicelib.models.accounts import Account
from chalicelib.models.billing import BALANCE_KEY, CREDIT_TYPES, CreditBalance, amounts
from chalicelib.models.conditions import conditional
from chalicelib.models.payments import InvoiceRecord, PackPurchase, StripeCustomer, Subscription
from chalicelib.models.transactions import ConditionsFailed, Transaction, TransactionConflict, optimistic
from chalicelib.services import audit, credit_periods, plans
from chalicelib.services.accounts import get_account, get_user
from chalicelib.services.ledger import entry, existing_entry, get_balance, new_entry_only
from chalicelib.timeutil import utcnow

LIVE = ("active", "trialing", "past_due", "unpaid")
PERIOD_REASONS = ("subscription_create", "subscription_cycle")  # invoices that pay for a new period
ENDED = ("canceled", "incomplete_expired")
FREE_PERIOD_DAYS = 30


class PlanNotFound(ApiError):
    status, code = 503, "plan_not_configured"


def from_epoch(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


# --- the account <-> Stripe customer link ------------------------------------------------------

def account_for_customer(customer_id: str | None) -> str | None:
    if not customer_id:
        return None
    try:
        return StripeCustomer.get(customer_id).account_id
    except StripeCustomer.DoesNotExist:
        return None


def link_customer(account_id: str, customer_id: str) -> str:
    """Store the link both ways (once); returns the account's customer id."""
    tx = Transaction("link customer")
    tx.put(StripeCustomer(customer_id, account_id=account_id, created_at=utcnow()),
           condition=StripeCustomer.stripe_customer_id.does_not_exist(), label="customer")
    tx.update(Account(account_id), [Account.stripe_customer_id.set(customer_id)],
              condition=Account.account_id.exists() & Account.stripe_customer_id.does_not_exist(), label="account")
    with conditional() as write:
        tx.commit()
    if not write.held:
        try:
            account = Account.get(account_id, consistent_read=True)
        except Account.DoesNotExist:
            raise NotFound("Account") from None
        if account.stripe_customer_id:
            return str(account.stripe_customer_id)
        raise Conflict("This Stripe customer belongs to another account.", code="customer_taken") from None
    return customer_id


def ensure_customer(account: Account, email: str | None) -> str:
    if account.stripe_customer_id:
        return str(account.stripe_customer_id)
    customer_id = stripe_client.create_customer(account_id=account.account_id, name=account.name, email=email)
    return link_customer(account.account_id, customer_id)


# --- checkout and portal -----------------------------------------------------------------------

def _return_url(**query: str) -> str:
    base = config.billing_return_url()
    if not query:
        return base
    sep = "&" if "?" in base else "?"
    return base + sep + "&".join(f"{k}={v}" for k, v in query.items())


def _live_subscription(account: Account) -> Subscription | None:
    if not account.subscription_id:
        return None
    try:
        sub = Subscription.get(account.account_id, account.subscription_id, consistent_read=True)
    except Subscription.DoesNotExist:
        return None
    return sub if sub.status in LIVE else None


def checkout(tenant: Tenant, *, kind: str, plan_id: str | None = None, interval: str = "month",
             pack_id: str | None = None, request_key: str | None = None) -> dict[str, str]:
    """A Stripe Checkout Session for a plan subscription or a credit pack; returns its URL."""
    account = get_account(tenant.account_id)
    meta: dict[str, str] = {"account_id": account.account_id, "kind": kind}
    if kind == "plan":
        plan = plans.purchasable_plan(plan_id or "")
        price = plan.stripe_price_yearly if interval == "year" else plan.stripe_price_monthly
        if not price:
            raise UnprocessableEntity(f"The {plan.name} plan cannot be bought {interval}ly.",
                                      code="price_not_configured", details={"plan_id": plan.plan_id})
        if _live_subscription(account) is not None:
            raise Conflict("This account already has a subscription; change its plan in the billing portal "
                           "(POST /v1/billing/portal).", code="subscription_exists")
        meta.update(plan_id=plan.plan_id, interval=interval)
        params: dict[str, Any] = {"mode": "subscription", "subscription_data": {"metadata": dict(meta)}}
    else:
        pack = plans.purchasable_pack(pack_id or "")
        if not pack.stripe_price_id:
            raise UnprocessableEntity(f"The {pack.name} pack is not for sale yet.", code="price_not_configured",
                                      details={"pack_id": pack.pack_id})
        price = pack.stripe_price_id
        # What was bought is fixed now: a later staff edit of the pack does not change this sale.
        meta.update(kind="credit_pack", pack_id=pack.pack_id,
                    credits=json.dumps({t: n for t, n in plans.pack_credits(pack).items() if n},
                                       separators=(",", ":")))
        params = {"mode": "payment", "payment_intent_data": {"metadata": dict(meta)}}
    email = get_user(tenant.account_id, tenant.user_id).email
    customer = ensure_customer(account, email)
    params.update(customer=customer, client_reference_id=account.account_id, metadata=meta,
                  line_items=[{"price": price, "quantity": 1}],
                  success_url=_return_url(checkout="success", session_id="{CHECKOUT_SESSION_ID}"),
                  cancel_url=_return_url(checkout="cancelled"))
    session = stripe_client.create_checkout_session(
        params, idempotency_key=f"checkout-{account.account_id}-{request_key or new_id()}")
    return {"url": str(session.url), "session_id": str(session.id)}


def portal(tenant: Tenant, *, request_key: str | None = None) -> dict[str, str]:
    account = get_account(tenant.account_id)
    if not account.stripe_customer_id:
        raise Conflict("This account has no billing record yet; subscribe to a plan or buy a pack first "
                       "(POST /v1/billing/checkout).", code="no_billing_account")
    session = stripe_client.create_portal_session(
        {"customer": account.stripe_customer_id, "return_url": _return_url()},
        idempotency_key=f"portal-{account.account_id}-{request_key or new_id()}")
    return {"url": str(session.url)}


def status(account_id: str) -> dict[str, Any]:
    """Plan, subscription, past-due state and limits (a downgrade keeps what exists, refuses more)."""
    account = get_account(account_id)
    plan = plans.get_plan(account.plan_id)
    sub = None
    if account.subscription_id:
        try:
            sub = Subscription.get(account_id, account.subscription_id)
        except Subscription.DoesNotExist:
            sub = None
    bal = get_balance(account_id)
    limits = {"sites": {"used": int(account.site_count or 0), "max": int(plan.max_sites)},
              "users": {"used": int(account.user_count or 0), "max": int(plan.max_users)}}
    return {
        "plan_id": plan.plan_id, "plan_name": plan.name, "subscription": sub,
        "past_due": bool(bal.past_due_invoices), "unpaid_invoices": sorted(bal.past_due_invoices or []),
        "has_billing_account": bool(account.stripe_customer_id),
        "limits": limits, "over_limit": sorted(k for k, v in limits.items() if v["used"] > v["max"]),
        "period_start": bal.period_start, "period_end": bal.period_end, "period_plan_id": bal.plan_id,
    }


# --- subscriptions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionState:
    subscription_id: str
    status: str
    plan_id: str | None = None
    price_id: str | None = None
    interval: str | None = None
    created: int = 0
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    cancel_at: datetime | None = None
    ended_at: datetime | None = None


def apply_subscription(account_id: str, state: SubscriptionState, *, ts: int, source: str,
                       only_if_absent: bool = False) -> str:
    """Store a subscription's state unless a newer one is stored; then its effect on the account."""
    record = Subscription(account_id, state.subscription_id, status=state.status, plan_id=state.plan_id,
                          price_id=state.price_id, interval=state.interval, sub_created=state.created,
                          current_period_start=state.current_period_start,
                          current_period_end=state.current_period_end,
                          cancel_at_period_end=state.cancel_at_period_end, cancel_at=state.cancel_at,
                          ended_at=state.ended_at, state_ts=ts, source=source)
    absent = Subscription.subscription_id.does_not_exist()
    not_ended = ~Subscription.status.is_in(*ENDED)
    if state.status in ENDED:
        condition = absent | not_ended
    elif only_if_absent:
        condition = absent
    else:
        condition = absent | ((Subscription.state_ts <= ts) & not_ended)
    with conditional() as write:
        record.save(condition=condition)
    stored = write.held
    if state.status in ENDED:
        # Also when already stored as ended: finishing a run that crashed midway is a no-op otherwise.
        return _end_subscription(account_id, state, ts)
    if not stored:
        return "stale"
    if state.status in LIVE:
        return _make_current(account_id, state)
    return "recorded"


def _plan_of(account_id: str) -> str | None:
    try:
        return Account.get(account_id, consistent_read=True).plan_id
    except Account.DoesNotExist:
        return None


def _make_current(account_id: str, state: SubscriptionState) -> str:
    before = _plan_of(account_id) if state.plan_id else None
    actions = [Account.subscription_id.set(state.subscription_id),
               Account.subscription_created.set(state.created)]
    if state.plan_id:
        actions.append(Account.plan_id.set(state.plan_id))
    # A newer subscription is never replaced by an older one's late events.
    condition = Account.account_id.exists() & (
        Account.subscription_id.does_not_exist() | (Account.subscription_id == state.subscription_id)
        | (Account.subscription_created < state.created))
    with conditional() as write:
        Account(account_id).update(actions=actions, condition=condition)
    if write.held and state.plan_id and state.plan_id != before:
        audit.record(account_id, audit.PLAN_CHANGED, audit.STRIPE, target=f"account:{account_id}",
                     details={"from": before, "to": state.plan_id, "subscription_id": state.subscription_id})
    return "applied" if write.held else "not_current"


def _end_subscription(account_id: str, state: SubscriptionState, ts: int) -> str:
    """The account's current subscription ended: back to the free plan, in a new free period."""
    sid = state.subscription_id

    def is_current() -> bool:
        try:
            return Account.get(account_id, consistent_read=True).subscription_id == sid
        except Account.DoesNotExist:
            return False

    if not is_current():
        return "ended_not_current"
    free = plans.get_plan(plans.DEFAULT_PLAN_ID)

    def switch_plan(tx: Transaction) -> None:
        tx.update(Account(account_id), [
            Account.plan_id.set(free.plan_id), Account.subscription_id.remove(),
            Account.subscription_created.remove()],
            condition=Account.subscription_id == sid, label="account")

    start = state.ended_at or (datetime.fromtimestamp(ts, UTC) if ts else utcnow())
    result = credit_periods.open_period(
        account_id, free, start=start, end=start + timedelta(days=FREE_PERIOD_DAYS), source="subscription_end",
        source_id=f"end-{sid}", extra=switch_plan, still_wanted=is_current, expire_all=True,
        # Unpaid invoices of an ended subscription no longer hold the account.
        balance_actions=lambda: [CreditBalance.past_due_invoices.remove()])
    if result.outcome in ("opened", "late"):
        audit.record(account_id, audit.PLAN_CHANGED, audit.STRIPE, target=f"account:{account_id}",
                     details={"to": free.plan_id, "subscription_id": sid, "reason": "subscription_ended"})
        return "ended"
    return f"ended_{result.outcome}"


# --- invoices ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InvoiceInfo:
    invoice_id: str
    subscription_id: str | None
    billing_reason: str | None
    price_id: str | None
    plan_id: str | None
    period_start: datetime | None
    period_end: datetime | None
    amount_paid_cents: int = 0


def _invoice_record(account_id: str, inv: InvoiceInfo, status_: str) -> InvoiceRecord:
    return InvoiceRecord(account_id, inv.invoice_id, status=status_, subscription_id=inv.subscription_id,
                         billing_reason=inv.billing_reason, plan_id=inv.plan_id, period_start=inv.period_start,
                         period_end=inv.period_end, amount_paid_cents=inv.amount_paid_cents)


def invoice_paid(account_id: str, inv: InvoiceInfo) -> str:
    """Paid: no longer past due for it; a new period's credits (or an upgrade's difference)."""
    _settle(account_id, inv, "paid")
    if inv.billing_reason not in (*PERIOD_REASONS, "subscription_update"):
        return "paid"
    if not inv.plan_id:
        # Credits are owed but we cannot tell for which plan: fail, so Stripe retries (for days)
        # while staff set the price on the plan (PATCH /v1/admin/plans/{plan_id}).
        raise PlanNotFound(f"No plan is billed with the Stripe price {inv.price_id!r} of invoice {inv.invoice_id}; "
                           "set it as a plan's stripe_price_monthly or stripe_price_yearly.",
                           details={"price_id": inv.price_id, "invoice_id": inv.invoice_id})
    plan = plans.get_plan(inv.plan_id)
    if inv.billing_reason in PERIOD_REASONS and inv.period_start and inv.period_end:
        result = credit_periods.open_period(account_id, plan, start=inv.period_start, end=inv.period_end,
                                            source="invoice", source_id=inv.invoice_id)
        return f"period_{result.outcome}"
    if inv.billing_reason == "subscription_update":
        return f"upgrade_{credit_periods.top_up(account_id, plan, key=inv.invoice_id).outcome}"
    return "paid"


def invoice_payment_failed(account_id: str, inv: InvoiceInfo) -> str:
    """Past due, unless this invoice was paid or voided meanwhile, or its subscription ended."""
    tx = Transaction("invoice failed")
    if inv.subscription_id:
        tx.check(Subscription, account_id, inv.subscription_id,
                 condition=Subscription.subscription_id.does_not_exist() | ~Subscription.status.is_in(*ENDED),
                 label="subscription")
    tx.put(_invoice_record(account_id, inv, "failed"),
           condition=InvoiceRecord.invoice_id.does_not_exist() | (InvoiceRecord.status == "failed"), label="invoice")
    tx.update(CreditBalance(account_id, BALANCE_KEY), [CreditBalance.past_due_invoices.add({inv.invoice_id})],
              label="balance")
    with conditional() as write:
        tx.commit()
    return "past_due" if write.held else "stale"


def invoice_voided(account_id: str, inv: InvoiceInfo) -> str:
    _settle(account_id, inv, "void")
    return "voided"


def _settle(account_id: str, inv: InvoiceInfo, status_: str) -> None:
    """The invoice is paid or void: recorded so, and it no longer holds the account past due."""
    tx = Transaction(f"invoice {status_}")
    tx.put(_invoice_record(account_id, inv, status_), label="invoice")
    tx.update(CreditBalance(account_id, BALANCE_KEY), [CreditBalance.past_due_invoices.delete({inv.invoice_id})],
              label="balance")
    tx.commit()


# --- credit packs ------------------------------------------------------------------------------

def fulfil_pack(account_id: str, *, purchase_key: str, session_id: str, pack_id: str | None,
                pack_credits: dict[str, int], amount_cents: int, currency: str | None) -> str:
    """A paid pack: its credits, once (a refund recorded earlier is honoured right after)."""
    now = utcnow()
    with conditional():  # fulfilled before: the reconciliation below finishes what is missing
        PackPurchase(account_id, purchase_key).update(actions=[
            PackPurchase.checkout_session_id.set(session_id), PackPurchase.pack_id.set(pack_id),
            PackPurchase.credits.set(amounts(pack_credits)), PackPurchase.amount_cents.set(amount_cents),
            PackPurchase.currency.set(currency), PackPurchase.fulfilled.set(True),
            PackPurchase.created_at.set(PackPurchase.created_at | now),
            PackPurchase.amount_refunded_cents.set(PackPurchase.amount_refunded_cents | 0),
            PackPurchase.revoked_target.set(PackPurchase.revoked_target | amounts()),
            PackPurchase.revoked.set(PackPurchase.revoked | amounts()),
            PackPurchase.unrecovered.set(PackPurchase.unrecovered | amounts())],
            condition=PackPurchase.fulfilled.does_not_exist() | (PackPurchase.fulfilled == False))  # noqa: E712
    return _reconcile_pack(account_id, purchase_key)


def record_refund(account_id: str, *, purchase_key: str, amount_refunded_cents: int, amount_cents: int) -> str:
    """A refund (cumulative amount, as on the charge): take back the refunded share of the pack."""
    now = utcnow()
    with conditional():  # an equal or larger refund was recorded before
        PackPurchase(account_id, purchase_key).update(actions=[
            PackPurchase.amount_refunded_cents.set(amount_refunded_cents),
            PackPurchase.amount_cents.set(PackPurchase.amount_cents | amount_cents),
            PackPurchase.fulfilled.set(PackPurchase.fulfilled | False),
            PackPurchase.credits.set(PackPurchase.credits | amounts()),
            PackPurchase.revoked_target.set(PackPurchase.revoked_target | amounts()),
            PackPurchase.revoked.set(PackPurchase.revoked | amounts()),
            PackPurchase.unrecovered.set(PackPurchase.unrecovered | amounts()),
            PackPurchase.created_at.set(PackPurchase.created_at | now)],
            # Refund events may arrive out of order: the cumulative amount only grows.
            condition=PackPurchase.amount_refunded_cents.does_not_exist()
            | (PackPurchase.amount_refunded_cents < amount_refunded_cents))
    return _reconcile_pack(account_id, purchase_key)


def has_purchase(account_id: str, purchase_key: str) -> bool:
    try:
        PackPurchase.get(account_id, purchase_key)
        return True
    except PackPurchase.DoesNotExist:
        return False


def _reconcile_pack(account_id: str, purchase_key: str) -> str:
    """Bring the ledger to what the purchase record says: granted once, refunded share revoked."""
    purchase = PackPurchase.get(account_id, purchase_key, consistent_read=True)
    if not purchase.fulfilled:
        return "refund_recorded" if purchase.amount_refunded_cents else "pending"
    bought = purchase.credits.as_dict()
    _grant_pack(account_id, purchase_key, bought)
    refunded, paid = int(purchase.amount_refunded_cents or 0), int(purchase.amount_cents or 0)
    if not refunded:
        return "granted"
    for t in CREDIT_TYPES:
        if not bought[t]:
            continue
        target = bought[t] if refunded >= paid or paid <= 0 else bought[t] * refunded // paid
        _revoke(account_id, purchase_key, t, target)
    return "refunded"


def _grant_pack(account_id: str, purchase_key: str, bought: dict[str, int]) -> None:
    given = {t: n for t, n in bought.items() if n}
    if not given:
        return
    tx = Transaction("grant pack")
    for t, n in given.items():
        tx.put(entry(account_id, "grant", f"pack#{purchase_key}#{t}", t, n, 0, n, "pack_purchase", None,
                     related_object_id=purchase_key, note="credit pack (never expires)"),
               condition=new_entry_only(), label=f"grant {t}")
    tx.update(CreditBalance(account_id, BALANCE_KEY),
              [getattr(CreditBalance, f"{t}_pack").add(n) for t, n in given.items()], label="balance")
    with conditional():  # granted before (a replay, or a retry after a crash): the entries say so
        tx.commit()


def _revoke(account_id: str, purchase_key: str, credit_type: str, target: int) -> None:
    """Take back up to ``target`` credits of this purchase in total; what was spent stays spent."""
    pack_attr = getattr(CreditBalance, f"{credit_type}_pack")

    def attempt() -> None:
        purchase = PackPurchase.get(account_id, purchase_key, consistent_read=True)
        before = purchase.revoked_target.get(credit_type)
        if target <= before:
            return
        bal = get_balance(account_id)
        take = min(target - before, int(getattr(bal, f"{credit_type}_pack") or 0))
        key = f"pack#{purchase_key}#{credit_type}#{target}"
        tx = Transaction("revoke pack")
        tx.put(entry(account_id, "revoke", key, credit_type, -take, 0, -take, "pack_refund", None,
                     related_object_id=purchase_key,
                     note=f"pack refunded: {target} of its {credit_type} credits taken back in total; "
                          f"{target - before - take} of these had been spent"),
               condition=new_entry_only(), label="ledger")
        if take:
            tx.update(CreditBalance(account_id, BALANCE_KEY), [pack_attr.add(-take)], condition=pack_attr >= take,
                      label="balance")
        tx.update(purchase, [
            getattr(PackPurchase.revoked_target, credit_type).set(target),
            getattr(PackPurchase.revoked, credit_type).add(take),
            getattr(PackPurchase.unrecovered, credit_type).add(target - before - take)],
            condition=getattr(PackPurchase.revoked_target, credit_type) == before, label="purchase")
        try:
            tx.commit()
        except (ConditionsFailed, TransactionConflict):
            if existing_entry(account_id, "revoke", key) is not None:
                return  # revoked by another delivery meanwhile
            raise

    optimistic(attempt, what="credit balance")
