"""POST /v1/webhooks/stripe: signature first, each event once, order-independent effects.

Payloads are shaped like Stripe's (tests/stripe_support.py) and signed with Stripe's own
helper (``stripe.WebhookSignature.generate_signature_header``).
"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib.models.accounts import Account
from chalicelib.models.billing import CREDIT_TYPES, CreditLedgerEntry, CreditPeriod
from chalicelib.models.payments import StripeEvent, Subscription
from chalicelib.services import billing, credits
from tests import stripe_support as ss

pytestmark = pytest.mark.security  # make test-security: forged, stale and replayed Stripe calls
PATH = "/v1/webhooks/stripe"


@pytest.fixture
def stripe_env(aws, monkeypatch):
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", ss.kms_key())
    ss.configure()
    yield
    from chalicelib.integrations import stripe_client

    stripe_client.reset()


@pytest.fixture
def customer(stripe_env, register):
    """An account (on the free plan, as after sign-up) linked to its Stripe customer."""
    owner = register(plan=None)
    customer_id = ss.sid("cus")
    billing.link_customer(owner.account_id, customer_id)
    owner.customer = customer_id
    return owner


def deliver(api, event, *, secret=ss.WEBHOOK_SECRET, timestamp=None, body=None, header=None):
    raw = body if body is not None else ss.payload(event)
    sig = header if header is not None else ss.sign(raw if isinstance(raw, str) else raw.decode(), secret, timestamp)
    headers = {"content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com)"}
    if sig:
        headers["Stripe-Signature"] = sig
    return api.post(PATH, body=raw, headers=headers)


def ok(resp, outcome=None):
    assert resp.status == 200, (resp.status, resp.json)
    if outcome is not None:
        assert resp.json["outcome"] == outcome, resp.json
    return resp.json


def state(account_id):
    """Everything a webhook may change for an account, for before/after comparisons."""
    bal = credits.get_balance(account_id)
    account = Account.get(account_id)
    ledger = sorted((e.entry_key, int(e.delta), int(e.plan_delta), int(e.pack_delta))
                    for e in CreditLedgerEntry.query(account_id))
    periods = sorted((p.period_key, p.status, json.dumps(p.granted.as_dict()), json.dumps(p.added.as_dict()))
                     for p in CreditPeriod.query(account_id))
    subs = sorted((s.subscription_id, s.status, s.plan_id, int(s.state_ts)) for s in Subscription.query(account_id))
    return {"balance": credits.balances(account_id), "past_due": sorted(bal.past_due_invoices or []),
            "period": bal.period_key, "plan": account.plan_id, "sub": account.subscription_id,
            "ledger": ledger, "periods": periods, "subs": subs}


def audit(account_id):
    """grants - debits (every ledger delta) == balance, per type and per bucket; nothing negative."""
    entries = list(CreditLedgerEntry.query(account_id))
    bal = credits.get_balance(account_id)
    for t in CREDIT_TYPES:
        plan, pack = int(getattr(bal, f"{t}_plan") or 0), int(getattr(bal, f"{t}_pack") or 0)
        assert plan >= 0 and pack >= 0, (t, plan, pack)
        assert sum(int(e.plan_delta) for e in entries if e.credit_type == t) == plan, t
        assert sum(int(e.pack_delta) for e in entries if e.credit_type == t) == pack, t
        assert sum(int(e.delta) for e in entries if e.credit_type == t) == plan + pack, t


def subscribe(api, owner, *, plan="starter", interval="month", start=None, sub_id=None):
    """The events of a new subscription, in Stripe's usual order; returns (sub_id, start, end)."""
    start = start or int(time.time()) + 2
    end = start + ss.MONTH
    sub_id = sub_id or ss.sid("sub")
    price = ss.PRICES[(plan, interval)]
    ok(deliver(api, ss.event("customer.subscription.created", ss.subscription(
        sub_id=sub_id, customer=owner.customer, price=price, status="incomplete", created=start,
        period_start=start, period_end=end), created=start)))
    ok(deliver(api, ss.event("checkout.session.completed", ss.checkout_subscription(
        customer=owner.customer, account_id=owner.account_id, plan_id=plan, subscription=sub_id,
        interval=interval, created=start - 30), created=start + 1)))
    ok(deliver(api, ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=owner.customer, price=price, created=start, period_start=start, period_end=end),
        created=start + 1, previous={"status": "incomplete"})))
    ok(deliver(api, ss.event("invoice.paid", ss.invoice(
        customer=owner.customer, sub_id=sub_id, price=price, period_start=start, period_end=end,
        billing_reason="subscription_create"), created=start + 1)), "period_opened")
    return sub_id, start, end


