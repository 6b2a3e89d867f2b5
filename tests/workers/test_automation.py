"""Automation runs through the real handlers: the stage workers, the automation_events worker, the tick.

Messages are real SQS messages (moto) delivered by the local worker loop as Lambda would.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

import app as app_module
from chalicelib import aws, timeutil
from chalicelib.ai.errors import AIProviderDown
from chalicelib.ai.providers.offline_provider import OfflineProvider
from chalicelib.models.billing import CreditLedgerEntry
from chalicelib.models.jobs import Job
from chalicelib.models.writer import Content
from chalicelib.services import credits
from chalicelib.services.automation import tick as automation_tick
from infra.local.worker import WorkerLoop
from tests.workers.test_pipeline import KEYWORDS, ledger_matches_balance

CONFIG = {"clustering_limit": 100, "ideas_limit": 3, "content_limit": 3, "image_limit": 1, "publish_limit": 3,
          "delay_between_operations": 0, "auto_approve": True, "auto_publish": True}


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
    r = api.patch(f"{base}/automation/config", CONFIG, token=owner.token)
    assert r.status == 200, r.json
    return {"owner": owner, "base": base, "site_id": site["site_id"], "sector_id": sector["sector_id"]}


def start(api, site) -> dict:
    r = api.post(f"{site['base']}/automation/runs", {}, token=site["owner"].token)
    assert r.status == 202, r.json
    return r.json


def get_run(api, site, run_id: str) -> dict:
    r = api.get(f"{site['base']}/automation/runs/{run_id}", token=site["owner"].token)
    assert r.status == 200, r.json
    return r.json


def stage(run: dict, name: str) -> dict:
    return next(s for s in run["stages"] if s["name"] == name)


def step_until(loop: WorkerLoop, done, *, limit: int = 500) -> None:
    """Deliver one batch at a time, round robin, until ``done()`` holds."""
    for _ in range(limit):
        if done():
            return
        for binding in loop.bindings:
            messages = loop.sqs.receive_message(QueueUrl=binding.url, MaxNumberOfMessages=1,
                                                MessageSystemAttributeNames=["All"]).get("Messages", [])
            if messages:
                loop.process(binding, messages)
                break
        else:
            raise AssertionError("the queues ran dry before the condition held")
    raise AssertionError("condition not reached")


def articles(site) -> list[Content]:
    return list(Content.query(f"{site['owner'].account_id}#{site['site_id']}"))


def content_debits(account_id: str) -> list[CreditLedgerEntry]:
    return [e for e in CreditLedgerEntry.query(account_id) if e.kind == "debit" and e.operation == "generate_content"]


# --- a whole run ------------------------------------------------------------------------

def test_a_run_goes_from_keywords_to_scheduled_articles(api, site, loop):
    run = start(api, site)
    assert run["status"] == "running" and run["current_stage"] == "cluster_keywords"
    assert run["estimate"]["content"] > 0
    loop.drain(max_seconds=180)

    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed", run
    assert run["current_stage"] is None and run["finished_at"]
    # the optional optimize and link stages are left out at limit 0 (the default)
    assert [s["status"] for s in run["stages"]] == ["done"] * 6 + ["skipped"] * 2 + ["done"] * 2
    assert stage(run, "generate_content")["done"] == 3 and stage(run, "generate_images")["done"] == 1
    assert run["credits_spent"] == sum(s["credits"] for s in run["stages"]) > 0
    made = articles(site)
    assert len(made) == 3
    assert all(c.status == "approved" and c.site_status == "scheduled" for c in made)
    assert "given publishing slots" in stage(run, "publish")["note"]
    listed = api.get(f"{site['base']}/automation/runs", token=site["owner"].token).json["items"]
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    config = api.get(f"{site['base']}/automation/config", token=site["owner"].token).json
    assert config["active_run_id"] is None and config["last_run_id"] == run["run_id"]
    ledger_matches_balance(site["owner"].account_id)


def test_without_auto_approve_articles_wait_for_review(api, site, loop):
    api.patch(f"{site['base']}/automation/config", {"auto_approve": False}, token=site["owner"].token)
    run = start(api, site)
    loop.drain(max_seconds=180)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed"
    assert "wait for review" in stage(run, "review")["note"]
    assert stage(run, "publish")["status"] == "done" and stage(run, "publish")["done"] == 0
    assert {c.status for c in articles(site)} == {"review"}


def test_one_active_run_per_site(api, site, loop):
    first = start(api, site)
    second = api.post(f"{site['base']}/automation/runs", {}, token=site["owner"].token)
    assert second.status == 409 and second.error_code == "run_active"
    assert second.json["error"]["details"]["active_run_id"] == first["run_id"]
    loop.drain(max_seconds=180)
    assert start(api, site)["run_id"] != first["run_id"]  # the lock is released when a run ends


# --- control: pause, resume, cancel mid-stage ---------------------------------------------

def _in_content_stage_with_one_article(api, site, loop, run_id: str) -> dict:
    def one_article_written() -> bool:
        current = get_run(api, site, run_id)
        return current["current_stage"] == "generate_content" and stage(current, "generate_content")["done"] >= 1

    step_until(loop, one_article_written)
    return get_run(api, site, run_id)


def test_pause_mid_stage_then_resume_finishes_without_redoing_items(api, site, loop):
    run = start(api, site)
    _in_content_stage_with_one_article(api, site, loop, run["run_id"])
    r = api.post(f"{site['base']}/automation/runs/{run['run_id']}/pause", {}, token=site["owner"].token)
    assert r.status == 200 and r.json["status"] == "paused"
    loop.drain(max_seconds=120)  # deliveries for the paused job leave their items queued

    paused = get_run(api, site, run["run_id"])
    content_stage = stage(paused, "generate_content")
    assert paused["status"] == "paused" and paused["current_stage"] == "generate_content"
    assert content_stage["done"] < 3 and content_stage["queued"] == 3 - content_stage["done"]
    written_while_paused = len(articles(site))

    r = api.post(f"{site['base']}/automation/runs/{run['run_id']}/resume", {}, token=site["owner"].token)
    assert r.status == 200 and r.json["status"] == "running"
    loop.drain(max_seconds=180)
    finished = get_run(api, site, run["run_id"])
    assert finished["status"] == "completed", finished
    assert stage(finished, "generate_content")["done"] == 3
    made = articles(site)
    assert len(made) == 3 >= written_while_paused
    assert len({c.task_id for c in made}) == 3  # one article per task: nothing redone
    assert len(content_debits(site["owner"].account_id)) == 3
    ledger_matches_balance(site["owner"].account_id)


def test_cancel_mid_stage_skips_queued_items_and_releases_the_site(api, site, loop):
    run = start(api, site)
    current = _in_content_stage_with_one_article(api, site, loop, run["run_id"])
    job_id = stage(current, "generate_content")["job_id"]
    r = api.post(f"{site['base']}/automation/runs/{run['run_id']}/cancel", {}, token=site["owner"].token)
    assert r.status == 200 and r.json["status"] == "cancelled"
    loop.drain(max_seconds=120)

    cancelled = get_run(api, site, run["run_id"])
    assert cancelled["status"] == "cancelled" and cancelled["error_code"] == "cancelled"
    job = api.get(f"{site['base']}/jobs/{job_id}", token=site["owner"].token).json
    assert job["status"] == "cancelled" and job["done"] + job["skipped"] == 3 and job["skipped"] >= 1
    assert len(articles(site)) == job["done"]
    assert stage(cancelled, "publish")["status"] == "pending"  # nothing after the cancel ran
    again = api.post(f"{site['base']}/automation/runs/{run['run_id']}/resume", {}, token=site["owner"].token)
    assert again.status == 409 and again.error_code == "illegal_transition"
    assert start(api, site)["status"] == "running"
    ledger_matches_balance(site["owner"].account_id)


# --- duplicated deliveries: every stage advances once -------------------------------------

def test_every_message_delivered_twice_advances_every_stage_once(api, site, loop, monkeypatch):
    sqs = aws.client("sqs")
    real_send, real_batch = sqs.send_message, sqs.send_message_batch

    def send_twice(**kwargs: Any) -> Any:
        real_send(**kwargs)
        return real_send(**kwargs)

    def batch_twice(**kwargs: Any) -> Any:
        real_batch(**kwargs)
        return real_batch(**kwargs)

    monkeypatch.setattr(sqs, "send_message", send_twice)
    monkeypatch.setattr(sqs, "send_message_batch", batch_twice)
    run = start(api, site)
    loop.drain(max_seconds=240)

    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed", run
    jobs = list(Job.query(f"{site['owner'].account_id}#{site['site_id']}"))
    assert Counter(j.stage for j in jobs) == Counter(s["name"] for s in run["stages"] if s["job_id"])
    assert {j.job_id for j in jobs} == {s["job_id"] for s in run["stages"] if s["job_id"]}
    assert len(articles(site)) == 3
    assert len(content_debits(site["owner"].account_id)) == 3
    ledger_matches_balance(site["owner"].account_id)


# --- stop on error, both ways -------------------------------------------------------------

@pytest.fixture
def content_provider_down(monkeypatch):
    real_chat = OfflineProvider.chat

    def chat(self, request):
        if request.stage == "content_generation":
            raise AIProviderDown("the writer model is down", provider="offline")
        return real_chat(self, request)

    monkeypatch.setattr(OfflineProvider, "chat", chat)


def test_stop_on_error_fails_the_run_at_the_first_failed_item(api, site, loop, content_provider_down):
    api.patch(f"{site['base']}/automation/config", {"stop_on_error": True}, token=site["owner"].token)
    run = start(api, site)
    loop.drain(max_seconds=240)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "failed" and run["error_code"] == "stopped_on_error", run
    assert "generate_content" in run["error"] and "down" in run["error"]
    assert stage(run, "generate_content")["status"] == "failed"
    assert stage(run, "review")["status"] == "pending"
    assert api.get(f"{site['base']}/automation/config", token=site["owner"].token).json["active_run_id"] is None


def test_without_stop_on_error_failed_items_are_counted_and_the_run_goes_on(api, site, loop,
                                                                            content_provider_down):
    run = start(api, site)
    loop.drain(max_seconds=240)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed", run
    content_stage = stage(run, "generate_content")
    assert content_stage["failed"] == 3 and content_stage["done"] == 0
    assert len([e for e in run["errors"] if e["stage"] == "generate_content"]) == 3
    assert all("down" in e["error"] for e in run["errors"])


# --- the tick: due runs, races, max runtime, credits --------------------------------------

@pytest.fixture
def clock():
    yield timeutil
    timeutil.reset()


def _make_due(api, site, clock) -> None:
    r = api.patch(f"{site['base']}/automation/config", {"is_active": True, "frequency": "daily",
                                                       "run_time": "03:00"}, token=site["owner"].token)
    assert r.status == 200 and r.json["next_run_at"]
    due = timeutil.utcnow().fromisoformat(r.json["next_run_at"].replace("Z", "+00:00"))
    clock.advance((due - timeutil.utcnow()).total_seconds() + 60)


def test_two_ticks_racing_start_one_run(api, site, loop, clock):
    _make_due(api, site, clock)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(automation_tick.tick())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["started"] for r in results) == 1
    runs = api.get(f"{site['base']}/automation/runs", token=site["owner"].token).json["items"]
    assert len(runs) == 1 and runs[0]["trigger"] == "schedule"
    assert automation_tick.tick()["started"] == 0  # the occurrence is taken; the next is tomorrow


def test_a_due_config_whose_site_has_an_active_run_is_skipped_and_says_so(api, site, loop, clock):
    manual = start(api, site)
    _make_due(api, site, clock)
    result = automation_tick.tick()
    assert result["started"] == 0 and result["skipped"] == 1
    config = api.get(f"{site['base']}/automation/config", token=site["owner"].token).json
    assert manual["run_id"] in config["last_skip_reason"] and config["last_skipped_at"]
    assert config["next_run_at"] > timeutil.iso(timeutil.utcnow())


def test_a_scheduled_run_through_the_clock(api, site, loop, clock):
    from infra.local.clock import Clock

    _make_due(api, site, clock)
    Clock(app_module).fire("automation")
    loop.drain(max_seconds=180)
    runs = api.get(f"{site['base']}/automation/runs", token=site["owner"].token).json["items"]
    assert len(runs) == 1 and runs[0]["status"] == "completed"


def test_a_run_past_its_max_runtime_is_failed_by_the_tick(api, site, loop, clock):
    api.patch(f"{site['base']}/automation/config", {"max_runtime": 60}, token=site["owner"].token)
    run = start(api, site)
    clock.advance(120)
    assert automation_tick.tick()["timed_out"] == 1
    loop.drain(max_seconds=120)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "failed" and run["error_code"] == "max_runtime_exceeded"
    assert "60 s" in run["error"]
    assert start(api, site)["status"] == "running"


def test_a_run_the_balance_cannot_cover_does_not_start(api, register, clock):
    owner = register(plan=None)  # free plan: a few credits
    site = api.post("/v1/sites", {"name": "Small"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    api.patch(f"{base}/automation/config", {"content_limit": 50, "image_limit": 50}, token=owner.token)
    r = api.post(f"{base}/automation/runs", {}, token=owner.token)
    assert r.status == 402 and r.error_code == "insufficient_credits"
    assert "Not enough credits" in r.json["error"]["message"]
    assert api.get(f"{base}/automation/runs", token=owner.token).json["items"] == []

    _make_due(api, {"base": base, "owner": owner}, clock)
    assert automation_tick.tick()["skipped"] == 1
    config = api.get(f"{base}/automation/config", token=owner.token).json
    assert "Not enough credits" in config["last_skip_reason"] and config["active_run_id"] is None


def test_a_lost_job_finished_event_is_mended_by_the_tick(api, site, loop, clock, monkeypatch):
    from chalicelib.services.pipeline import job_events

    lost: list[str] = []
    monkeypatch.setattr(job_events, "job_finished", lambda job: lost.append(job.job_id))
    run = start(api, site)
    loop.drain(max_seconds=120)
    assert lost and get_run(api, site, run["run_id"])["current_stage"] == "cluster_keywords"
    monkeypatch.undo()
    assert automation_tick.tick()["mended"] == 1
    loop.drain(max_seconds=180)
    assert get_run(api, site, run["run_id"])["status"] == "completed"


def test_a_stage_with_limit_zero_or_nothing_to_do_is_skipped_with_the_reason(api, site, loop):
    api.patch(f"{site['base']}/automation/config", {"image_limit": 0, "publish_limit": 0}, token=site["owner"].token)
    run = start(api, site)
    loop.drain(max_seconds=180)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed"
    assert stage(run, "generate_images")["status"] == "skipped" and stage(run, "generate_images")["note"] == \
        "image_limit is 0"
    assert stage(run, "publish")["status"] == "skipped"
    empty = api.post("/v1/sites", {"name": "Empty"}, token=site["owner"].token).json  # no keywords at all
    r = api.post(f"/v1/sites/{empty['site_id']}/automation/runs", {}, token=site["owner"].token)
    assert r.status == 202, r.json
    loop.drain(max_seconds=180)
    second = api.get(f"/v1/sites/{empty['site_id']}/automation/runs/{r.json['run_id']}",
                     token=site["owner"].token).json
    assert second["status"] == "completed"
    assert stage(second, "cluster_keywords")["status"] == "skipped"
    assert "nothing to cluster keywords" in stage(second, "cluster_keywords")["note"]


def test_the_optional_optimize_and_link_stages_run_when_their_modules_and_limits_say_so(api, site, loop):
    t = site["owner"].token
    credits.grant(site["owner"].account_id, credit_type="optimization", amount=100, key="test-optimization",
                  bucket="pack", operation="pack_purchase")
    config = api.patch(f"{site['base']}/automation/config", {"optimize_limit": 3, "link_limit": 3}, token=t).json
    assert "optimization" not in config["estimate"]  # the optimizer is switched off: its stage costs nothing
    run = start(api, site)
    loop.drain(max_seconds=180)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed", run
    assert stage(run, "optimize_content")["note"] == "the optimizer module is switched off"
    assert stage(run, "link_content")["note"] == "the linker module is switched off"

    assert api.patch("/v1/account/modules", {"optimizer": True, "linker": True}, token=t).status == 200
    config = api.patch(f"{site['base']}/automation/config", {"clustering_limit": 0, "ideas_limit": 0},
                       token=t).json
    assert config["estimate"]["optimization"] > 0  # the credit estimate includes the optimize stage
    api.post(f"{site['base']}/tasks", {"title": "Espresso tamping", "sector_id": site["sector_id"],
                                       "primary_keyword": "espresso tamping"}, token=t)
    run = start(api, site)
    loop.drain(max_seconds=180)
    run = get_run(api, site, run["run_id"])
    assert run["status"] == "completed", run
    optimized, linked = stage(run, "optimize_content"), stage(run, "link_content")
    assert optimized["status"] == "done" and optimized["done"] == 1, optimized
    assert linked["status"] == "done" and linked["done"] == 1, linked
    debits = [e for e in CreditLedgerEntry.query(site["owner"].account_id) if e.operation == "optimize_content"]
    assert len(debits) == 1
