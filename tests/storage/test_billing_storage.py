"""Billing on both backends (moto and DynamoDB Local): the ledger audit after randomised
sequences of Stripe events (out of order, replayed) and generations; event claims; races."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from chalicelib.models.accounts import Account
from chalicelib.models.billing import CREDIT_TYPES, CreditLedgerEntry, CreditPeriod
from chalicelib.models.payments import StripeEvent
from chalicelib.services import billing, credits, plans, stripe_events
from chalicelib.services.ttl_cache import clear_all
from tests import stripe_support as ss


def _setup(account_id: str = "acct-1") -> str:
    for (plan_id, interval), price in ss.PRICES.items():
        plans.update_plan(plan_id, {f"stripe_price_{'monthly' if interval == 'month' else 'yearly'}": price})
    clear_all()
    Account(account_id, name="Acme", plan_id="free", owner_user_id="u1", user_count=1, site_count=0).save()
    credits.start_first_period(account_id, plans.get_plan("free"))
    customer = f"cus_{account_id.replace('-', '')}0000001"
    billing.link_customer(account_id, customer)
    return customer


def audit(account_id: str) -> dict[str, dict[str, int]]:
    """grants - debits = balance, per type and bucket, from the ledger alone; nothing negative."""
    entries = list(CreditLedgerEntry.query(account_id, consistent_read=True))
    bal = credits.get_balance(account_id)
    for t in CREDIT_TYPES:
        plan, pack = int(getattr(bal, f"{t}_plan") or 0), int(getattr(bal, f"{t}_pack") or 0)
        assert plan >= 0 and pack >= 0, (t, plan, pack)
        grants = sum(int(e.delta) for e in entries if e.credit_type == t and int(e.delta) > 0)
        debits = -sum(int(e.delta) for e in entries if e.credit_type == t and int(e.delta) < 0)
        assert grants - debits == plan + pack, (t, grants, debits, plan, pack)
        assert sum(int(e.plan_delta) for e in entries if e.credit_type == t) == plan, t
        assert sum(int(e.pack_delta) for e in entries if e.credit_type == t) == pack, t
    return credits.balances(account_id)


def snapshot(account_id: str) -> Any:
    account = Account.get(account_id, consistent_read=True)
    bal = credits.get_balance(account_id)
    ledger = sorted((e.entry_key, int(e.delta)) for e in CreditLedgerEntry.query(account_id, consistent_read=True))
    periods = sorted((p.period_key, p.status) for p in CreditPeriod.query(account_id, consistent_read=True))
    return (credits.balances(account_id), sorted(bal.past_due_invoices or []), bal.period_key, account.plan_id,
            account.subscription_id, ledger, periods)


class Timeline:
    """Stripe's events for one customer over a few months, in the order Stripe would create them."""

    def __init__(self, rng: random.Random, customer: str, account_id: str) -> None:
        self.rng, self.customer, self.account_id = rng, customer, account_id
        self.events: list[dict[str, Any]] = []
        self.t = int(time.time()) + 5

    def add(self, event_type: str, obj: dict[str, Any]) -> None:
        self.t += self.rng.randint(1, 50)
        self.events.append(ss.event(event_type, obj, created=self.t))

    def build(self, months: int) -> list[dict[str, Any]]:
        rng = self.rng
        sub_id, plan = ss.sid("sub"), rng.choice(["starter", "growth"])
        start = self.t
        price = ss.PRICES[(plan, "month")]
        sub = {"sub_id": sub_id, "customer": self.customer, "created": start}
        self.add("customer.subscription.created", ss.subscription(**sub, price=price, status="incomplete",
                                                                  period_start=start, period_end=start + ss.MONTH))
        self.add("checkout.session.completed", ss.checkout_subscription(
            customer=self.customer, account_id=self.account_id, plan_id=plan, subscription=sub_id, created=start))
        self.add("customer.subscription.updated", ss.subscription(**sub, price=price, period_start=start,
                                                                  period_end=start + ss.MONTH))
        self.add("invoice.paid", ss.invoice(customer=self.customer, sub_id=sub_id, price=price, period_start=start,
                                            period_end=start + ss.MONTH, billing_reason="subscription_create"))
        period_start = start
        for _ in range(months):
            choice = rng.random()
            if choice < 0.25:  # a credit pack, maybe refunded (in part)
                pi = ss.sid("pi")
                credits_bought = {rng.choice(CREDIT_TYPES): rng.randint(5, 80)}
                self.add("checkout.session.completed", ss.checkout_pack(
                    customer=self.customer, account_id=self.account_id, payment_intent=pi, credits=credits_bought,
                    amount=1000))
                if rng.random() < 0.6:
                    self.add("charge.refunded", ss.charge_refunded(customer=self.customer, payment_intent=pi,
                                                                   amount=1000, refunded=rng.choice([300, 1000])))
            elif choice < 0.4:  # an upgrade / downgrade in the portal
                new_plan = "growth" if plan == "starter" else "starter"
                new_price = ss.PRICES[(new_plan, "month")]
                self.add("customer.subscription.updated", ss.subscription(
                    **sub, price=new_price, period_start=period_start, period_end=period_start + ss.MONTH))
                self.add("invoice.paid", ss.upgrade_invoice(
                    customer=self.customer, sub_id=sub_id, old_price=price, new_price=new_price,
                    at=period_start + 100, period_end=period_start + ss.MONTH))
                plan, price = new_plan, new_price
            period_start += ss.MONTH
            cycle = ss.invoice(customer=self.customer, sub_id=sub_id, price=price, period_start=period_start,
                               period_end=period_start + ss.MONTH)
            if rng.random() < 0.3:  # the renewal fails first, then is paid
                self.add("invoice.payment_failed", {**cycle, "status": "open", "amount_paid": 0})
            self.add("invoice.paid", cycle)
        if rng.random() < 0.5:
            self.add("customer.subscription.deleted", ss.subscription(
                **sub, price=price, status="canceled", period_start=period_start,
                period_end=period_start + ss.MONTH, ended_at=period_start + ss.MONTH))
        return self.events