# --- signature: checked on the raw body before anything else ------------------------------------

@pytest.mark.security
@pytest.mark.parametrize("case", ["forged_body", "wrong_secret", "stale", "missing", "garbage", "other_scheme",
                                  "not_utf8"])
def test_an_unverified_request_is_a_400_and_changes_nothing(api, customer, case):
    sub = ss.sid("sub")
    evt = ss.event("invoice.paid", ss.invoice(customer=customer.customer, sub_id=sub,
                                              price=ss.PRICES[("growth", "month")], period_start=int(time.time()) + 5,
                                              period_end=int(time.time()) + ss.MONTH,
                                              billing_reason="subscription_create"))
    raw = ss.payload(evt)
    before = state(customer.account_id)
    if case == "forged_body":  # signed, then the amount of credits "changed" on the way
        r = deliver(api, evt, header=ss.sign(raw), body=raw.replace('"growth', '"growth ').replace("4900", "1"))
    elif case == "wrong_secret":
        r = deliver(api, evt, secret="whsec_someone_elses_endpoint_secret")
    elif case == "stale":  # beyond Stripe's default tolerance of 300 s
        r = deliver(api, evt, timestamp=int(time.time()) - 301)
    elif case == "missing":
        r = deliver(api, evt, header="")
    elif case == "garbage":
        r = deliver(api, evt, header="t=abc,v1=zz")
    elif case == "other_scheme":  # a valid signature under a scheme we do not accept
        r = deliver(api, evt, header=ss.sign(raw).replace("v1=", "v0="))
    else:
        r = deliver(api, evt, body=b'{"id": "\xff\xfe"}', header=ss.sign('{"id": "??"}'))
    assert r.status == 400, (r.status, r.json)
    assert r.error_code == "invalid_signature"
    assert set(r.json["error"]) == {"code", "message", "details", "request_id"}
    assert state(customer.account_id) == before
    assert StripeEvent.count(evt["id"]) == 0


@pytest.mark.security
def test_a_fresh_signature_within_the_tolerance_is_accepted(api, customer):
    evt = ss.event("customer.created", {"id": customer.customer, "object": "customer"})
    assert deliver(api, evt, timestamp=int(time.time()) - 200).status == 200


@pytest.mark.security
def test_without_a_configured_webhook_secret_the_endpoint_answers_503_so_stripe_retries(api, customer):
    from chalicelib.services import providers

    providers.update_provider("stripe", {}, secret_values={"webhook_secret": None})
    r = deliver(api, ss.event("invoice.paid", {"id": "in_x", "object": "invoice"}))
    assert r.status == 503 and r.error_code == "billing_unavailable"


@pytest.mark.security
def test_unknown_event_types_are_acknowledged_and_ignored(api, customer):
    before = state(customer.account_id)
    for event_type in ("customer.created", "payment_intent.created", "invoice.finalized", "product.updated"):
        answer = ok(deliver(api, ss.event(event_type, {"id": ss.sid("obj"), "object": "thing"})), "ignored")
        assert answer["handled"] is False
        assert StripeEvent.count(answer["event_id"]) == 0
    assert state(customer.account_id) == before


# --- each event once ----------------------------------------------------------------------------

