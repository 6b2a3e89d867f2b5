"""Free plans renew monthly: the schedule opens the next period once, whatever the ticks, and says so.

Real DynamoDB and SQS (moto), the schedule's handler as app.py registers it (fired through the
local clock), the account-event worker for the "plan renewed" notification.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import app as app_module
from chalicelib import timeutil
from chalicelib.models.billing import CreditLedgerEntry, CreditPeriod
from chalicelib.services import billing, credits, plan_renewals
from chalicelib.services.credit_periods import plan_grants
from chalicelib.services.ledger import get_balance
from chalicelib.services.plans import get_plan
from infra.local.clock import Clock
from tests.workers.notify_support import drain

DAY = 24 * 3600


def fire() -> dict:
    return Clock(app_module).fire("plan_renewals")


def periods(account_id: str) -> list[CreditPeriod]:
    return list(CreditPeriod.query(account_id))


def test_a_free_plan_renews_once_however_many_ticks_see_it(api, register):
    owner = register(plan=None)
    free = plan_grants(get_plan("free"))
    first = get_balance(owner.account_id)
    assert fire()["renewed"] == 0  # not due yet
    credits.charge(owner.account_id, operation="generate_content", amount=1, key="spent-1")

    timeutil.advance(31 * DAY)
    results = [fire(), fire()]
    threads = [threading.Thread(target=fire) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["renewed"] for r in results] == [1, 0]

    renewed = get_balance(owner.account_id)
    assert renewed.period_start == first.period_end and renewed.period_end == first.period_end + timedelta(days=30)
    assert {t: renewed.available(t) for t in free} == free  # unused credits expired, the new ones granted
    assert sorted(p.source for p in periods(owner.account_id)) == ["renewal", "signup"]
    grants = [e for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "grant"]
    assert len(grants) == 2 * len([n for n in free.values() if n])  # signup's and the renewal's, once each
    drain()
    inbox = api.get("/v1/notifications?limit=50", token=owner.token).json["items"]
    assert [n["event"] for n in inbox].count("plan.renewed") == 1


def test_periods_missed_are_not_granted_after_the_fact(register):
    owner = register(plan=None)
    first = get_balance(owner.account_id)
    timeutil.advance(95 * DAY)  # three periods passed with no tick
    assert fire()["renewed"] == 1
    assert fire()["renewed"] == 0
    renewed = get_balance(owner.account_id)
    assert renewed.period_start == first.period_end + timedelta(days=60)
    assert renewed.period_start <= timeutil.utcnow() < renewed.period_end
    assert len(periods(owner.account_id)) == 2


def test_an_account_with_a_subscription_is_renewed_by_its_invoices_not_the_schedule(register):
    owner = register(plan=None)
    state = billing.SubscriptionState(subscription_id="sub_renew0001", status="active", plan_id="starter",
                                      created=1_700_000_000)
    billing.apply_subscription(owner.account_id, state, ts=1_700_000_001, source="test")
    timeutil.advance(31 * DAY)
    assert fire()["subscribed"] == 1
    assert fire()["subscribed"] == 0  # it left the index
    assert len(periods(owner.account_id)) == 1
    assert get_balance(owner.account_id).renewal_shard is None


def test_a_period_an_invoice_opened_is_not_in_the_renewal_index(register):
    owner = register(plan=None)
    assert get_balance(owner.account_id).renewal_shard is not None  # the signup period renews itself
    start = timeutil.utcnow()
    info = billing.InvoiceInfo(invoice_id="in_renew0001", subscription_id="sub_renew0002",
                               billing_reason="subscription_create", price_id=None, plan_id="starter",
                               period_start=start, period_end=start + timedelta(days=30), amount_paid_cents=900)
    billing.invoice_paid(owner.account_id, info)
    assert get_balance(owner.account_id).renewal_shard is None
    timeutil.advance(31 * DAY)
    assert fire()["renewed"] == 0


def test_the_next_start_is_the_last_boundary_before_now():
    end = timeutil.utcnow()
    assert plan_renewals.next_start(end, end) == end
    assert plan_renewals.next_start(end, end + timedelta(days=29)) == end
    assert plan_renewals.next_start(end, end + timedelta(days=61)) == end + timedelta(days=60)
