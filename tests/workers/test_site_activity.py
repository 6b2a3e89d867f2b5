"""A deactivated site, sector or account: its work waits, unchanged, and goes on once it is active again.

Through the real handlers: the stage workers hold the job items (queued, not failed), the
publishing tick does not queue the site's due content and the publish worker holds (never
fails) what it is handed, the automation tick skips the site's due run and the run's events
wait. Reactivating sends the held items again; the ticks pick the rest up.
"""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

import app as app_module
from chalicelib.messages import PublishItem
from chalicelib.models.automation import AutomationConfig
from chalicelib.models.jobs import JobItem, job_key
from chalicelib.models.publisher import PublishingRecord
from chalicelib.models.writer import Content
from chalicelib.services import credits
from chalicelib.services.automation import tick as automation_tick
from chalicelib.services.publishing import post as publish_post
from chalicelib.services.publishing import worker
from chalicelib.timeutil import advance, utcnow
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site, ok

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda n: 0)


@pytest.fixture
def wp(aws, monkeypatch) -> FakeWordPress:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    return FakeWordPress().install(monkeypatch)


@pytest.fixture
def env(api, register):
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=500, key=f"test-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    site = make_site(api, owner)
    for sector_id, words in zip(site.sectors, (["espresso grinder", "espresso tamper", "espresso scale"],
                                               ["pour over kettle", "pour over filter", "pour over ratio"]),
                                strict=True):
        ok(api.post(f"{site.base}/keywords/import", {"sector_id": sector_id,
                                                     "keywords": [{"keyword": w} for w in words]},
                    token=owner.token))
    return site


def items(account_id: str, job_id: str) -> dict[str, str]:
    return {i.item_id: i.status for i in JobItem.query(job_key(account_id, job_id), consistent_read=True)}