@pytest.mark.security
def test_replaying_an_event_changes_nothing(api, customer):
    sub_id, start, _ = subscribe(api, customer)
    evt = ss.event("invoice.paid", ss.invoice(customer=customer.customer, sub_id=sub_id,
                                              price=ss.PRICES[("starter", "month")], period_start=start + ss.MONTH,
                                              period_end=start + 2 * ss.MONTH))
    raw = ss.payload(evt)
    header = ss.sign(raw)
    assert ok(deliver(api, evt, body=raw, header=header))["handled"] is True
    after_first = state(customer.account_id)
    # The same delivery again (Stripe retries), and the same event re-sent later with a new signature.
    assert ok(deliver(api, evt, body=raw, header=header), "duplicate")["handled"] is False
    assert ok(deliver(api, evt), "duplicate")["handled"] is False
    assert state(customer.account_id) == after_first
    record = StripeEvent.get(evt["id"])
    assert record.status == "done" and record.account_id == customer.account_id
    assert record.expires_epoch - time.time() > 30 * ss.DAY  # outlives Stripe's 3 days of retries


@pytest.mark.security
def test_every_handled_event_replayed_after_its_record_expired_still_changes_nothing(api, customer):
    """The effects are idempotent by themselves: even without the event records nothing doubles."""
    from chalicelib.services import stripe_events

    sent: list[dict] = []

    def send(evt, outcome=None):
        sent.append(evt)
        return ok(deliver(api, evt), outcome)

    start = int(time.time()) + 2
    end, sub_id, pi = start + ss.MONTH, ss.sid("sub"), ss.sid("pi")
    price = ss.PRICES[("starter", "month")]
    sub = {"sub_id": sub_id, "customer": customer.customer, "price": price, "created": start}
    send(ss.event("checkout.session.completed", ss.checkout_subscription(
        customer=customer.customer, account_id=customer.account_id, plan_id="starter", subscription=sub_id)))
    send(ss.event("customer.subscription.updated", ss.subscription(**sub, period_start=start, period_end=end),
                  created=start))
    send(ss.event("invoice.paid", ss.invoice(customer=customer.customer, sub_id=sub_id, price=price,
                                             period_start=start, period_end=end,
                                             billing_reason="subscription_create")), "period_opened")
    send(ss.event("checkout.session.completed", ss.checkout_pack(
        customer=customer.customer, account_id=customer.account_id, payment_intent=pi)), "granted")
    send(ss.event("charge.refunded", ss.charge_refunded(customer=customer.customer, payment_intent=pi,
                                                        refunded=1450)), "refunded")
    send(ss.event("invoice.payment_failed", ss.invoice(
        customer=customer.customer, sub_id=sub_id, price=price, period_start=end, period_end=end + ss.MONTH,
        status="open")), "past_due")
    send(ss.event("customer.subscription.updated", ss.subscription(
        **{**sub, "price": ss.PRICES[("growth", "month")]}, period_start=start, period_end=end), created=start + 9))
    send(ss.event("invoice.paid", ss.upgrade_invoice(
        customer=customer.customer, sub_id=sub_id, old_price=price, new_price=ss.PRICES[("growth", "month")],
        at=start + 10, period_end=end)), "upgrade_topped_up")
    send(ss.event("customer.subscription.deleted", ss.subscription(
        **sub, status="canceled", period_start=start, period_end=end, ended_at=end), created=end), "ended")
    before = state(customer.account_id)
    audit(customer.account_id)
    for evt in sent:  # the records are gone (as after their TTL): every handler runs again
        StripeEvent(evt["id"]).delete()
    for evt in sent:
        stripe_events.process(evt)
    assert state(customer.account_id) == before
    for evt in reversed(sent):  # and in the reverse order
        StripeEvent(evt["id"]).delete()
        stripe_events.process(evt)
    assert state(customer.account_id) == before
    audit(customer.account_id)


