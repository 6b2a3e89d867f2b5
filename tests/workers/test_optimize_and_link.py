"""The optimize and link stages through their real SQS handlers (moto), with duplicated deliveries.

Optimize: one charge and one revision however often an item is delivered; a better score, the article
before kept and restorable; a result that scores lower is not kept. Link: an accepted link is in the
body once however often the stage (and its auto-accept) runs.
"""

from __future__ import annotations

from typing import Any

import pytest

import app as app_module
from chalicelib.ai.providers import offline_optimizer
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.services import credits
from infra.local.lambda_shim import sqs_record
from infra.local.worker import WorkerLoop

THIN = ("<p>Espresso at home needs a grinder. Weigh the beans. Pull the shot slowly.</p>"
        "<h2>Grinding</h2><p>Grind fine. Taste and adjust.</p>")


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda receive_count: 0)


@pytest.fixture
def site(api, register):
    owner = register()
    credits.grant(owner.account_id, credit_type="optimization", amount=100, key="test-optimization", bucket="pack",
                  operation="pack_purchase")
    assert api.patch("/v1/account/modules", {"optimizer": True, "linker": True}, token=owner.token).status == 200
    site = api.post("/v1/sites", {"name": "Coffee"}, token=owner.token).json
    sector = api.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Brewing"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    task = api.post(f"{base}/tasks", {"sector_id": sector["sector_id"], "title": "Espresso", "primary_keyword":
                                      "home espresso", "secondary_keywords": ["espresso grinder", "milk frothing"]},
                    token=owner.token).json
    return {"owner": owner, "base": base, "sector_id": sector["sector_id"], "task_id": task["task_id"]}


def _article(api, site, title: str = "Espresso notes", body: str = THIN) -> dict:
    r = api.post(f"{site['base']}/content", {"task_id": site["task_id"], "title": title, "body_html": body},
                 token=site["owner"].token)
    assert r.status == 201, r.json
    return r.json


def _deliver_twice(loop: WorkerLoop, queue_key: str) -> None:
    binding = next(b for b in loop.bindings if b.queue.key == queue_key)
    messages = loop.receive(binding)
    assert messages
    records = [sqs_record(m, queue_arn=binding.arn, region="us-east-1") for m in messages]
    twins = [{**r, "messageId": r["messageId"] + "-again"} for r in records]
    assert binding.handler({"Records": records + twins}, None) == {"batchItemFailures": []}
    assert binding.handler({"Records": records}, None) == {"batchItemFailures": []}
    loop._settle(binding, messages, set())


def _debits(account_id: str) -> list[Any]:
    return [e for e in CreditLedgerEntry.query(account_id) if e.kind == "debit"]


def test_optimize_delivered_twice_charges_once_keeps_one_revision_and_scores_higher(api, site, loop):
    t = site["owner"].token
    article = _article(api, site)
    path = f"{site['base']}/content/{article['content_id']}"
    r = api.post(f"{site['base']}/content/optimize", {"content_ids": [article["content_id"]]}, token=t)
    assert r.status == 202, r.json
    job_id = r.json["job_id"]
    _deliver_twice(loop, "optimize_content")

    job = api.get(f"{site['base']}/jobs/{job_id}", token=t).json
    assert job["status"] == "completed" and job["done"] == 1, job
    debits = _debits(site["owner"].account_id)
    assert len(debits) == 1 and debits[0].operation == "optimize_content" and debits[0].credit_type == "optimization"
    after = api.get(path, token=t).json
    assert after["score"] > article["score"]
    assert after["cost"]["credits"] == job["credits_spent"] > 0
    revisions = api.get(f"{path}/revisions", token=t).json["items"]
    assert len(revisions) == 1
    rev = revisions[0]
    assert rev["reason"] == "optimize" and rev["score_before"] == article["score"]
    assert rev["score_after"] == after["score"] and rev["job_id"] == job_id
    assert "+" in rev["diff"] and "FAQ" in rev["diff"]

    restored = api.post(f"{path}/revisions/{rev['revision_id']}/restore", {}, token=t).json
    assert restored["score"] == article["score"]
    back = api.get(path, token=t).json
    assert back["body_html"] == article["body_html"] and back["score"] == article["score"]
    assert [r["reason"] for r in api.get(f"{path}/revisions", token=t).json["items"]] == ["restore", "optimize"]
    r = api.post(f"{path}/revisions/nonexistent/restore", {}, token=t)
    assert r.status == 404


