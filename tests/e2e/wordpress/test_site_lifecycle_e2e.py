"""Scheduled content of a deactivated or deleted site is never published: counted in WordPress's own database.

A real WordPress (``make e2e``): articles are scheduled through the routes; the site is
deactivated, the clock passes their time, the publishing tick fires and a publish message
that was already queued is delivered too -- WordPress has no post of them. Reactivated, they
go out (one post each). Then the site is deleted with an article still scheduled: nothing
more reaches WordPress, the deletion completes, and the posts that were published stay.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest

import app as app_module
from chalicelib.services.publishing import worker
from chalicelib.timeutil import advance, utcnow
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from infra.wordpress.server import WordPressServer
from tests.e2e.wordpress.test_publishing_e2e import WP

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@pytest.fixture
def kms(aws, monkeypatch) -> Iterator[None]:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    yield


def ok(r, status: int = 200):
    assert r.status == status, (r.status, r.json)
    return r.json


def test_scheduled_content_of_a_stopped_site_never_reaches_wordpress(api, register, kms,
                                                                     wordpress: WordPressServer):
    wp = WP(wordpress)
    owner = register()
    t = owner.token
    site = ok(api.post("/v1/sites", {"name": "Lifecycle", "time_zone": "UTC"}, token=t), 201)
    base = f"/v1/sites/{site['site_id']}"
    sector = ok(api.post(f"{base}/sectors", {"name": "Brewing"}, token=t), 201)
    ok(api.post(f"{base}/integrations", {"url": wordpress.url, "username": wordpress.username,
                                         "app_password": wordpress.app_password}, token=t), 201)
    ok(api.put(f"{base}/publishing/settings", {"auto_publish_enabled": False, "publish_days": ALL_DAYS,
                                               "daily_publish_limit": 10, "weekly_publish_limit": 20,
                                               "monthly_publish_limit": 50}, token=t))
    ids = []
    for n in range(3):
        c = ok(api.post(f"{base}/content", {"sector_id": sector["sector_id"], "title": f"Lifecycle article {n}",
                                            "body_html": f"<h2>Part {n}</h2><p>grind, dose, tamp</p>"}, token=t), 201)
        ok(api.patch(f"{base}/content/{c['content_id']}", {"status": "approved"}, token=t))
        ids.append(c["content_id"])
    loop = WorkerLoop(app_module, backoff=lambda n: 0)
    clock = Clock(app_module)

    def schedule(content_id: str, minutes: int) -> None:
        at = (utcnow() + timedelta(minutes=minutes)).replace(second=0, microsecond=0).isoformat()
        assert ok(api.post(f"{base}/content/{content_id}/schedule", {"at": at}, token=t))["site_status"] == "scheduled"

    def publish_round(*queued: str) -> None:
        """The tick fires, and publish messages queued earlier are delivered, then every queue drains."""
        for content_id in queued:
            worker.enqueue_publish(owner.account_id, site["site_id"], content_id)
        clock.fire("publishing")
        loop.drain(max_seconds=120)

    # --- deactivated: due articles wait; WordPress has no post of them ----------------------------
    first, second, third = ids
    schedule(first, 10)
    schedule(second, 20)
    ok(api.patch(base, {"is_active": False}, token=t))
    advance(3600)
    publish_round(first, second)
    assert (wp.posts_with(first), wp.posts_with(second)) == (0, 0)
    waiting = ok(api.get(f"{base}/content/{first}", token=t))
    assert waiting["site_status"] == "scheduled" and not waiting["publish_error"], waiting

    # --- active again: they go out, once each ----------------------------------------------------
    ok(api.patch(base, {"is_active": True}, token=t))
    publish_round()
    assert (wp.posts_with(first), wp.posts_with(second)) == (1, 1)
    assert ok(api.get(f"{base}/content/{first}", token=t))["site_status"] == "published"

    # --- deleted with an article scheduled: it never goes out ---------------------------------------
    schedule(third, 10)
    assert api.delete(base, token=t).status == 202
    advance(3600)
    publish_round(third)
    advance(86400)
    publish_round(third)
    assert wp.posts_with(third) == 0
    assert ok(api.get(f"{base}/deletion", token=t))["status"] == "completed"
    assert api.get(base, token=t).status == 404
    # deleting a site never touches WordPress: what was published stays there
    assert (wp.posts_with(first), wp.posts_with(second)) == (1, 1)