@pytest.mark.security
def test_a_concurrent_delivery_of_an_event_being_handled_gets_409_then_duplicate(api, customer):
    from chalicelib.services import stripe_events

    evt = ss.event("customer.subscription.updated", ss.subscription(
        sub_id=ss.sid("sub"), customer=customer.customer, price=ss.PRICES[("starter", "month")],
        created=int(time.time()), period_start=int(time.time()), period_end=int(time.time()) + ss.MONTH))
    assert stripe_events._claim(evt) == "claimed"  # another delivery holds it
    r = deliver(api, evt)
    assert r.status == 409 and r.error_code == "event_in_progress"
    stripe_events._complete(evt["id"], customer.account_id, "applied")
    ok(deliver(api, evt), "duplicate")


# --- subscriptions, periods and credits -----------------------------------------------------------

def test_a_subscription_sets_the_plan_and_its_paid_invoice_opens_a_period_with_its_credits(api, customer):
    free = credits.balances(customer.account_id)
    assert free["idea"]["plan"] == 20
    sub_id, start, _end = subscribe(api, customer, plan="starter")
    account = Account.get(customer.account_id)
    assert (account.plan_id, account.subscription_id) == ("starter", sub_id)
    bal = credits.balances(customer.account_id)
    # The free period closed: its unused credits expired (free does not roll over); starter's granted.
    assert {t: bal[t]["plan"] for t in CREDIT_TYPES} == {"idea": 200, "content": 50, "image": 100,
                                                         "optimization": 20}
    kinds = sorted((e.kind, e.credit_type, int(e.delta)) for e in CreditLedgerEntry.query(customer.account_id))
    assert ("expire", "idea", -20) in kinds and ("grant", "idea", 200) in kinds
    periods = api.get("/v1/credits/periods", token=customer.token).json["items"]
    assert [p["status"] for p in periods] == ["current", "closed"]
    assert periods[0]["source"] == "invoice" and periods[1]["source"] == "signup"
    assert periods[0]["granted"]["idea"] == 200 and periods[1]["expired"]["idea"] == 20
    assert periods[0]["period_start"].startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)))
    audit(customer.account_id)


def test_a_new_period_expires_or_rolls_over_unused_plan_credits_as_the_plan_says(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="starter")
    credits.charge(customer.account_id, operation="generate_ideas", amount=50, key="job#1")
    credits.grant(customer.account_id, credit_type="idea", amount=30, key="pack-1", bucket="pack",
                  operation="pack_purchase")
    ok(deliver(api, ss.event("invoice.paid", ss.invoice(
        customer=customer.customer, sub_id=sub_id, price=ss.PRICES[("starter", "month")], period_start=end,
        period_end=end + ss.MONTH))), "period_opened")
    bal = credits.balances(customer.account_id)
    assert bal["idea"] == {"plan": 200, "pack": 30, "available": 230}  # 150 unused expired; the pack stays
    periods = api.get("/v1/credits/periods", token=customer.token).json["items"]
    assert periods[1]["used"]["idea"] == 50 and periods[1]["expired"]["idea"] == 150

    # Growth rolls over: switch plans, then the next period keeps the unused credits.
    ok(deliver(api, ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=ss.PRICES[("growth", "month")], created=start,
        period_start=end, period_end=end + ss.MONTH), created=int(time.time()) + 10)), "applied")
    ok(deliver(api, ss.event("invoice.paid", ss.upgrade_invoice(
        customer=customer.customer, sub_id=sub_id, old_price=ss.PRICES[("starter", "month")],
        new_price=ss.PRICES[("growth", "month")], at=end + 10, period_end=end + ss.MONTH))), "upgrade_topped_up")
    bal = credits.balances(customer.account_id)
    assert bal["idea"]["plan"] == 1000  # 200 + the difference (1000 - 200)
    credits.charge(customer.account_id, operation="generate_ideas", amount=100, key="job#2")
    ok(deliver(api, ss.event("invoice.paid", ss.invoice(
        customer=customer.customer, sub_id=sub_id, price=ss.PRICES[("growth", "month")],
        period_start=end + ss.MONTH, period_end=end + 2 * ss.MONTH))), "period_opened")
    bal = credits.balances(customer.account_id)
    assert bal["idea"]["plan"] == 900 + 1000 and bal["idea"]["pack"] == 30
    current, previous = api.get("/v1/credits/periods", token=customer.token).json["items"][:2]
    assert previous["rolled_over_out"]["idea"] == 900 and current["rolled_over_in"]["idea"] == 900
    assert previous["added"]["idea"] == 800 and previous["expired"]["idea"] == 0
    audit(customer.account_id)
    ledger = api.get("/v1/credits/ledger?limit=100", token=customer.token).json
    assert ledger["totals"] == {t: v["available"] for t, v in credits.balances(customer.account_id).items()}