def deliveries(rng: random.Random, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stripe's delivery: out of order (nearby events swapped) and at least once (repeats)."""
    order = list(events)
    for i in range(len(order) - 1):
        if rng.random() < 0.35:
            j = min(len(order) - 1, i + rng.randint(1, 3))
            order[i], order[j] = order[j], order[i]
    out: list[dict[str, Any]] = []
    for evt in order:
        out.append(evt)
        if rng.random() < 0.25:
            out.append(rng.choice(out))  # a retry of this or an earlier event
    return out


def generate(rng: random.Random, account_id: str, n: int) -> None:
    """Generation as the pipeline does it: check, then charge once per operation key."""
    operation = rng.choice(["generate_ideas", "generate_content", "generate_images", "optimize_content"])
    amount = rng.randint(1, 60)
    try:
        credits.require_credits(account_id, {credits.credit_type_of(operation): amount}, margin=1.0)
    except (credits.InsufficientCredits, credits.AccountPastDue):
        return
    key = f"job#{n}" if rng.random() < 0.8 else f"job#{rng.randint(0, max(0, n - 1))}"  # retried charges too
    try:
        credits.charge(account_id, operation=operation, amount=amount, key=key)
    except credits.InsufficientCredits:
        pass


@pytest.mark.parametrize("seed", [7, 2026])
def test_the_ledger_audit_holds_after_random_events_and_generations(ddb, seed):
    rng = random.Random(seed)
    account_id = "acct-1"
    customer = _setup(account_id)
    events = Timeline(rng, customer, account_id).build(months=6)
    n = 0
    for evt in deliveries(rng, events):
        stripe_events.process(evt)
        for _ in range(rng.randint(0, 3)):
            generate(rng, account_id, n)
            n += 1
        audit(account_id)
    final = snapshot(account_id)
    handled = [StripeEvent.get(e["id"], consistent_read=True) for e in events]
    assert all(r.status == "done" for r in handled)

    # Replaying any event changes nothing: as a duplicate, and with its record gone (after the TTL).
    for evt in rng.sample(events, len(events)):
        assert stripe_events.process(evt)["outcome"] == "duplicate"
    assert snapshot(account_id) == final
    for evt in rng.sample(events, len(events)):
        StripeEvent(evt["id"]).delete()
        stripe_events.process(evt)
    assert snapshot(account_id) == final
    balances = audit(account_id)
    assert all(v["available"] >= 0 for v in balances.values())


def test_charges_racing_a_new_period_never_expire_a_stale_amount(ddb):
    customer = _setup()
    sub_id, start = ss.sid("sub"), int(time.time()) + 5
    price = ss.PRICES[("starter", "month")]
    stripe_events.process(ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer, price=price, created=start, period_start=start,
        period_end=start + ss.MONTH), created=start))
    periods = [ss.event("invoice.paid", ss.invoice(
        customer=customer, sub_id=sub_id, price=price, period_start=start + k * ss.MONTH,
        period_end=start + (k + 1) * ss.MONTH, billing_reason="subscription_create" if k == 0 else
        "subscription_cycle")) for k in range(4)]
    errors: list[BaseException] = []

    def charge(i: int) -> None:
        try:
            credits.charge("acct-1", operation="generate_ideas", amount=3, key=f"race#{i}")
        except credits.InsufficientCredits:
            pass
        except BaseException as exc:
            errors.append(exc)

    def deliver(evt: dict[str, Any]) -> None:
        try:
            stripe_events.process(evt)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=charge, args=(i,)) for i in range(24)]
    threads += [threading.Thread(target=deliver, args=(evt,)) for evt in periods]
    rng = random.Random(5)
    rng.shuffle(threads)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not [e for e in errors if not isinstance(e, stripe_events.Conflict)], errors
    for evt in periods:  # a delivery that met a busy claim is retried by Stripe
        stripe_events.process(evt)
    audit("acct-1")
    grants = [e for e in CreditLedgerEntry.query("acct-1") if e.operation == "plan_grant" and e.credit_type == "idea"]
    assert len(grants) == 5  # signup + four periods, each once


