"""Deleting a site or a sector, through the routes and the real workers (moto in-process).

A site is built with a record in every table a site can own (the real pipeline: keywords to
rendered images in S3; WordPress connected with its webhook route; a publish, a slot, the
counters; an automation config and run). ``DELETE`` stops it at once and answers 202; the
deletions worker removes everything; a raw Scan of every table then finds nothing of it but
its ledger entries and the deletion's own record.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib.integrations.wordpress.webhooks import signature_headers
from chalicelib.messages import DeletionTurn, PublishItem
from chalicelib.models.accounts import Account
from chalicelib.models.base import table_name
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.models.deletions import Deletion, site_target
from chalicelib.models.publisher import PublishCounter, SlotClaim
from chalicelib.registry import queue
from chalicelib.services import credits, deletion, media
from chalicelib.timeutil import advance
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.site_leftovers import files, leftovers, mentions

KEYWORDS = ["best espresso machine under 500", "best espresso machine for beginners", "espresso machine for home",
            "how to descale espresso machine", "descale breville espresso", "pour over coffee ratio",
            "pour over technique", "pour over kettle"]


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda n: 0)


@pytest.fixture
def wp(aws, monkeypatch) -> FakeWordPress:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
    return FakeWordPress().install(monkeypatch)


@dataclass
class SiteWorld:
    api: Any
    owner: Any
    site_id: str
    sectors: list[str]
    content_ids: list[str] = field(default_factory=list)
    hand_written: list[str] = field(default_factory=list)  # articles without images (the linker's target)

    @property
    def base(self) -> str:
        return f"/v1/sites/{self.site_id}"

    def call(self, method: str, path: str, body: Any = None, expect: int | tuple[int, ...] = (200, 201, 202)) -> Any:
        r = self.api.request(method, path, json_body=body, token=self.owner.token)
        assert r.status in ((expect,) if isinstance(expect, int) else expect), (method, path, r.status, r.json)
        return r.json


def run(world: SiteWorld, loop: WorkerLoop, stage: str, **body: Any) -> dict:
    job = world.call("POST", f"{world.base}/jobs", {"stage": stage, **body}, 202)
    loop.drain(max_seconds=120)
    return world.call("GET", f"{world.base}/jobs/{job['job_id']}")


def build_site(api, owner, loop: WorkerLoop, wp: FakeWordPress, *, name: str = "Coffee") -> SiteWorld:
    """A site with a record in every table a site owns, made through the routes and the workers."""
    site = api.post("/v1/sites", {"name": name, "time_zone": "Europe/Berlin"}, token=owner.token).json
    world = SiteWorld(api, owner, site["site_id"], [])
    world.sectors = [world.call("POST", f"{world.base}/sectors", {"name": n})["sector_id"] for n in ("Espresso",
                                                                                                   "Pour over")]
    for n, sector_id in enumerate(world.sectors):
        rows = [{"keyword": k} for k in KEYWORDS[n * 5:(n + 1) * 5]]
        world.call("POST", f"{world.base}/keywords/import", {"sector_id": sector_id, "keywords": rows})
    run(world, loop, "cluster_keywords")
    run(world, loop, "generate_ideas", filter={"ideas_per_cluster": 1})
    ideas = world.call("GET", f"{world.base}/ideas?limit=100")["items"]
    world.call("POST", f"{world.base}/ideas/bulk-status", {"ids": [i["idea_id"] for i in ideas], "status": "approved"})
    run(world, loop, "create_tasks")
    run(world, loop, "generate_content", filter={"limit": 3})
    world.content_ids = sorted(c["content_id"] for c in world.call("GET", f"{world.base}/content?limit=100")["items"])
    run(world, loop, "generate_image_prompts", item_ids=world.content_ids)
    images = run(world, loop, "generate_images", item_ids=world.content_ids)
    assert images["status"] == "completed", images
    world.call("PATCH", "/v1/account/modules", {"optimizer": True, "linker": True})
    world.call("PATCH", f"{world.base}/links/settings", {"auto_accept": 1})  # settings, suggestions, links
    first = world.call("GET", f"{world.base}/content/{world.content_ids[0]}")
    note = world.call("POST", f"{world.base}/content", {
        "sector_id": first["sector_id"], "title": f"{first['keywords'][0]}: notes",
        "body_html": "".join(f"<p>Notes on {k}: what to check first.</p>" for k in first["keywords"][:3])})
    world.hand_written.append(note["content_id"])
    assert run(world, loop, "link_content", item_ids=[first["content_id"], note["content_id"]])["done"] == 2
    # the short hand-written note is sure to score higher once optimized: a revision of the site to delete
    assert run(world, loop, "optimize_content", item_ids=[world.content_ids[0], note["content_id"]])["status"] == (
        "completed")
    assert world.call("GET", f"{world.base}/content/{note['content_id']}/revisions")["items"]
    world.call("POST", f"{world.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD})
    world.call("PUT", f"{world.base}/publishing/settings", {"auto_publish_enabled": False,
                                                            "publish_days": ["mon", "tue", "wed", "thu", "fri",
                                                                             "sat", "sun"]})
    world.call("POST", f"{world.base}/content/bulk-status", {"ids": world.content_ids, "status": "approved"})
    world.call("POST", f"{world.base}/content/{world.content_ids[0]}/publish", expect=202)
    loop.drain(max_seconds=60)
    assert world.call("GET", f"{world.base}/content/{world.content_ids[0]}")["site_status"] == "published"
    world.call("POST", f"{world.base}/content/{world.content_ids[1]}/schedule", {}, expect=(200, 202))
    assert ping(api, world.site_id, wp).status == 200  # its nonce is a record of the site too
    world.call("PATCH", f"{world.base}/automation/config", {"is_active": True, "clustering_limit": 0,
                                                             "ideas_limit": 0, "content_limit": 0, "image_limit": 0,
                                                             "publish_limit": 0, "delay_between_operations": 0})
    world.call("POST", f"{world.base}/automation/runs", {}, expect=202)
    loop.drain(max_seconds=60)
    # a job not run yet: the records it works on are claimed (record_claims) when the site goes
    world.call("POST", f"{world.base}/jobs", {"stage": "generate_image_prompts", "item_ids": world.content_ids[-1:]},
               expect=202)
    return world


def ping(api, site_id: str, wp: FakeWordPress) -> Any:
    """A signed webhook from the site's WordPress companion plugin."""
    body = {"event": "ping", "post_id": 0, "content_id": "", "status": "", "link": "", "modified_gmt": None,
            "timestamp": int(time.time()), "nonce": secrets.token_hex(16)}
    raw = json.dumps(body).encode()
    headers = {k: v for k, v in signature_headers(raw, wp.companion_settings["secret"], body["timestamp"]).items()
               if k != "Content-Type"}
    return api.request("POST", f"/v1/webhooks/wordpress/{site_id}", body=raw, headers=headers)