def test_payment_failed_marks_the_account_past_due_and_refuses_generation_until_paid(api, customer):
    sub_id, _start, end = subscribe(api, customer, plan="starter")
    site = api.post("/v1/sites", {"name": "Coffee"}, token=customer.token).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Brewing"}, token=customer.token).json["sector_id"]
    task = api.post(f"{base}/tasks", {"title": "Espresso at home", "sector_id": sector}, token=customer.token).json
    failing = ss.invoice(customer=customer.customer, sub_id=sub_id, price=ss.PRICES[("starter", "month")],
                         period_start=end, period_end=end + ss.MONTH, status="open")
    ok(deliver(api, ss.event("invoice.payment_failed", failing)), "past_due")
    status = api.get("/v1/billing", token=customer.token).json
    assert status["past_due"] is True and status["unpaid_invoices"] == [failing["id"]]
    r = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task["task_id"]]}, token=customer.token)
    assert r.status == 402 and r.error_code == "account_past_due", r.json
    assert "POST /v1/billing/portal" in r.json["error"]["message"]
    with pytest.raises(credits.AccountPastDue):  # the check every stage makes before an AI call
        credits.require_credits(customer.account_id, {"content": 1}, margin=1.0)

    ok(deliver(api, ss.event("invoice.paid", {**failing, "status": "paid", "amount_paid": 4900})), "period_opened")
    assert api.get("/v1/billing", token=customer.token).json["past_due"] is False
    r = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task["task_id"]]}, token=customer.token)
    assert r.status == 202, r.json


def test_cancellation_at_period_end_then_deletion_returns_the_account_to_the_free_plan(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="starter")
    price = ss.PRICES[("starter", "month")]
    ok(deliver(api, ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=price, created=start, period_start=start, period_end=end,
        cancel_at_period_end=True), created=start + 100, previous={"cancel_at_period_end": False})), "applied")
    billing_state = api.get("/v1/billing", token=customer.token).json
    assert billing_state["plan_id"] == "starter" and billing_state["subscription"]["cancel_at_period_end"] is True
    ok(deliver(api, ss.event("customer.subscription.deleted", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=price, status="canceled", created=start,
        period_start=start, period_end=end, ended_at=end), created=end + 1)), "ended")
    account = Account.get(customer.account_id)
    assert account.plan_id == "free" and account.subscription_id is None
    bal = credits.balances(customer.account_id)
    assert bal["idea"]["plan"] == 20  # starter's unused credits expired; the free plan's granted
    assert api.get("/v1/billing", token=customer.token).json["subscription"] is None
    audit(customer.account_id)


def test_when_a_subscription_ends_its_plan_credits_expire_even_on_a_plan_that_rolls_over(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="growth")
    credits.grant(customer.account_id, credit_type="image", amount=7, key="pack-x", bucket="pack",
                  operation="pack_purchase")
    ok(deliver(api, ss.event("customer.subscription.deleted", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=ss.PRICES[("growth", "month")], status="canceled",
        created=start, period_start=start, period_end=end, ended_at=start + 600), created=start + 601)), "ended")
    bal = credits.balances(customer.account_id)
    assert bal["idea"] == {"plan": 20, "pack": 0, "available": 20}  # growth's 1000 expired, free's 20 granted
    assert bal["image"]["pack"] == 7  # packs never expire
    closed = api.get("/v1/credits/periods", token=customer.token).json["items"][1]
    assert closed["rollover"] is True and closed["expired"]["idea"] == 1000 and closed["rolled_over_out"]["idea"] == 0
    audit(customer.account_id)


