"""Credits over the API: a new account's plan credits, balances, the ledger and usage."""

from __future__ import annotations

from chalicelib.services import credits


def test_a_new_account_starts_with_its_plan_credits(api, register):
    owner = register(plan=None)  # the free plan
    r = api.get("/v1/credits", token=owner.token)
    assert r.status == 200
    assert r.json["balances"]["idea"] == {"plan": 20, "pack": 0, "available": 20}
    assert r.json["balances"]["content"]["available"] == 5
    assert r.json["plan_id"] == "free" and r.json["period_end"] > r.json["period_start"]


def test_ledger_explains_the_balance_and_usage_lists_debits(api, register):
    owner = register(plan=None)
    site = api.post("/v1/sites", {"name": "s"}, token=owner.token).json
    credits.charge(owner.account_id, operation="generate_content", amount=2, key="job1#task1",
                   site_id=site["site_id"], usage=credits.Usage(input_tokens=1500, output_tokens=2500,
                                                                model="gpt-4o-mini", provider="offline"))
    credits.charge(owner.account_id, operation="generate_ideas", amount=3, key="job1#cluster1")
    ledger = api.get("/v1/credits/ledger?limit=100", token=owner.token).json
    balance = api.get("/v1/credits", token=owner.token).json["balances"]
    for credit_type, totals in ledger["totals"].items():
        assert totals == balance[credit_type]["available"]
    usage = api.get("/v1/credits/usage", token=owner.token).json
    assert [e["operation"] for e in usage["items"]] == ["generate_ideas", "generate_content"]  # newest first
    by_site = api.get(f"/v1/credits/usage?site_id={site['site_id']}", token=owner.token).json
    assert [e["related_object_id"] for e in by_site["items"]] == [None]
    assert by_site["items"][0]["input_tokens"] == 1500
    by_op = api.get("/v1/credits/usage?operation=generate_ideas", token=owner.token).json
    assert by_op["totals"]["idea"] == -3


def test_usage_filters_are_validated(api, register):
    owner = register()
    assert api.get("/v1/credits/usage?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
                   token=owner.token).status == 422
    assert api.get("/v1/credits/usage?from=yesterday", token=owner.token).status == 422
    assert api.get("/v1/credits/usage?site_id=nope", token=owner.token).status == 404


def test_another_accounts_usage_is_invisible(api, register):
    a, b = register("a"), register("b")
    credits.charge(a.account_id, operation="generate_ideas", amount=1, key="k")
    assert all(e["entry_key"] != "debit#k" for e in api.get("/v1/credits/ledger", token=b.token).json["items"])
