"""Plans and packs, GET /v1/billing, and Checkout / the customer portal against a local server
answering as Stripe's API does (tests/stripe_support.FakeStripe)."""

from __future__ import annotations

import pytest

from chalicelib.models.accounts import Account
from chalicelib.models.payments import StripeCustomer
from chalicelib.services import billing
from tests import stripe_support as ss


@pytest.fixture
def fake_stripe(aws, monkeypatch):
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", ss.kms_key())
    monkeypatch.setenv("BILLING_RETURN_URL", "https://app.example.com/billing")
    fake = ss.FakeStripe().start()
    ss.configure(fake.url)
    yield fake
    fake.stop()
    from chalicelib.integrations import stripe_client

    stripe_client.reset()


@pytest.fixture
def staff(register, make_staff):
    return make_staff(register("staff"))


# --- plans and packs ---------------------------------------------------------------------------

def test_public_plans_hide_internal_and_inactive_ones_and_need_no_sign_in(api, aws, staff):
    r = api.get("/v1/plans")
    assert r.status == 200
    ids = [p["plan_id"] for p in r.json["items"]]
    assert ids == ["free", "starter", "growth"]
    growth = r.json["items"][2]
    assert growth["price_monthly_cents"] == 14900 and growth["rollover"] is True and growth["max_sites"] == 10
    assert "stripe_price_monthly" not in growth and "is_internal" not in growth
    assert api.patch("/v1/admin/plans/starter", {"is_active": False}, token=staff.token).status == 200
    assert [p["plan_id"] for p in api.get("/v1/plans").json["items"]] == ["free", "growth"]
    every = api.get("/v1/admin/plans", token=staff.token).json["items"]
    assert {p["plan_id"]: (p["is_internal"], p["is_active"]) for p in every}["internal"] == (True, True)
    assert {p["plan_id"]: p["is_active"] for p in every}["starter"] is False


def test_staff_create_and_change_plans_with_prices_credits_limits_and_rollover(api, aws, staff, register):
    body = {"plan_id": "agency", "name": "Agency", "idea_credits": 5000, "content_credits": 1000,
            "image_credits": 2000, "optimization_credits": 500, "max_sites": 50, "max_users": 40,
            "price_monthly_cents": 49900, "price_yearly_cents": 499000, "rollover": True,
            "stripe_price_monthly": "price_1AgencyMonthly", "stripe_price_yearly": "price_1AgencyYearly",
            "sort_order": 30}
    r = api.post("/v1/admin/plans", body, token=staff.token)
    assert r.status == 201, r.json
    assert r.json["buyable_monthly"] is True and r.json["updated_by"] == staff.user_id
    assert api.post("/v1/admin/plans", body, token=staff.token).error_code == "already_exists"
    other = {**body, "plan_id": "agency-2", "stripe_price_yearly": None}
    assert api.post("/v1/admin/plans", other, token=staff.token).error_code == "price_in_use"
    r = api.patch("/v1/admin/plans/agency", {"max_sites": 60, "stripe_price_yearly": None}, token=staff.token)
    assert r.status == 200 and r.json["max_sites"] == 60 and r.json["buyable_yearly"] is False
    assert api.patch("/v1/admin/plans/agency", {"name": None}, token=staff.token).status == 422
    assert api.patch("/v1/admin/plans/nope", {"max_sites": 1}, token=staff.token).status == 404
    assert api.patch("/v1/admin/plans/agency", {"stripe_price_monthly": "not-a-price"},
                     token=staff.token).status == 422
    customer = register("customer")
    assert api.post("/v1/admin/plans", {**body, "plan_id": "x"}, token=customer.token).status == 403
    assert api.get("/v1/admin/plans", token=customer.token).error_code == "staff_only"


def test_packs_public_list_and_staff_management(api, aws, staff):
    packs = api.get("/v1/credit-packs").json["items"]
    assert [p["pack_id"] for p in packs] == ["content-50", "images-200", "ideas-500"]
    assert packs[0]["content_credits"] == 50 and packs[0]["buyable"] is False
    r = api.post("/v1/admin/credit-packs", {"pack_id": "empty", "name": "Nothing"}, token=staff.token)
    assert r.status == 422 and r.error_code == "empty_pack"
    r = api.post("/v1/admin/credit-packs", {"pack_id": "mega", "name": "Mega", "content_credits": 500,
                                            "image_credits": 500, "price_cents": 19900,
                                            "stripe_price_id": "price_1MegaPack"}, token=staff.token)
    assert r.status == 201 and r.json["buyable"] is True
    assert api.patch("/v1/admin/credit-packs/images-200", {"is_active": False}, token=staff.token).status == 200
    assert "images-200" not in [p["pack_id"] for p in api.get("/v1/credit-packs").json["items"]]


# --- checkout and portal -------------------------------------------------------------------------

