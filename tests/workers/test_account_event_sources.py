"""Events come from where things happen: a publish WordPress refuses, a published article, an
approval, a run that ends; and the weekly digest of what was published.

Through the real paths: HTTP -> DynamoDB -> the publish worker (against the fake WordPress of
tests/api) -> the account-event worker -> in-app, the mail service, webhook endpoints.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

import app as app_module
from chalicelib import timeutil
from chalicelib.ids import new_id
from chalicelib.integrations.wordpress.errors import HEADER_STRIPPED_HELP
from chalicelib.models.automation import AutomationConfig, AutomationRun
from chalicelib.services import account_events
from chalicelib.services import event_names as ev
from chalicelib.services.automation.runs import finish_run
from chalicelib.services.notifications import digest
from infra.local.clock import Clock
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site
from tests.workers.notify_support import close_groups, drain, mails
from tests.workers.test_webhooks import Receiver


@pytest.fixture
def outbox(aws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAIL_OUTBOX_DIR", str(tmp_path / "mail"))
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLIC_API_URL", "https://api.example.com")
    return tmp_path / "mail"


@pytest.fixture
def wp(outbox, monkeypatch) -> FakeWordPress:
    return FakeWordPress().install(monkeypatch)


@pytest.fixture
def receiver(outbox):
    server = Receiver()
    yield server
    server.close()


def _publish(api, env, title: str) -> str:
    base = f"/v1/sites/{env.site_id}"
    c = api.post(f"{base}/content", {"sector_id": env.sectors[0], "title": title, "body_html": "<p>a b c</p>",
                                     "meta_title": "t", "meta_description": "m" * 120}, token=env.owner.token).json
    assert api.patch(f"{base}/content/{c['content_id']}", {"status": "approved"}, token=env.owner.token).status == 200
    assert api.post(f"{base}/content/{c['content_id']}/publish", token=env.owner.token).status == 202
    return c["content_id"]


def _work() -> None:
    from infra.local.worker import WorkerLoop

    WorkerLoop(app_module, backoff=lambda n: 0).drain(until_empty=False, max_seconds=60)


def test_wordpress_stripping_the_authorization_header_tells_people_the_reason(api, register, wp, outbox):
    owner = register()
    env = make_site(api, owner)
    r = api.post(f"/v1/sites/{env.site_id}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                 token=owner.token)
    assert r.status == 201, r.json
    wp.strips_auth = True
    content_id = _publish(api, env, "Refused by the host")
    _work()

    [told] = [n for n in api.get("/v1/notifications", token=owner.token).json["items"]
              if n["event"] == ev.INTEGRATION_BROKEN]
    assert told["data"]["content_id"] == content_id and told["site_id"] == env.site_id
    assert "Authorization header" in told["message"] and "CGIPassAuth" in told["data"]["reason"]
    close_groups()
    [(to, _, text)] = [m for m in mails(outbox) if "WordPress connection broken" in m[1]]
    assert to == owner.email and HEADER_STRIPPED_HELP[:60] in " ".join(text.split())


def test_approved_and_published_articles_reach_subscribed_endpoints(api, register, wp, receiver):
    owner = register()
    env = make_site(api, owner)
    assert api.post(f"/v1/sites/{env.site_id}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                    token=owner.token).status == 201
    r = api.post("/v1/webhooks", {"url": receiver.url, "events": [ev.CONTENT_APPROVED, ev.CONTENT_PUBLISHED]},
                 token=owner.token)
    assert r.status == 201
    content_id = _publish(api, env, "Burr grinders")
    _work()
    _work()
    bodies = [json.loads(req["body"]) for req in receiver.requests]
    assert sorted(b["type"] for b in bodies) == [ev.CONTENT_APPROVED, ev.CONTENT_PUBLISHED]
    published = next(b for b in bodies if b["type"] == ev.CONTENT_PUBLISHED)["data"]
    assert published["content_id"] == content_id and published["url"].startswith(URL)
    assert published["site_id"] == env.site_id and published["title"] == "Burr grinders"


def test_a_run_that_ends_is_told_once_even_when_its_end_is_written_twice(api, register, outbox):
    owner = register()
    env = make_site(api, owner)
    run = AutomationRun(f"{owner.account_id}#{env.site_id}", new_id(), account_id=owner.account_id,
                        site_id=env.site_id, status="running", stages=[], config={}, trigger="manual")
    run.save()
    AutomationConfig(owner.account_id, env.site_id, active_run_id=run.run_id).save()
    assert finish_run(run, "failed", error="generate_content could not start: no credits", error_code="x")
    assert not finish_run(AutomationRun.get(run.site_key, run.run_id), "failed", error="again")  # a retried worker
    drain()
    drain()
    told = [n for n in api.get("/v1/notifications", token=owner.token).json["items"] if n["event"] == ev.RUN_FAILED]
    assert len(told) == 1 and "no credits" in told[0]["message"]
    assert [s for to, s, _ in mails(outbox) if to == owner.email] == ["Content Engine: Automation run failed"]


def test_the_weekly_digest_mails_what_was_published_once_per_week(api, register, add_member, outbox):
    owner = register()
    viewer = add_member(owner, "viewer")
    assert api.patch("/v1/notifications/preferences", {"weekly_digest": False}, token=viewer.token).status == 200
    for n, title in enumerate(("Burr or blade", "Moka pots", "Burr or blade")):
        account_events.emit(owner.account_id, ev.CONTENT_PUBLISHED,
                            {"content_id": f"c{n % 2}", "title": title, "url": f"https://b.example/{n % 2}"},
                            key=f"c{n % 2}:attempt")
    drain()
    clock = Clock(app_module)
    assert clock.fire("weekly_digest") == {"due": 0, "emails": 0}  # not yet Monday 08:00
    due = digest.next_due(timeutil.utcnow())
    timeutil.advance((due - timeutil.utcnow()).total_seconds() + 60)
    assert clock.fire("weekly_digest") == {"due": 1, "emails": 1}
    drain()
    [(to, subject, text)] = [m for m in mails(outbox) if "published this week" in m[1]]
    assert to == owner.email and subject == "Content Engine: 2 article(s) published this week"
    assert "'Burr or blade' was published: https://b.example/0" in text and "Moka pots" in text
    assert clock.fire("weekly_digest") == {"due": 0, "emails": 0}  # told: out of the due index until news