def test_a_downgrade_keeps_what_exists_and_refuses_more_than_the_new_limit(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="growth")
    for n in range(4):
        assert api.post("/v1/sites", {"name": f"Site {n}"}, token=customer.token).status == 201
    ok(deliver(api, ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=ss.PRICES[("starter", "month")], created=start,
        period_start=start, period_end=end), created=start + 50)), "applied")
    status = api.get("/v1/billing", token=customer.token).json
    assert status["plan_id"] == "starter" and status["over_limit"] == ["sites"]
    assert status["limits"]["sites"] == {"used": 4, "max": 3}
    assert len(api.get("/v1/sites", token=customer.token).json["items"]) == 4
    r = api.post("/v1/sites", {"name": "One more"}, token=customer.token)
    assert r.status == 402 and r.error_code == "plan_limit_reached"


def test_a_paid_invoice_for_a_price_no_plan_knows_fails_until_staff_set_the_price(api, customer):
    from chalicelib.services import plans

    sub_id, _start, end = subscribe(api, customer, plan="starter")
    evt = ss.event("invoice.paid", ss.invoice(customer=customer.customer, sub_id=sub_id, price="price_1NewPrice",
                                              period_start=end, period_end=end + ss.MONTH))
    r = deliver(api, evt)
    assert r.status == 503 and r.error_code == "plan_not_configured"  # Stripe retries for days
    assert "price_1NewPrice" in r.json["error"]["message"]
    plans.update_plan("starter", {"stripe_price_monthly": "price_1NewPrice"})
    ok(deliver(api, evt), "period_opened")  # the retry, at once: the failed attempt released its claim
    assert credits.balances(customer.account_id)["idea"]["plan"] == 200
    audit(customer.account_id)


# --- out of order ---------------------------------------------------------------------------------

def test_an_older_subscription_state_arriving_late_is_ignored(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="starter")
    newer = ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=ss.PRICES[("growth", "month")], created=start,
        period_start=start, period_end=end), created=start + 200)
    older = ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=ss.PRICES[("starter", "month")], created=start,
        period_start=start, period_end=end, cancel_at_period_end=True), created=start + 100)
    ok(deliver(api, newer), "applied")
    ok(deliver(api, older), "stale")
    assert Account.get(customer.account_id).plan_id == "growth"
    assert Subscription.get(customer.account_id, sub_id).cancel_at_period_end is False


def test_an_update_arriving_after_the_deletion_does_not_revive_the_subscription(api, customer):
    sub_id, start, end = subscribe(api, customer, plan="starter")
    price = ss.PRICES[("starter", "month")]
    deleted = ss.event("customer.subscription.deleted", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=price, status="canceled", created=start, period_start=start,
        period_end=end, ended_at=end), created=end)
    late_update = ss.event("customer.subscription.updated", ss.subscription(
        sub_id=sub_id, customer=customer.customer, price=price, created=start, period_start=start, period_end=end,
        cancel_at_period_end=True), created=end + 500)  # even with a later timestamp: canceled is final
    ok(deliver(api, deleted), "ended")
    ok(deliver(api, late_update), "stale")
    assert Account.get(customer.account_id).plan_id == "free"
    assert Subscription.get(customer.account_id, sub_id).status == "canceled"


def test_a_late_event_of_an_old_subscription_does_not_take_the_account_from_the_new_one(api, customer):
    old_id, start, end = subscribe(api, customer, plan="starter")
    ok(deliver(api, ss.event("customer.subscription.deleted", ss.subscription(
        sub_id=old_id, customer=customer.customer, price=ss.PRICES[("starter", "month")], status="canceled",
        created=start, period_start=start, period_end=end, ended_at=start + 1000), created=start + 1000)), "ended")
    new_id, _new_start, _ = subscribe(api, customer, plan="growth", start=start + 2000)
    ok(deliver(api, ss.event("customer.subscription.deleted", ss.subscription(
        sub_id=old_id, customer=customer.customer, price=ss.PRICES[("starter", "month")], status="canceled",
        created=start, period_start=start, period_end=end, ended_at=start + 1000), created=start + 1000)),
       "ended_not_current")
    account = Account.get(customer.account_id)
    assert (account.plan_id, account.subscription_id) == ("growth", new_id)


