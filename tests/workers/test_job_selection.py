"""Chosen item ids are taken whole: a stage's default filter limit never cuts them silently."""

from __future__ import annotations

from chalicelib.services import credits


def test_every_chosen_task_is_in_the_job_and_an_explicit_limit_still_caps(api, register):
    owner = register()
    credits.grant(owner.account_id, credit_type="content", amount=500, key="test-content", bucket="pack",
                  operation="pack_purchase")
    site = api.post("/v1/sites", {"name": "Coffee"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Brewing"}, token=owner.token).json["sector_id"]
    ids = []
    for n in range(32):  # more than the content stage's default limit (20), and 7 for a second job
        r = api.post(f"{base}/tasks", {"title": f"Article {n}", "sector_id": sector}, token=owner.token)
        assert r.status == 201, r.json
        ids.append(r.json["task_id"])
    whole = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": ids[:25]}, token=owner.token)
    assert whole.status == 202 and whole.json["total"] == 25, whole.json
    capped = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": ids[25:], "filter": {"limit": 5}},
                      token=owner.token)
    assert capped.status == 202 and capped.json["total"] == 5, capped.json