def test_job_items_of_a_deactivated_site_wait_and_go_on_when_it_is_back(api, env, loop):
    t = env.owner.token
    job = ok(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords"}, token=t), 202)
    ok(api.patch(env.base, {"is_active": False}, token=t))
    loop.drain(max_seconds=60)
    assert set(items(env.owner.account_id, job["job_id"]).values()) == {"queued"}  # held, not failed
    assert ok(api.get(f"{env.base}/jobs/{job['job_id']}", token=t))["status"] == "running"
    assert ok(api.get(f"{env.base}/clusters", token=t))["items"] == []
    ok(api.patch(env.base, {"is_active": True}, token=t))  # sends the held items again
    loop.drain(max_seconds=60)
    done = ok(api.get(f"{env.base}/jobs/{job['job_id']}", token=t))
    assert done["status"] == "completed" and done["done"] == 2, done
    assert ok(api.get(f"{env.base}/clusters", token=t))["items"]


def test_items_of_a_deactivated_sector_wait_the_rest_go_on(api, env, loop):
    t = env.owner.token
    off, on = env.sectors
    job = ok(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords"}, token=t), 202)
    assert job["total"] == 2
    ok(api.patch(f"{env.base}/sectors/{off}", {"is_active": False}, token=t))
    loop.drain(max_seconds=60)
    assert items(env.owner.account_id, job["job_id"]) == {off: "queued", on: "done"}
    ok(api.patch(f"{env.base}/sectors/{off}", {"is_active": True}, token=t))
    loop.drain(max_seconds=60)
    assert items(env.owner.account_id, job["job_id"]) == {off: "done", on: "done"}
    assert ok(api.get(f"{env.base}/jobs/{job['job_id']}", token=t))["status"] == "completed"


def test_an_inactive_account_holds_its_sites_work_until_staff_reactivates_it(api, env, loop, register, make_staff):
    staff = make_staff(register("staff"))
    job = ok(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords"}, token=env.owner.token), 202)
    ok(api.patch(f"/v1/admin/accounts/{env.owner.account_id}", {"is_active": False}, token=staff.token))
    loop.drain(max_seconds=60)
    assert set(items(env.owner.account_id, job["job_id"]).values()) == {"queued"}
    ok(api.patch(f"/v1/admin/accounts/{env.owner.account_id}", {"is_active": True}, token=staff.token))
    loop.drain(max_seconds=60)
    assert set(items(env.owner.account_id, job["job_id"]).values()) == {"done"}


def scheduled_article(api, env, wp: FakeWordPress) -> dict:
    t = env.owner.token
    ok(api.post(f"{env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD}, token=t), 201)
    ok(api.put(f"{env.base}/publishing/settings", {"publish_days": ALL_DAYS, "auto_publish_enabled": False},
               token=t))
    c = ok(api.post(f"{env.base}/content", {"sector_id": env.sectors[0], "title": "Dial in espresso",
                                            "body_html": "<h2>One</h2><p>grind finer</p>"}, token=t), 201)
    ok(api.patch(f"{env.base}/content/{c['content_id']}", {"status": "approved"}, token=t))
    at = (utcnow() + timedelta(hours=2)).replace(microsecond=0).isoformat()
    return ok(api.post(f"{env.base}/content/{c['content_id']}/schedule", {"at": at}, token=t))


@pytest.mark.parametrize("what", ["site", "sector"])
def test_scheduled_content_of_a_deactivated_site_or_sector_waits_then_publishes(api, env, loop, wp, what):
    t = env.owner.token
    c = scheduled_article(api, env, wp)
    assert c["site_status"] == "scheduled"
    target = env.base if what == "site" else f"{env.base}/sectors/{env.sectors[0]}"
    ok(api.patch(target, {"is_active": False}, token=t))
    advance(3 * 3600)  # it is due
    tick = Clock(app_module).fire("publishing")
    assert tick["enqueued"] == 0, tick
    message = PublishItem(account_id=env.owner.account_id, site_id=env.site_id, content_id=c["content_id"])
    assert worker.process_publish(message, receive_count=1, max_receives=5) == "held"
    loop.drain(max_seconds=60)
    held = ok(api.get(f"{env.base}/content/{c['content_id']}", token=t))
    assert held["site_status"] == "scheduled" and not held["publish_error"] and wp.posts == {}

    ok(api.patch(target, {"is_active": True}, token=t))
    assert Clock(app_module).fire("publishing")["enqueued"] == 1
    loop.drain(max_seconds=60)
    published = ok(api.get(f"{env.base}/content/{c['content_id']}", token=t))
    assert published["site_status"] == "published" and len(wp.posts) == 1


def test_a_publish_stopped_while_it_was_being_prepared_is_given_back_not_failed(api, env, loop, wp, monkeypatch):
    """The claim checks the site in its transaction; the worker checks it again before it writes the post."""
    t = env.owner.token
    c = scheduled_article(api, env, wp)
    advance(3 * 3600)
    real_terms = publish_post._terms

    def site_stops_meanwhile(client, content):
        api.patch(env.base, {"is_active": False}, token=t)  # a person deactivates the site right now
        return real_terms(client, content)

    monkeypatch.setattr(publish_post, "_terms", site_stops_meanwhile)
    message = PublishItem(account_id=env.owner.account_id, site_id=env.site_id, content_id=c["content_id"])
    assert worker.process_publish(message, receive_count=1, max_receives=5) == "held"
    state = Content.get(f"{env.owner.account_id}#{env.site_id}", c["content_id"], consistent_read=True)
    assert state.site_status == "scheduled" and state.publish_lease_until is None and wp.posts == {}
    records = list(PublishingRecord.query(f"{env.owner.account_id}#{c['content_id']}"))
    assert [r.status for r in records] == ["held"]
    # a claim made once the site is stopped fails in its own transaction
    assert worker._claim_publish(state, utcnow()) == worker.HELD
    monkeypatch.setattr(publish_post, "_terms", real_terms)
    ok(api.patch(env.base, {"is_active": True}, token=t))
    Clock(app_module).fire("publishing")
    loop.drain(max_seconds=60)
    assert ok(api.get(f"{env.base}/content/{c['content_id']}", token=t))["site_status"] == "published"
    assert len(wp.posts) == 1


def test_automation_skips_a_deactivated_site_and_its_run_waits(api, env, loop):
    t = env.owner.token
    ok(api.patch(f"{env.base}/automation/config", {"is_active": True, "clustering_limit": 10, "ideas_limit": 0,
                                                   "content_limit": 0, "image_limit": 0, "publish_limit": 0,
                                                   "delay_between_operations": 0}, token=t))
    run = ok(api.post(f"{env.base}/automation/runs", {}, token=t), 202)
    ok(api.patch(env.base, {"is_active": False}, token=t))
    loop.drain(max_seconds=60)
    waiting = ok(api.get(f"{env.base}/automation/runs/{run['run_id']}", token=t))
    assert waiting["status"] == "running" and waiting["current_stage"] == "cluster_keywords", waiting
    advance(15 * 60)  # stalled long enough to be mended, but the site is deactivated: it waits
    assert automation_tick.tick()["mended"] == 0
    loop.drain(max_seconds=60)
    assert ok(api.get(f"{env.base}/automation/runs/{run['run_id']}", token=t))["status"] == "running"

    ok(api.patch(env.base, {"is_active": True}, token=t))
    for _ in range(10):
        loop.drain(max_seconds=60)
        if ok(api.get(f"{env.base}/automation/runs/{run['run_id']}", token=t))["status"] != "running":
            break
        advance(11 * 60)
        automation_tick.tick()  # mends the run whose events were held
    finished = ok(api.get(f"{env.base}/automation/runs/{run['run_id']}", token=t))
    assert finished["status"] == "completed", finished
    assert ok(api.get(f"{env.base}/clusters", token=t))["items"]

    # the scheduled run of a deactivated site does not start; it says why
    ok(api.patch(env.base, {"is_active": False}, token=t))
    advance(2 * 86400)
    result = automation_tick.tick()
    assert result["started"] == 0 and result["skipped"] == 1, result
    config = AutomationConfig.get(env.owner.account_id, env.site_id)
    assert "deactivated" in (config.last_skip_reason or ""), config.last_skip_reason