def test_plan_checkout_links_a_customer_once_and_creates_a_subscription_session(api, fake_stripe, register):
    owner = register(plan=None)
    r = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "starter", "interval": "year"},
                 token=owner.token)
    assert r.status == 200, r.json
    assert r.json["url"].startswith("https://checkout.stripe.com/c/pay/cs_test")
    customers, sessions = fake_stripe.calls("/v1/customers"), fake_stripe.calls("/v1/checkout/sessions")
    assert len(customers) == 1 and len(sessions) == 1
    assert customers[0].headers["idempotency-key"] == f"customer-{owner.account_id}"
    assert customers[0].headers["authorization"] == f"Bearer {ss.API_KEY}"
    assert customers[0].params["metadata[account_id]"] == owner.account_id
    assert customers[0].params["email"] == owner.email
    params = sessions[0].params
    assert params["mode"] == "subscription"
    assert params["line_items[0][price]"] == ss.PRICES[("starter", "year")]
    assert params["line_items[0][quantity]"] == "1"
    assert params["client_reference_id"] == owner.account_id
    assert params["subscription_data[metadata][plan_id]"] == "starter"
    assert params["metadata[account_id]"] == owner.account_id
    assert params["success_url"] == ("https://app.example.com/billing?checkout=success"
                                     "&session_id={CHECKOUT_SESSION_ID}")
    assert params["cancel_url"] == "https://app.example.com/billing?checkout=cancelled"
    assert sessions[0].headers["idempotency-key"].startswith(f"checkout-{owner.account_id}-")
    customer_id = params["customer"]
    assert Account.get(owner.account_id).stripe_customer_id == customer_id
    assert StripeCustomer.get(customer_id).account_id == owner.account_id  # the webhook's lookup
    assert billing.account_for_customer(customer_id) == owner.account_id

    # A second checkout reuses the customer; the client's Idempotency-Key makes a retry return the same session.
    first = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "growth"}, token=owner.token,
                     headers={"Idempotency-Key": "click-7c1b2f0e"})
    again = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "growth"}, token=owner.token,
                     headers={"Idempotency-Key": "click-7c1b2f0e"})
    assert first.json == again.json
    assert len(fake_stripe.calls("/v1/customers")) == 1
    keys = [c.headers["idempotency-key"] for c in fake_stripe.calls("/v1/checkout/sessions")]
    assert keys[1] == keys[2] == f"checkout-{owner.account_id}-click-7c1b2f0e"
    assert fake_stripe.calls("/v1/checkout/sessions")[1].params["customer"] == customer_id
    # The same key for another purchase is refused by Stripe, and by us in our error shape.
    r = api.post("/v1/billing/checkout", {"kind": "pack", "pack_id": "content-50"}, token=owner.token,
                 headers={"Idempotency-Key": "click-7c1b2f0e"})
    assert r.status == 409 and r.error_code == "idempotency_key_reused", r.json


def test_pack_checkout_fixes_the_credits_sold_in_the_session(api, fake_stripe, register):
    owner = register()
    r = api.post("/v1/billing/checkout", {"kind": "pack", "pack_id": "content-50"}, token=owner.token)
    assert r.status == 200, r.json
    params = fake_stripe.calls("/v1/checkout/sessions")[0].params
    assert params["mode"] == "payment" and params["line_items[0][price]"] == ss.PACK_PRICE
    assert params["metadata[kind]"] == "credit_pack" and params["metadata[credits]"] == '{"content":50}'
    assert params["payment_intent_data[metadata][pack_id]"] == "content-50"
    assert "subscription_data[metadata][plan_id]" not in params


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"kind": "plan", "plan_id": "internal"}, 404, "not_found"),
    ({"kind": "plan", "plan_id": "free"}, 422, "price_not_configured"),
    ({"kind": "plan", "plan_id": "no-such-plan"}, 404, "not_found"),
    ({"kind": "pack", "pack_id": "images-200"}, 422, "price_not_configured"),
    ({"kind": "plan", "pack_id": "content-50"}, 422, "validation_error"),
    ({"kind": "pack", "pack_id": "content-50", "plan_id": "starter"}, 422, "validation_error"),
    ({"kind": "plan", "plan_id": "starter", "success_url": "https://evil.example"}, 422, "validation_error"),
])
def test_checkout_refuses_what_cannot_be_bought(api, fake_stripe, register, body, status, code):
    owner = register()
    r = api.post("/v1/billing/checkout", body, token=owner.token)
    assert (r.status, r.error_code) == (status, code), r.json
    assert fake_stripe.calls("/v1/checkout/sessions") == []


def test_a_second_subscription_is_refused_in_favour_of_the_portal(api, fake_stripe, register):
    owner = register(plan=None)
    billing.link_customer(owner.account_id, "cus_existing0001")
    state = billing.SubscriptionState(subscription_id="sub_live0001", status="active", plan_id="starter",
                                      created=1_700_000_000)
    billing.apply_subscription(owner.account_id, state, ts=1_700_000_001, source="test")
    r = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "growth"}, token=owner.token)
    assert r.status == 409 and r.error_code == "subscription_exists"
    assert "/v1/billing/portal" in r.json["error"]["message"]
    assert api.post("/v1/billing/checkout", {"kind": "pack", "pack_id": "content-50"}, token=owner.token).status == 200