@pytest.fixture
def owner(api, register):
    member = register()
    for credit_type in ("idea", "content", "image", "optimization"):
        credits.grant(member.account_id, credit_type=credit_type, amount=5000, key=f"test-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    return member


def site_tables_with_records(site_id: str) -> set[str]:
    return set(leftovers(site_id))


def ledger_balances(account_id: str) -> None:
    entries = list(CreditLedgerEntry.query(account_id, consistent_read=True))
    totals = credits.ledger_totals(entries)
    for credit_type, value in credits.balances(account_id).items():
        assert totals[credit_type] == value["available"], credit_type


def test_deleting_a_site_stops_it_then_removes_everything_it_owns(api, owner, loop, wp):
    world = build_site(api, owner, loop, wp)
    keep = SiteWorld(api, owner, api.post("/v1/sites", {"name": "Other"}, token=owner.token).json["site_id"], [])
    keep.sectors = [keep.call("POST", f"{keep.base}/sectors", {"name": "Tea"})["sector_id"]]
    keep.call("POST", f"{keep.base}/keywords", {"keyword": "green tea", "sector_id": keep.sectors[0]})
    deleted_tables = {s.name for s in deletion.plan("site") if s.model is not None}
    assert site_tables_with_records(world.site_id) == deleted_tables, "the world has a record in every site table"
    prefix = media.site_prefix(owner.account_id, world.site_id)
    assert files(prefix), "the images are in the bucket"
    posts_before = len(wp.posts)
    sites_before = Account.get(owner.account_id).site_count

    r = api.delete(world.base, token=owner.token)
    assert r.status == 202, r.json
    accepted = r.json
    assert accepted["status"] == "stopping" and accepted["poll"] == f"{world.base}/deletion"
    assert Account.get(owner.account_id).site_count == sites_before - 1  # freed when accepted

    # Stopped at once: reads say so, nothing can be changed or started, no worker or tick acts.
    assert world.call("GET", world.base)["status"] == "deleting"
    assert [s["status"] for s in world.call("GET", "/v1/sites")["items"] if s["site_id"] == world.site_id] == [
        "deleting"]
    for method, path, body in (("GET", f"{world.base}/keywords", None),
                               ("POST", f"{world.base}/keywords", {"keyword": "x", "sector_id": world.sectors[0]}),
                               ("POST", f"{world.base}/jobs", {"stage": "cluster_keywords"}),
                               ("PATCH", world.base, {"name": "renamed"}),
                               ("POST", f"{world.base}/automation/runs", {})):
        answer = api.request(method, path, json_body=body, token=owner.token)
        assert answer.status == 409 and answer.error_code == "site_deleting", (method, path, answer.json)
    assert ping(api, world.site_id, wp).status == 401  # its webhooks are refused: not even a nonce is written
    from chalicelib.services.publishing import worker

    scheduled = world.content_ids[1]
    advance(30 * 86400)  # the scheduled article is long due
    assert Clock(app_module).fire("publishing")["enqueued"] == 0
    assert worker.process_publish(PublishItem(account_id=owner.account_id, site_id=world.site_id,
                                              content_id=scheduled), receive_count=1, max_receives=5) == "site_gone"
    assert world.call("GET", f"{world.base}/deletion")["status"] in ("stopping", "deleting", "completed")

    loop.drain(max_seconds=120)
    done = world.call("GET", f"{world.base}/deletion")
    assert done["status"] == "completed" and done["steps_done"] == done["steps_total"], done
    assert done["expires_at"] and done["deleted"]["keywords"] == len(KEYWORDS) and done["deleted"]["files"] > 0
    assert done["deleted"]["sites"] == 1
    assert leftovers(world.site_id) == {}, "every record of the site is gone"
    assert files(prefix) == []
    assert len(wp.posts) == posts_before, "nothing was published after the delete was accepted"
    # kept: the money history (balance = its sum), the deletion's own record, and the account's news of
    # what happened on the site (notifications, webhook deliveries, the audit log: they expire by their TTL)
    news = {"account_events", "notifications", "notification_groups", "webhook_deliveries", "audit"}
    assert {"credit_ledger", "deletions"} <= mentions(world.site_id).keys() <= {"credit_ledger", "deletions", *news}
    ledger_balances(owner.account_id)
    assert api.get(world.base, token=owner.token).status == 404
    assert api.delete(world.base, token=owner.token).status == 404
    assert world.site_id not in {s["site_id"] for s in world.call("GET", "/v1/sites")["items"]}
    # the account's other site is untouched
    assert keep.call("GET", f"{keep.base}/keywords")["items"][0]["keyword"] == "green tea"


def test_the_sweep_waits_for_work_already_running(api, owner, loop, monkeypatch):
    monkeypatch.setenv("DELETION_GRACE_SECONDS", "600")
    world = SiteWorld(api, owner, api.post("/v1/sites", {"name": "Slow"}, token=owner.token).json["site_id"], [])
    world.sectors = [world.call("POST", f"{world.base}/sectors", {"name": "Tea"})["sector_id"]]
    world.call("DELETE", world.base, expect=202)
    binding = next(b for b in loop.bindings if b.queue.key == "deletions")
    assert loop.receive(binding) == [], "the first turn is delayed by the grace period"
    sent: list[dict] = []
    monkeypatch.setattr(deletion, "_send", lambda d, delay=0: sent.append({"after": d.invocations, "delay": delay}))
    message = DeletionTurn(account_id=owner.account_id, target=site_target(world.site_id), after=0)
    assert deletion.process(message, budget_seconds=60) == "waiting"  # too early: put back for the rest
    assert 590 < sent[-1]["delay"] <= 600
    advance(601)
    assert deletion.process(message, budget_seconds=60) == "completed"
    assert leftovers(world.site_id) == {}


def test_a_deletion_resumes_after_a_crash_and_duplicates_change_nothing(api, owner, monkeypatch):
    world = SiteWorld(api, owner, api.post("/v1/sites", {"name": "Big"}, token=owner.token).json["site_id"], [])
    world.sectors = [world.call("POST", f"{world.base}/sectors", {"name": "Tea"})["sector_id"]]
    rows = [{"keyword": f"tea number {n}"} for n in range(23)]
    world.call("POST", f"{world.base}/keywords/import", {"sector_id": world.sectors[0], "keywords": rows})
    monkeypatch.setattr(deletion, "PAGE", 4)  # many pages, a turn per page (budget 0)

    class Killed(Exception):
        pass

    real_delete = deletion._delete_items
    calls = {"n": 0}

    def dies_once(model, items):
        calls["n"] += 1
        if calls["n"] == 5:
            raise Killed("the worker died mid-way")
        return real_delete(model, items)

    monkeypatch.setattr(deletion, "_delete_items", dies_once)
    # a copy of every message, and the clock past the lease whenever a delivery fails (as SQS's
    # visibility timeout would be): at-least-once delivery with a crash in the middle
    outcomes: list[str] = []
    real_process = deletion.process

    def tracked(message, **kwargs):
        outcome = real_process(message, budget_seconds=0)
        outcomes.append(outcome)
        return outcome

    monkeypatch.setattr(deletion, "process", tracked)
    copying = WorkerLoop(app_module, backoff=lambda n: (advance(queue("deletions").function_timeout + 1), 0)[1])
    real_receive = copying.receive
    copied: set[str] = set()

    def receive_twice(binding, wait_seconds=0):
        messages = real_receive(binding, wait_seconds)
        for m in messages:
            is_copy = "CopyOf" in (m.get("MessageAttributes") or {})
            if binding.queue.key == "deletions" and not is_copy and m["MessageId"] not in copied:
                copied.add(m["MessageId"])
                copying.sqs.send_message(QueueUrl=binding.url, MessageBody=m["Body"], MessageAttributes={
                    "CopyOf": {"DataType": "String", "StringValue": m["MessageId"]}})
        return messages

    copying.receive = receive_twice  # type: ignore[method-assign]
    world.call("DELETE", world.base, expect=202)
    copying.drain(max_seconds=120)
    assert leftovers(world.site_id) == {}
    record = Deletion.get(owner.account_id, site_target(world.site_id))
    assert record.status == "completed" and record.counts["keywords"] == 23 and record.counts["keyword_names"] == 23
    assert outcomes.count("completed") == 1 and "continued" in outcomes
    assert "stale" in outcomes or "duplicate" in outcomes  # the copies found their turn gone
    assert calls["n"] > 5  # it went on after the crash
    for dead_letter in copying.sqs.receive_message(QueueUrl=copying.sqs.get_queue_url(
            QueueName=queue("deletions").dlq_name)["QueueUrl"]).get("Messages", []):
        raise AssertionError(f"a deletion message ended in the DLQ: {dead_letter['Body']}")


def test_deleting_a_sector_asks_for_cascade_then_removes_its_records_only(api, owner, loop, wp):
    world = build_site(api, owner, loop, wp)
    skey = f"{owner.account_id}#{world.site_id}"
    contents = {c["content_id"]: c for c in world.call("GET", f"{world.base}/content?limit=100")["items"]}
    by_sector: dict[str, list[str]] = {}
    for content_id, c in contents.items():
        by_sector.setdefault(c["sector_id"], []).append(content_id)
    gone = world.call("GET", f"{world.base}/content/{world.content_ids[1]}")["sector_id"]  # has the scheduled one
    stays = next(s for s in world.sectors if s != gone)
    claims_before = {c.content_id: c for c in SlotClaim.query(skey)}
    assert world.content_ids[1] in claims_before
    counters_before = {c.period: int(c.count) for c in PublishCounter.query(skey)}

    r = api.delete(f"{world.base}/sectors/{gone}", token=owner.token)
    assert r.status == 409 and r.error_code == "sector_not_empty" and "keywords" in r.json["error"]["details"]["has"]
    r = api.delete(f"{world.base}/sectors/{gone}?cascade=true", token=owner.token)
    assert r.status == 202 and r.json["kind"] == "sector" and r.json["sector_id"] == gone, r.json
    assert world.call("GET", f"{world.base}/sectors/{gone}")["status"] == "deleting"
    answer = api.post(f"{world.base}/keywords", {"keyword": "late", "sector_id": gone}, token=owner.token)
    assert answer.status == 409 and answer.error_code == "sector_deleting", answer.json
    loop.drain(max_seconds=120)

    done = world.call("GET", f"{world.base}/sectors/{gone}/deletion")
    assert done["status"] == "completed" and done["deleted"]["sectors"] == 1, done
    assert api.get(f"{world.base}/sectors/{gone}", token=owner.token).status == 404
    for kind in ("keywords", "clusters", "ideas", "tasks", "content", "images"):
        remaining = world.call("GET", f"{world.base}/{kind}?limit=100")["items"]
        assert remaining and {i["sector_id"] for i in remaining} == {stays}, kind
    # kept by a sector's deletion: the site's jobs (its work history), the ledger, published slots, the
    # account's news of what happened (notifications, webhook deliveries: they expire by their TTL)
    history = {table_name(t) for t in ("jobs", "job_items", "credit_ledger", "deletions", "publish_slots",
                                       "account_events", "notifications", "notification_groups",
                                       "webhook_deliveries", "audit")}
    assert mentions(gone, skip=history) == {}
    for content_id in by_sector.get(gone, []):
        assert mentions(content_id, skip=history) == {}, content_id
        assert files(media.content_prefix(owner.account_id, world.site_id, content_id)) == []
    for content_id in set(by_sector.get(stays, [])) - set(world.hand_written):
        assert files(media.content_prefix(owner.account_id, world.site_id, content_id))
    # the scheduled article of the sector gave its slot and counters back; a published one keeps its own
    claims_after = {c.content_id: c for c in SlotClaim.query(skey)}
    assert world.content_ids[1] not in claims_after
    released = claims_before[world.content_ids[1]].periods
    counters_after = {c.period: int(c.count) for c in PublishCounter.query(skey)}
    for period in released:
        assert counters_after.get(period, 0) == counters_before[period] - 1, period
    if world.content_ids[0] in by_sector.get(gone, []):
        assert world.content_ids[0] in claims_after  # published: the slot was used, the post stays
    ledger_balances(owner.account_id)


def test_an_empty_sector_needs_no_cascade(api, owner, loop):
    world = SiteWorld(api, owner, api.post("/v1/sites", {"name": "Tea"}, token=owner.token).json["site_id"], [])
    sector_id = world.call("POST", f"{world.base}/sectors", {"name": "Green"})["sector_id"]
    assert world.call("DELETE", f"{world.base}/sectors/{sector_id}", expect=202)["status"] == "stopping"
    loop.drain(max_seconds=60)
    assert world.call("GET", f"{world.base}/sectors/{sector_id}/deletion")["status"] == "completed"
    assert world.call("GET", f"{world.base}/sectors")["items"] == []


def test_a_deletion_whose_worker_died_on_every_delivery_resumes_from_its_dead_letter(api, owner, loop):
    """A turn in the deletions DLQ is not lost: its consumer queues the deletion again, which goes on
    from its saved step; a deletion whose worker keeps dying stops resuming and shows ``stalled``."""
    world = SiteWorld(api, owner, api.post("/v1/sites", {"name": "Doomed"}, token=owner.token).json["site_id"], [])
    world.sectors = [world.call("POST", f"{world.base}/sectors", {"name": "Tea"})["sector_id"]]
    world.call("POST", f"{world.base}/keywords/import", {"sector_id": world.sectors[0],
                                                          "keywords": [f"tea {n}" for n in range(5)]})
    world.call("DELETE", world.base, expect=202)
    target = site_target(world.site_id)
    work = next(b for b in loop.bindings if b.queue.key == "deletions")
    dead = WorkerLoop(app_module, queues=[queue("deletions_dlq")], backoff=lambda n: 0)
    dlq_url = dead.bindings[0].url

    def dies_on_every_delivery() -> None:  # the turn's message is lost to its worker: SQS moves it to the DLQ
        turns = loop.receive(work)
        assert turns, "a turn of the deletion was queued"
        for m in turns:
            loop.sqs.delete_message(QueueUrl=work.url, ReceiptHandle=m["ReceiptHandle"])
            loop.sqs.send_message(QueueUrl=dlq_url, MessageBody=m["Body"])

    for _ in range(deletion.MAX_DEAD_LETTERS):
        dies_on_every_delivery()
        dead.drain(max_seconds=30)  # the consumer resumes it: a new turn is queued
        assert Deletion.get(owner.account_id, target).status != "completed"
    dies_on_every_delivery()
    dead.drain(max_seconds=30)
    assert loop.receive(work) == []  # no more resuming on its own
    assert world.call("GET", f"{world.base}/deletion")["stalled"] is True
    world.call("DELETE", world.base, expect=202)  # asked again: it resumes and completes
    loop.drain(max_seconds=60)
    assert Deletion.get(owner.account_id, target).status == "completed" and leftovers(world.site_id) == {}