def test_payment_failed_arriving_after_paid_for_the_same_invoice_leaves_the_account_in_good_standing(api, customer):
    sub_id, _start, end = subscribe(api, customer)
    inv = ss.invoice(customer=customer.customer, sub_id=sub_id, price=ss.PRICES[("starter", "month")],
                     period_start=end, period_end=end + ss.MONTH)
    ok(deliver(api, ss.event("invoice.paid", inv, created=end + 300)), "period_opened")
    ok(deliver(api, ss.event("invoice.payment_failed", {**inv, "status": "open", "amount_paid": 0},
                             created=end + 100)), "stale")
    assert api.get("/v1/billing", token=customer.token).json["past_due"] is False


def test_one_invoice_paid_does_not_clear_another_invoices_failure(api, customer):
    sub_id, _start, end = subscribe(api, customer)
    price = ss.PRICES[("starter", "month")]
    first = ss.invoice(customer=customer.customer, sub_id=sub_id, price=price, period_start=end,
                       period_end=end + ss.MONTH, status="open")
    second = ss.invoice(customer=customer.customer, sub_id=sub_id, price=price, period_start=end + ss.MONTH,
                        period_end=end + 2 * ss.MONTH, status="open")
    ok(deliver(api, ss.event("invoice.payment_failed", first)))
    ok(deliver(api, ss.event("invoice.payment_failed", second)))
    ok(deliver(api, ss.event("invoice.paid", {**first, "status": "paid"})))
    assert api.get("/v1/billing", token=customer.token).json["unpaid_invoices"] == [second["id"]]


def test_invoices_paid_out_of_order_grant_each_period_once(api, customer):
    sub_id, _start, end = subscribe(api, customer, plan="starter")
    price = ss.PRICES[("starter", "month")]
    p2 = ss.invoice(customer=customer.customer, sub_id=sub_id, price=price, period_start=end,
                    period_end=end + ss.MONTH)
    p3 = ss.invoice(customer=customer.customer, sub_id=sub_id, price=price, period_start=end + ss.MONTH,
                    period_end=end + 2 * ss.MONTH)
    ok(deliver(api, ss.event("invoice.paid", p3)), "period_opened")
    late = ss.event("invoice.paid", p2)
    ok(deliver(api, late), "period_late")  # paid late: into the current period
    ok(deliver(api, late), "duplicate")
    ok(deliver(api, ss.event("invoice.paid", p2)), "period_already_open")  # another event, same invoice
    grants = [e for e in CreditLedgerEntry.query(customer.account_id)
              if e.kind == "grant" and e.credit_type == "idea" and e.operation == "plan_grant"]
    assert len(grants) == 4  # signup, first, p3, p2: one each
    assert credits.balances(customer.account_id)["idea"]["plan"] == 400
    periods = {p["source_id"]: p for p in api.get("/v1/credits/periods", token=customer.token).json["items"]}
    assert periods[p2["id"]]["status"] == "superseded"
    assert periods[p2["id"]]["superseded_by"].endswith(p3["id"])
    assert periods[p3["id"]]["added"]["idea"] == 200
    audit(customer.account_id)


# --- credit packs -----------------------------------------------------------------------------------