def test_portal_returns_the_customer_portal_url(api, fake_stripe, register, add_member):
    owner = register()
    r = api.post("/v1/billing/portal", token=owner.token)
    assert r.status == 409 and r.error_code == "no_billing_account"
    assert fake_stripe.calls("/v1/billing_portal/sessions") == []
    billing.link_customer(owner.account_id, "cus_portal0001")
    r = api.post("/v1/billing/portal", token=owner.token, headers={"Idempotency-Key": "portal-click-01"})
    assert r.status == 200 and r.json["url"].startswith("https://billing.stripe.com/p/session/")
    call = fake_stripe.calls("/v1/billing_portal/sessions")[0]
    assert call.params == {"customer": "cus_portal0001", "return_url": "https://app.example.com/billing"}
    assert call.headers["idempotency-key"] == f"portal-{owner.account_id}-portal-click-01"
    editor = add_member(owner, "editor")
    assert api.post("/v1/billing/portal", token=editor.token).status == 403  # admins and the owner only
    assert api.post("/v1/billing/checkout", {"kind": "pack", "pack_id": "content-50"},
                    token=editor.token).status == 403
    assert api.get("/v1/billing", token=editor.token).status == 200
    bad = api.post("/v1/billing/portal", token=owner.token, headers={"Idempotency-Key": "x"})
    assert bad.status == 422


def test_stripe_errors_come_back_in_the_standard_error_shape(api, fake_stripe, register):
    owner = register()
    fake_stripe.fail_next.append((400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                                  "message": "No such price: 'price_1StarterMonthly'",
                                                  "param": "line_items[0][price]"}}))
    r = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "starter"}, token=owner.token)
    assert r.status == 502 and r.error_code == "payment_provider_error", r.json
    assert r.json["error"]["details"]["stripe_code"] == "resource_missing"


def test_without_a_stripe_key_checkout_is_unavailable_and_nothing_is_linked(api, aws, monkeypatch, register):
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", ss.kms_key())
    owner = register()
    r = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "starter"}, token=owner.token)
    assert r.status in (422, 503)  # no price configured, or no key: either way nothing happened
    ss.configure("http://127.0.0.1:9")  # prices set; the key exists but Stripe is unreachable
    from chalicelib.services import providers

    providers.update_provider("stripe", {}, secret_values={"api_key": None})
    r = api.post("/v1/billing/checkout", {"kind": "plan", "plan_id": "starter"}, token=owner.token)
    assert r.status == 503 and r.error_code == "billing_unavailable"
    assert Account.get(owner.account_id).stripe_customer_id is None


def test_the_stripe_client_is_created_lazily_once_per_key(fake_stripe):
    import sys

    from chalicelib.integrations import stripe_client

    stripe_client.reset()
    first = stripe_client.client()
    assert stripe_client.client() is first
    assert "stripe" in sys.modules


def test_importing_the_billing_code_does_not_load_the_stripe_sdk():
    import subprocess
    import sys

    code = ("import sys; import chalicelib.api.billing, chalicelib.api.stripe_webhooks, "
            "chalicelib.services.billing, chalicelib.services.stripe_events, chalicelib.integrations.stripe_client; "
            "print('stripe' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the account's billing state -----------------------------------------------------------------

def test_billing_state_of_a_new_account(api, aws, register):
    owner = register(plan=None)
    r = api.get("/v1/billing", token=owner.token)
    assert r.status == 200
    body = r.json
    assert body["plan_id"] == "free" and body["subscription"] is None and body["past_due"] is False
    assert body["limits"] == {"sites": {"used": 0, "max": 1}, "users": {"used": 1, "max": 2}}
    assert body["over_limit"] == [] and body["has_billing_account"] is False
    periods = api.get("/v1/credits/periods", token=owner.token).json["items"]
    assert len(periods) == 1 and periods[0]["status"] == "current" and periods[0]["source"] == "signup"
    assert periods[0]["granted"] == {"idea": 20, "content": 5, "image": 10, "optimization": 0}
    assert periods[0]["used"] == {"idea": 0, "content": 0, "image": 0, "optimization": 0}


def test_another_accounts_billing_and_periods_are_invisible(api, aws, register):
    a, b = register("a"), register("b")
    billing.link_customer(a.account_id, "cus_alpha000001")
    assert api.get("/v1/billing", token=b.token).json["has_billing_account"] is False
    keys_a = {p["period_key"] for p in api.get("/v1/credits/periods", token=a.token).json["items"]}
    keys_b = {p["period_key"] for p in api.get("/v1/credits/periods", token=b.token).json["items"]}
    assert keys_a and keys_b and not keys_a & keys_b
