"""Reading Stripe's objects: current API shapes and the older ones give the same facts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from chalicelib.services import credit_periods, plans, stripe_events
from tests import stripe_support as ss

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture(autouse=True)
def priced_plans(monkeypatch):
    catalogue = {price: SimpleNamespace(plan_id=plan_id) for (plan_id, _), price in ss.PRICES.items()}
    monkeypatch.setattr(plans, "plan_for_price", lambda price: catalogue.get(price))
    monkeypatch.setattr(plans, "all_plans", lambda: [SimpleNamespace(plan_id=p) for p in ("free", "starter", "growth")])
    monkeypatch.setattr(plans, "all_packs", lambda: [])


def test_a_basil_invoice_names_its_subscription_plan_and_the_period_it_pays_for():
    inv = ss.invoice(customer="cus_1", sub_id="sub_1", price=ss.PRICES[("growth", "month")], period_start=T0,
                     period_end=T0 + ss.MONTH)
    info = stripe_events.invoice_info(inv)
    assert (info.subscription_id, info.plan_id, info.billing_reason) == ("sub_1", "growth", "subscription_cycle")
    # The line's period, not the invoice's own period_start/end (the month before).
    assert info.period_start == datetime.fromtimestamp(T0, UTC)
    assert info.period_end == datetime.fromtimestamp(T0 + ss.MONTH, UTC)


def test_a_legacy_invoice_shape_gives_the_same_facts():
    inv = {"id": "in_1", "object": "invoice", "customer": "cus_1", "subscription": "sub_1",
           "billing_reason": "subscription_create", "amount_paid": 4900, "period_start": T0, "period_end": T0,
           "lines": {"data": [{"id": "il_1", "price": {"id": ss.PRICES[("starter", "year")]}, "proration": False,
                               "type": "subscription", "period": {"start": T0, "end": T0 + 365 * ss.DAY}}]}}
    info = stripe_events.invoice_info(inv)
    assert (info.subscription_id, info.plan_id) == ("sub_1", "starter")
    assert info.period_end == datetime.fromtimestamp(T0 + 365 * ss.DAY, UTC)


def test_an_upgrade_invoice_names_the_new_plan_from_its_positive_proration_line():
    inv = ss.upgrade_invoice(customer="cus_1", sub_id="sub_1", old_price=ss.PRICES[("starter", "month")],
                             new_price=ss.PRICES[("growth", "month")], at=T0, period_end=T0 + ss.MONTH)
    info = stripe_events.invoice_info(inv)
    assert (info.billing_reason, info.plan_id) == ("subscription_update", "growth")


def test_an_unknown_price_falls_back_to_the_plan_our_checkout_named_and_never_invents_one():
    inv = ss.invoice(customer="cus_1", sub_id="sub_1", price="price_unknown", period_start=T0,
                     period_end=T0 + ss.MONTH, metadata={"plan_id": "starter"})
    assert stripe_events.invoice_info(inv).plan_id == "starter"
    inv = ss.invoice(customer="cus_1", sub_id="sub_1", price="price_unknown", period_start=T0,
                     period_end=T0 + ss.MONTH, metadata={"plan_id": "platinum"})
    assert stripe_events.invoice_info(inv).plan_id is None


def test_a_subscription_reads_its_period_from_its_items_or_from_itself():
    sub = ss.subscription(sub_id="sub_1", customer="cus_1", price=ss.PRICES[("growth", "year")], created=T0,
                          period_start=T0, period_end=T0 + 365 * ss.DAY, interval="year",
                          cancel_at_period_end=True)
    state = stripe_events.subscription_state(sub)
    assert (state.plan_id, state.interval, state.status, state.cancel_at_period_end) == ("growth", "year", "active",
                                                                                          True)
    assert state.current_period_end == datetime.fromtimestamp(T0 + 365 * ss.DAY, UTC)
    legacy = {"id": "sub_1", "object": "subscription", "status": "past_due", "created": T0,
              "current_period_start": T0, "current_period_end": T0 + ss.MONTH,
              "plan": {"id": ss.PRICES[("starter", "month")], "interval": "month"},
              "items": {"data": [{"id": "si_1", "price": {"id": ss.PRICES[("starter", "month")],
                                                          "recurring": {"interval": "month"}}}]}}
    state = stripe_events.subscription_state(legacy)
    assert (state.plan_id, state.interval, state.status) == ("starter", "month", "past_due")
    assert state.current_period_start == datetime.fromtimestamp(T0, UTC)


def test_ids_are_read_whether_expanded_or_not():
    assert stripe_events._id("cus_1") == "cus_1"
    assert stripe_events._id({"id": "cus_1", "object": "customer"}) == "cus_1"
    assert stripe_events._id(None) is None and stripe_events._id("") is None


def test_pack_credits_come_from_the_session_and_ignore_junk():
    assert stripe_events._pack_credits({"credits": '{"content":50,"image":"x","bogus":3}'}) == {
        "idea": 0, "content": 50, "optimization": 0}
    assert stripe_events._pack_credits({"credits": "not json", "pack_id": "nope"}) == {}


def test_period_keys_sort_by_start_time():
    a = credit_periods.period_key_for(datetime(2026, 1, 1, tzinfo=UTC), "in_b")
    b = credit_periods.period_key_for(datetime(2026, 2, 1, tzinfo=UTC), "in_a")
    assert a < b and a.startswith("2026-01-01T00:00:00Z#")