def test_a_claim_is_a_lease_that_lapses_after_a_crash(ddb, monkeypatch):
    evt = ss.event("invoice.paid", {"id": "in_1", "object": "invoice"})
    assert stripe_events._claim(evt) == "claimed"
    assert stripe_events._claim(evt) == "busy"
    now = int(time.time())
    monkeypatch.setattr(stripe_events, "_epoch", lambda: now + stripe_events.LEASE_SECONDS + 1)
    assert stripe_events._claim(evt) == "claimed"  # the first handler died: its lease ran out
    stripe_events._complete(evt["id"], None, "test")
    assert stripe_events._claim(evt) == "done"
    record = StripeEvent.get(evt["id"])
    assert record.expires_epoch >= now + 45 * ss.DAY - 5


def test_a_crash_midway_lets_the_retry_finish_the_work_exactly_once(ddb, monkeypatch):
    customer = _setup()
    sub_id, start = ss.sid("sub"), int(time.time()) + 5
    price = ss.PRICES[("growth", "month")]
    evt = ss.event("invoice.paid", ss.invoice(customer=customer, sub_id=sub_id, price=price, period_start=start,
                                              period_end=start + ss.MONTH, billing_reason="subscription_create"))
    past_due = ss.event("invoice.payment_failed", {**evt["data"]["object"], "status": "open"}, created=start - 5)
    stripe_events.process(past_due)
    from chalicelib.services import credit_periods

    real = credit_periods.open_period

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(credit_periods, "open_period", crash)
    with pytest.raises(RuntimeError):
        stripe_events.process(evt)  # the invoice was recorded paid, the period not opened
    assert StripeEvent.get(evt["id"]).status == "processing"
    monkeypatch.setattr(credit_periods, "open_period", real)
    assert stripe_events.process(evt)["outcome"] == "period_opened"  # Stripe's retry, at once (lease released)
    assert stripe_events.process(evt)["outcome"] == "duplicate"
    assert credits.balances("acct-1")["idea"]["plan"] == 1000
    assert not credits.get_balance("acct-1").past_due_invoices
    audit("acct-1")
