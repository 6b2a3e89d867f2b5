"""Two jobs over the same records never both process them: what the second job is told."""

from __future__ import annotations

import pytest

import app as app_module
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.models.jobs import JobItem, RecordClaim, job_key
from chalicelib.models.planner import Keyword
from chalicelib.services import credits
from infra.local.worker import WorkerLoop


@pytest.fixture
def site(api, register):
    owner = register()
    for credit_type in ("idea", "content"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=500, key=f"t-{credit_type}", bucket="pack",
                      operation="pack_purchase")
    site_id = api.post("/v1/sites", {"name": "Claims"}, token=owner.token).json["site_id"]
    sector = api.post(f"/v1/sites/{site_id}/sectors", {"name": "Brewing"}, token=owner.token).json["sector_id"]
    return owner, site_id, sector


def test_items_another_job_holds_are_skipped_naming_it_and_all_of_them_is_a_409(api, site):
    owner, site_id, sector = site
    base = f"/v1/sites/{site_id}"
    tasks = [api.post(f"{base}/tasks", {"title": f"Article {n}", "sector_id": sector}, token=owner.token).json[
        "task_id"] for n in range(3)]
    first = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": tasks[:1]}, token=owner.token).json
    second = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": tasks}, token=owner.token)
    assert second.status == 202 and (second.json["total"], second.json["skipped"]) == (3, 1), second.json
    skipped = JobItem.get(job_key(owner.account_id, second.json["job_id"]), tasks[0])
    assert (skipped.status, skipped.error_code) == ("skipped", "items_claimed")
    assert first["job_id"] in skipped.error
    third = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": tasks[1:]}, token=owner.token)
    assert third.status == 409 and third.json["error"]["code"] == "items_claimed"
    assert third.json["error"]["details"] == {"held_by": [{"job_id": second.json["job_id"]}]}

    WorkerLoop(app_module, backoff=lambda receive_count: 0).drain(max_seconds=120)
    for job_id, done in ((first["job_id"], 1), (second.json["job_id"], 2)):
        job = api.get(f"{base}/jobs/{job_id}", token=owner.token).json
        assert (job["status"], job["done"]) == ("completed", done), job
    debits = [e for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "debit"]
    assert sorted(e.related_object_id for e in debits) == sorted(  # one article per task, paid once
        e.related_object_id for e in debits if e.job_id in (first["job_id"], second.json["job_id"]))
    assert len(debits) == len({e.related_object_id for e in debits}) == 3
    assert not list(RecordClaim.query(f"{owner.account_id}#{site_id}"))  # every claim released


def test_a_cluster_job_takes_the_keywords_no_other_job_holds(api, site):
    owner, site_id, sector = site
    base = f"/v1/sites/{site_id}"
    words = ["espresso grind size", "espresso grinder burrs", "espresso grind fineness", "pour over ratio",
             "pour over coffee ratio", "pour over ratio grams"]
    api.post(f"{base}/keywords/import", {"sector_id": sector, "keywords": [{"keyword": k} for k in words]},
             token=owner.token)
    keywords = sorted(Keyword.query(f"{owner.account_id}#{site_id}"), key=lambda k: k.keyword)
    mine = [k.keyword_id for k in keywords[:2]]
    first = api.post(f"{base}/jobs", {"stage": "cluster_keywords", "item_ids": mine}, token=owner.token).json
    second = api.post(f"{base}/jobs", {"stage": "cluster_keywords"}, token=owner.token).json
    item = JobItem.get(job_key(owner.account_id, second["job_id"]), sector)
    assert item.status == "queued" and item.payload["held_elsewhere"] == [first["job_id"]]
    assert sorted(item.payload["keyword_ids"]) == sorted(k.keyword_id for k in keywords[2:])

    WorkerLoop(app_module, backoff=lambda receive_count: 0).drain(max_seconds=120)
    results = {j["job_id"]: api.get(f"{base}/jobs/{j['job_id']}", token=owner.token).json for j in (first, second)}
    assert all(r["status"] == "completed" and r["done"] == 1 for r in results.values()), results
    items = [JobItem.get(job_key(owner.account_id, j), sector, consistent_read=True) for j in results]
    assert sum(i.result["keywords_clustered"] + i.result["outliers"] for i in items) == len(words)


def test_a_cancelled_job_holds_nothing_the_next_job_takes_its_items(api, site):
    owner, site_id, sector = site
    base = f"/v1/sites/{site_id}"
    task = api.post(f"{base}/tasks", {"title": "Article", "sector_id": sector}, token=owner.token).json["task_id"]
    first = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task]}, token=owner.token).json
    refused = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task]}, token=owner.token)
    assert refused.status == 409 and refused.json["error"]["code"] == "items_claimed"
    assert api.post(f"{base}/jobs/{first['job_id']}/cancel", {}, token=owner.token).status == 200

    second = api.post(f"{base}/jobs", {"stage": "generate_content", "item_ids": [task]}, token=owner.token)
    assert second.status == 202 and second.json["skipped"] == 0, second.json
    WorkerLoop(app_module, backoff=lambda receive_count: 0).drain(max_seconds=120)
    assert api.get(f"{base}/jobs/{second.json['job_id']}", token=owner.token).json["done"] == 1
    debits = [e for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "debit"]
    assert [e.job_id for e in debits] == [second.json["job_id"]]  # the cancelled job charged nothing