def test_a_paid_pack_adds_credits_that_never_expire_and_a_refund_takes_back_what_is_left(api, customer):
    pi = ss.sid("pi")
    session = ss.checkout_pack(customer=customer.customer, account_id=customer.account_id, payment_intent=pi,
                               credits={"content": 50})
    ok(deliver(api, ss.event("checkout.session.completed", session)), "granted")
    assert credits.balances(customer.account_id)["content"]["pack"] == 50
    credits.charge(customer.account_id, operation="generate_content", amount=5 + 10, key="job#a")  # 5 plan, 10 pack
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(customer=customer.customer, payment_intent=pi,
                                                                   refunded=1450))), "refunded")  # half
    assert credits.balances(customer.account_id)["content"]["pack"] == 15  # 40 left, 25 taken back
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(customer=customer.customer, payment_intent=pi,
                                                                   refunded=2900))), "refunded")  # all
    assert credits.balances(customer.account_id)["content"]["pack"] == 0
    revokes = [e for e in CreditLedgerEntry.query(customer.account_id) if e.kind == "revoke"]
    assert sorted(int(e.delta) for e in revokes) == [-25, -15]  # 10 of the 50 had been spent
    audit(customer.account_id)


def test_a_refund_arriving_before_the_purchase_is_honoured_when_it_arrives(api, customer):
    pi = ss.sid("pi")
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(customer=customer.customer, payment_intent=pi))),
       "refund_recorded")
    assert credits.balances(customer.account_id)["content"]["pack"] == 0
    ok(deliver(api, ss.event("checkout.session.completed", ss.checkout_pack(
        customer=customer.customer, account_id=customer.account_id, payment_intent=pi))), "refunded")
    assert credits.balances(customer.account_id)["content"]["pack"] == 0
    audit(customer.account_id)


def test_partial_refunds_out_of_order_settle_on_the_largest_refunded_amount(api, customer):
    pi = ss.sid("pi")
    ok(deliver(api, ss.event("checkout.session.completed", ss.checkout_pack(
        customer=customer.customer, account_id=customer.account_id, payment_intent=pi, credits={"image": 100},
        amount=1000))))
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(
        customer=customer.customer, payment_intent=pi, amount=1000, refunded=600))), "refunded")
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(
        customer=customer.customer, payment_intent=pi, amount=1000, refunded=300))), "refunded")  # older, smaller
    assert credits.balances(customer.account_id)["image"]["pack"] == 40
    audit(customer.account_id)


def test_a_pack_paid_later_is_granted_on_async_payment_succeeded(api, customer):
    pi = ss.sid("pi")
    pending = ss.checkout_pack(customer=customer.customer, account_id=customer.account_id, payment_intent=pi,
                               payment_status="unpaid")
    ok(deliver(api, ss.event("checkout.session.completed", pending)), "awaiting_payment")
    assert credits.balances(customer.account_id)["content"]["pack"] == 0
    ok(deliver(api, ss.event("checkout.session.async_payment_succeeded", {**pending, "payment_status": "paid"})),
       "granted")
    assert credits.balances(customer.account_id)["content"]["pack"] == 50


def test_refunds_of_subscription_charges_and_unknown_customers_are_not_pack_refunds(api, customer):
    before = state(customer.account_id)
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(
        customer=customer.customer, payment_intent=ss.sid("pi"), metadata={}))), "not_a_pack")
    ok(deliver(api, ss.event("charge.refunded", ss.charge_refunded(
        customer="cus_not_ours_123", payment_intent=ss.sid("pi")))), "unknown_customer")
    assert state(customer.account_id) == before


@pytest.mark.security
def test_a_customer_created_outside_checkout_is_linked_from_our_metadata_only_once(api, customer, register):
    other = register("other", plan=None)
    stranger = ss.sid("cus")
    session = ss.checkout_pack(customer=stranger, account_id=other.account_id)
    ok(deliver(api, ss.event("checkout.session.completed", session)), "granted")
    assert Account.get(other.account_id).stripe_customer_id == stranger
    assert billing.account_for_customer(stranger) == other.account_id
    # Metadata naming another account cannot take over a customer that is already linked.
    hijack = ss.checkout_pack(customer=stranger, account_id=customer.account_id)
    ok(deliver(api, ss.event("checkout.session.completed", hijack)), "granted")
    assert credits.balances(customer.account_id)["content"]["pack"] == 0
    assert credits.balances(other.account_id)["content"]["pack"] == 100
