"""The generation pipeline through its real SQS handlers: keywords to images.

Messages are real SQS messages (moto) delivered by the local worker loop as Lambda would,
with distinct message ids. The offline AI provider answers; a wrapper can make it fail.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

import app as app_module
from chalicelib.ai.errors import AIProviderDown
from chalicelib.ai.providers.offline_provider import OfflineProvider
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.models.jobs import JobItem
from chalicelib.services import credits
from infra.local.lambda_shim import sqs_record
from infra.local.worker import WorkerLoop

KEYWORDS = [
    *(f"best espresso machine {w}" for w in ("under 500", "for beginners", "for home", "with grinder", "2026")),
    *(f"how to descale {w}" for w in ("espresso machine", "coffee maker", "breville", "delonghi")),
    *(f"pour over {w}" for w in ("ratio", "coffee ratio", "technique", "kettle", "grind size")),
    "french press vs pour over", "cold brew concentrate recipe", "weather tomorrow",
]


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda receive_count: 0)


@pytest.fixture
def site(api, register):
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=500, key=f"test-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    site = api.post("/v1/sites", {"name": "Coffee"}, token=owner.token).json
    sector = api.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Brewing"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    r = api.post(f"{base}/keywords/import", {"sector_id": sector["sector_id"],
                                             "keywords": [{"keyword": k} for k in KEYWORDS]}, token=owner.token)
    assert r.status in (200, 201), r.json
    return {"owner": owner, "base": base, "site_id": site["site_id"], "sector_id": sector["sector_id"]}


def start(api, site, stage: str, **body: Any) -> dict:
    r = api.post(f"{site['base']}/jobs", {"stage": stage, **body}, token=site["owner"].token)
    assert r.status == 202, r.json
    return r.json


def job(api, site, job_id: str) -> dict:
    return api.get(f"{site['base']}/jobs/{job_id}", token=site["owner"].token).json


def run_stage(api, site, loop, stage: str, **body: Any) -> dict:
    created = start(api, site, stage, **body)
    loop.drain(max_seconds=120)
    return job(api, site, created["job_id"])


def approve_all(api, site, kind: str) -> None:
    items = api.get(f"{site['base']}/{kind}?limit=100", token=site["owner"].token).json["items"]
    for item in items:
        key = "idea_id" if kind == "ideas" else "content_id"
        r = api.patch(f"{site['base']}/{kind}/{item[key]}", {"status": "approved"}, token=site["owner"].token)
        assert r.status == 200, r.json


def ledger_matches_balance(account_id: str) -> None:
    totals = credits.ledger_totals(CreditLedgerEntry.query(account_id))
    for credit_type, value in credits.balances(account_id).items():
        assert totals[credit_type] == value["available"], credit_type


def test_the_whole_chain_keywords_to_images(api, site, loop):
    owner = site["owner"]
    clustered = run_stage(api, site, loop, "cluster_keywords")
    assert clustered["status"] == "completed" and clustered["done"] == 1, clustered
    clusters = api.get(f"{site['base']}/clusters", token=owner.token).json["items"]
    assert len(clusters) >= 2
    outlier = api.get(f"{site['base']}/keywords?status=pending", token=owner.token).json["items"]
    assert any(k["keyword"] == "weather tomorrow" for k in outlier)  # kept apart, not forced into a group

    ideas_job = run_stage(api, site, loop, "generate_ideas", filter={"ideas_per_cluster": 2})
    assert ideas_job["status"] == "completed" and ideas_job["credits_spent"] > 0
    approve_all(api, site, "ideas")
    tasks_job = run_stage(api, site, loop, "create_tasks")
    tasks = api.get(f"{site['base']}/tasks", token=owner.token).json["items"]
    assert tasks_job["done"] == len(tasks) > 0
    content_job = run_stage(api, site, loop, "generate_content", filter={"limit": 3})
    assert content_job["done"] == 3, content_job
    articles = api.get(f"{site['base']}/content", token=owner.token).json["items"]
    assert len(articles) == 3
    article = api.get(f"{site['base']}/content/{articles[0]['content_id']}", token=owner.token).json
    assert "<h2" in article["body_html"] and article["word_count"] > 300
    run_stage(api, site, loop, "generate_image_prompts", item_ids=[articles[0]["content_id"]])
    images_job = run_stage(api, site, loop, "generate_images", item_ids=[articles[0]["content_id"]])
    assert images_job["status"] == "completed", images_job
    images = api.get(f"{site['base']}/images?content_id={articles[0]['content_id']}", token=owner.token).json
    assert images["items"] and all(i["status"] == "generated" for i in images["items"])
    cost = api.get(f"{site['base']}/content/{articles[0]['content_id']}", token=owner.token).json
    assert cost["cost"]["credits"] > 0 and cost["cost"]["images"] == len(images["items"])
    ledger_matches_balance(owner.account_id)


def test_every_message_delivered_twice_makes_one_result_and_one_charge(api, site, loop):
    owner = site["owner"]
    created = start(api, site, "cluster_keywords")
    binding = next(b for b in loop.bindings if b.queue.key == "cluster_keywords")
    messages = loop.receive(binding)
    assert messages
    records = [sqs_record(m, queue_arn=binding.arn, region="us-east-1") for m in messages]
    twins = [{**r, "messageId": r["messageId"] + "-again"} for r in records]
    # the same message twice in one batch, then the whole batch again later
    assert binding.handler({"Records": records + twins}, None) == {"batchItemFailures": []}
    assert binding.handler({"Records": records}, None) == {"batchItemFailures": []}
    loop._settle(binding, messages, set())
    done = job(api, site, created["job_id"])
    assert done["done"] == 1 and done["status"] == "completed"
    clusters = api.get(f"{site['base']}/clusters?limit=100", token=owner.token).json["items"]
    assert len({c["name"] for c in clusters}) == len(clusters)
    debits = [e for e in CreditLedgerEntry.query(owner.account_id) if e.kind == "debit"]
    assert len(debits) == 1
    ledger_matches_balance(owner.account_id)


def test_a_provider_failing_one_call_in_five_still_finishes_with_one_charge_each(api, site, loop, monkeypatch):
    rng = random.Random(7)
    calls: Counter = Counter()
    real_chat = OfflineProvider.chat

    def flaky_chat(self, request):
        calls["chat"] += 1
        if rng.random() < 0.2:
            calls["failed"] += 1
            raise AIProviderDown("simulated outage", provider="offline")
        return real_chat(self, request)

    monkeypatch.setattr(OfflineProvider, "chat", flaky_chat)
    run_stage(api, site, loop, "cluster_keywords")
    ideas = run_stage(api, site, loop, "generate_ideas", filter={"ideas_per_cluster": 2})
    assert calls["failed"] > 0
    assert ideas["done"] + ideas["failed"] == ideas["total"]
    items = list(JobItem.query(f"{site['owner'].account_id}#{ideas['job_id']}"))
    debits = [e for e in CreditLedgerEntry.query(site["owner"].account_id) if e.kind == "debit"]
    assert len(debits) == len({e.entry_key for e in debits})
    assert sum(1 for i in items if i.status == "done") == ideas["done"]
    for item in items:
        if item.status == "failed":
            assert item.error  # failed with its reason, retryable
    ledger_matches_balance(site["owner"].account_id)


def test_a_job_the_balance_cannot_cover_is_refused(api, register):
    owner = register(plan=None)  # free plan: 5 content credits
    site = api.post("/v1/sites", {"name": "s"}, token=owner.token).json
    sector = api.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "x"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    for n in range(6):
        api.post(f"{base}/tasks", {"title": f"Article {n}", "sector_id": sector["sector_id"]}, token=owner.token)
    r = api.post(f"{base}/jobs", {"stage": "generate_content"}, token=owner.token)
    assert r.status == 402 and r.error_code == "insufficient_credits"
    assert r.json["error"]["details"]["estimate"]["content"] > 5
    assert r.json["error"]["details"]["balance"]["content"] == 5


def test_failed_items_show_their_reason_and_can_be_retried(api, site, loop, monkeypatch):
    def broken(self, *args):
        raise AIProviderDown("provider down for this test", provider="offline")

    monkeypatch.setattr(OfflineProvider, "embed", broken)
    failed = run_stage(api, site, loop, "cluster_keywords")
    assert failed["status"] == "failed" and failed["failed"] == 1
    assert "provider down" in failed["failed_items"][0]["error"]
    monkeypatch.undo()
    r = api.post(f"{site['base']}/jobs/{failed['job_id']}/retry", {}, token=site["owner"].token)
    assert r.status == 200 and r.json["requeued"] == [site["sector_id"]]
    loop.drain(max_seconds=120)
    assert job(api, site, failed["job_id"])["status"] == "completed"


def test_nothing_to_do_and_bad_selections_are_clear_4xx(api, site):
    token = site["owner"].token
    r = api.post(f"{site['base']}/jobs", {"stage": "generate_content"}, token=token)
    assert r.status == 422 and r.error_code == "nothing_to_do"
    assert api.post(f"{site['base']}/jobs", {"stage": "dance"}, token=token).status == 422
    r = api.post(f"{site['base']}/jobs", {"stage": "generate_ideas", "item_ids": ["nope"]}, token=token)
    assert r.status == 404


def test_ideas_of_an_intent_already_taken_are_reported_not_written(api, site, loop):
    """The cannibalisation guard: same primary keyword as a live idea or an article of the sector."""
    owner = site["owner"]
    run_stage(api, site, loop, "cluster_keywords")
    cluster = api.get(f"{site['base']}/clusters", token=owner.token).json["items"][0]
    first = run_stage(api, site, loop, "generate_ideas", item_ids=[cluster["cluster_id"]])
    ideas = api.get(f"{site['base']}/ideas?cluster_id={cluster['cluster_id']}", token=owner.token).json["items"]
    assert first["done"] == 1 and ideas

    again = run_stage(api, site, loop, "generate_ideas", item_ids=[cluster["cluster_id"]])
    item = api.get(f"{site['base']}/jobs/{again['job_id']}/items", token=owner.token).json["items"][0]
    assert item["result"]["ideas_created"] == 0
    assert {d["reason"] for d in item["result"]["duplicates"]} == {"same intent as an existing idea"}
    assert len(api.get(f"{site['base']}/ideas?cluster_id={cluster['cluster_id']}",
                       token=owner.token).json["items"]) == len(ideas)

    # An article now owns the first idea's intent; the idea itself is archived.
    approve = api.patch(f"{site['base']}/ideas/{ideas[0]['idea_id']}", {"status": "approved"}, token=owner.token)
    assert approve.status == 200, approve.json
    run_stage(api, site, loop, "create_tasks", item_ids=[ideas[0]["idea_id"]])
    content_job = run_stage(api, site, loop, "generate_content")
    assert content_job["done"] == 1, content_job
    archived = api.patch(f"{site['base']}/ideas/{ideas[0]['idea_id']}", {"status": "archived"}, token=owner.token)
    assert archived.status == 200, archived.json
    third = run_stage(api, site, loop, "generate_ideas", item_ids=[cluster["cluster_id"]])
    item = api.get(f"{site['base']}/jobs/{third['job_id']}/items", token=owner.token).json["items"][0]
    reasons = {d["primary_keyword"].casefold(): d["reason"] for d in item["result"]["duplicates"]}
    assert reasons[ideas[0]["primary_keyword"].casefold()] == "same intent as an existing content"
    assert item["result"]["ideas_created"] == 0