def test_a_result_that_scores_lower_is_not_kept(api, site, loop, monkeypatch):
    t = site["owner"].token
    article = _article(api, site, title="Home espresso", body=THIN)
    monkeypatch.setattr(offline_optimizer, "optimize", lambda v, rng=None: {
        "title": "Notes", "html": "<p>Short.</p>", "meta_title": "x", "meta_description": "y"})
    from chalicelib.ai.providers import offline_provider
    monkeypatch.setitem(offline_provider._STAGE_BUILDERS, "content_optimization", offline_optimizer.optimize)
    job_id = api.post(f"{site['base']}/content/optimize", {"content_ids": [article["content_id"]]}, token=t).json[
        "job_id"]
    loop.drain(max_seconds=60)
    items = api.get(f"{site['base']}/jobs/{job_id}/items", token=t).json["items"]
    assert items[0]["status"] == "done" and items[0]["result"]["kept"] is False
    assert items[0]["result"]["score_after"] < items[0]["result"]["score_before"]
    same = api.get(f"{site['base']}/content/{article['content_id']}", token=t).json
    assert same["body_html"] == article["body_html"] and same["score"] == article["score"]
    assert api.get(f"{site['base']}/content/{article['content_id']}/revisions", token=t).json["items"] == []


def test_the_optimizer_switch_gates_its_routes_and_its_jobs(api, register):
    owner = register()
    site = api.post("/v1/sites", {"name": "Off"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    r = api.post(f"{base}/content/optimize", {"content_ids": ["x"]}, token=owner.token)
    assert r.status == 403 and r.error_code == "module_disabled"
    r = api.post(f"{base}/jobs", {"stage": "optimize_content", "item_ids": ["x"]}, token=owner.token)
    assert r.status == 403 and r.error_code == "module_disabled"
    r = api.post(f"{base}/jobs", {"stage": "link_content", "item_ids": ["x"]}, token=owner.token)
    assert r.status == 403 and r.error_code == "module_disabled"


def test_a_link_is_inserted_once_however_often_the_link_stage_and_its_accept_run(api, site, loop):
    t = site["owner"].token
    assert api.patch(f"{site['base']}/links/settings", {"auto_accept": 2}, token=t).status == 200
    source = _article(api, site, "Home espresso", "<p>A burr grinder gives an even grind size for espresso.</p>"
                                                  "<p>Milk frothing needs cold milk and a steam wand.</p>")
    grinder = _article(api, site, "Espresso grinder", "<p>A burr grinder gives an even grind size. Choose a "
                                                      "grinder with fine steps for espresso.</p>")
    froth = _article(api, site, "Milk frothing", "<p>Milk frothing makes microfoam. Use cold milk and purge the "
                                                 "steam wand after milk frothing.</p>")
    for _ in range(2):  # the same stage twice, each delivered twice
        r = api.post(f"{site['base']}/jobs", {"stage": "link_content", "item_ids": [source["content_id"]]}, token=t)
        assert r.status == 202, r.json
        _deliver_twice(loop, "link_content")
    body = api.get(f"{site['base']}/content/{source['content_id']}", token=t).json["body_html"]
    for target in (grinder, froth):
        assert body.count(f'id="link-{target["content_id"]}"') == 1, body
    links = api.get(f"{site['base']}/content/{source['content_id']}/links", token=t).json["items"]
    assert sorted(s["status"] for s in links) == ["accepted", "accepted"]
    assert _debits(site["owner"].account_id) == []  # linking costs no credits
