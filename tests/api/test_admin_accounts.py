"""Staff tools: find an account, see what it has, adjust its credits, suspend and reactivate it."""

from __future__ import annotations

from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.services import credits
from tests.api.planner_env import make_site, ok


def test_staff_find_an_account_by_a_users_email_or_its_id(api, register, add_member, make_staff, dynamo_calls):
    staff, customer = make_staff(register("staff")), register("customer")
    editor = add_member(customer, "editor")
    for body in ({"email": editor.email.upper()}, {"account_id": customer.account_id}):
        found = ok(api.post("/v1/admin/account-lookup", body, token=staff.token))["items"]
        assert [a["account_id"] for a in found] == [customer.account_id], body
    assert ok(api.post("/v1/admin/account-lookup", {"email": "nobody@example.com"}, token=staff.token)) == {
        "items": []}
    assert api.post("/v1/admin/account-lookup", {}, token=staff.token).status == 422
    r = api.post("/v1/admin/account-lookup", {"email": editor.email}, token=customer.token)
    assert r.status == 403 and r.error_code == "staff_only"


def test_staff_see_plan_balances_sites_and_recent_jobs(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    env = make_site(api, customer)
    ok(api.post(f"{env.base}/keywords", {"keyword": "espresso", "sector_id": env.sectors[0]}, token=customer.token),
       201)
    job = ok(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords"}, token=customer.token), 202)
    seen = ok(api.get(f"/v1/admin/accounts/{customer.account_id}", token=staff.token))
    assert seen["owner_email"] == customer.email and seen["plan"]["plan_id"] == "growth"
    assert seen["balances"] == credits.balances(customer.account_id)
    assert [s["site_id"] for s in seen["sites"]] == [env.site_id]
    assert [j["job_id"] for j in seen["recent_jobs"]] == [job["job_id"]]
    assert api.get("/v1/admin/accounts/no-such-account", token=staff.token).status == 404


def test_a_grant_and_a_deduction_are_ledger_and_audit_entries(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    path = f"/v1/admin/accounts/{customer.account_id}/credits"
    before = credits.balances(customer.account_id)["content"]
    granted = ok(api.post(path, {"credit_type": "content", "amount": 25, "reason": "Goodwill after outage"},
                          token=staff.token))
    assert granted["applied"] and granted["pack_delta"] == 25
    assert granted["balances"]["content"]["pack"] == before["pack"] + 25
    taken = ok(api.post(path, {"credit_type": "content", "amount": -(before["plan"] + 5), "reason": "Chargeback"},
                        token=staff.token))
    assert (taken["plan_delta"], taken["pack_delta"]) == (-before["plan"], -5)  # plan credits first
    assert credits.balances(customer.account_id)["content"] == {"plan": 0, "pack": before["pack"] + 20,
                                                                  "available": before["pack"] + 20}
    entries = [e for e in CreditLedgerEntry.query(customer.account_id) if e.kind == "adjust"]
    assert sorted(int(e.delta) for e in entries) == [-(before["plan"] + 5), 25]
    assert {e.note for e in entries} == {"Goodwill after outage", "Chargeback"}
    log = ok(api.get("/v1/audit?action=credits.adjusted", token=customer.token))["items"]
    assert [e["details"]["reason"] for e in log] == ["Chargeback", "Goodwill after outage"]
    assert all(e["actor"] == f"staff:{staff.user_id}" for e in log)


def test_a_deduction_never_takes_the_balance_below_zero(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    path = f"/v1/admin/accounts/{customer.account_id}/credits"
    available = credits.balances(customer.account_id)["image"]["available"]
    r = api.post(path, {"credit_type": "image", "amount": -(available + 1), "reason": "too much"}, token=staff.token)
    assert r.status == 409 and r.error_code == "insufficient_credits"
    assert credits.balances(customer.account_id)["image"]["available"] == available
    assert api.post(path, {"credit_type": "image", "amount": 0, "reason": "nothing"}, token=staff.token).status == 422


def test_an_adjustment_sent_twice_with_its_idempotency_key_is_applied_once(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    path = f"/v1/admin/accounts/{customer.account_id}/credits"
    body = {"credit_type": "idea", "amount": 10, "reason": "Promo"}
    headers = {"Idempotency-Key": "promo-2026-12-ana"}
    first = ok(api.post(path, body, token=staff.token, headers=headers))
    again = ok(api.post(path, body, token=staff.token, headers=headers))
    assert first["applied"] and not again["applied"] and again["entry_key"] == first["entry_key"]
    assert again["balances"]["idea"] == first["balances"]["idea"]
    assert len(ok(api.get("/v1/audit?action=credits.adjusted", token=customer.token))["items"]) == 1


def test_suspending_keeps_the_reason_and_reactivating_lets_the_account_back(api, register, make_staff):
    staff, customer = make_staff(register("staff")), register("customer")
    path = f"/v1/admin/accounts/{customer.account_id}"
    ok(api.patch(path, {"is_active": False, "reason": "Unpaid invoices"}, token=staff.token))
    assert api.get("/v1/sites", token=customer.token).error_code == "account_inactive"
    ok(api.patch(path, {"is_active": True}, token=staff.token))
    ok(api.get("/v1/sites", token=customer.token))
    log = ok(api.get("/v1/audit", token=customer.token))["items"]
    suspended = next(e for e in log if e["action"] == "account.suspended")
    assert suspended["details"] == {"reason": "Unpaid invoices"}
