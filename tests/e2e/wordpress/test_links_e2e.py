"""Internal links against a real WordPress: an earlier post is updated with the permalink of a later one.

Two articles of the product link to each other's topics. The earlier one is published with its link
pointing to the later one's future address; when the later one is published, the link is re-pointed to
its WordPress permalink and the earlier post is updated in WordPress through the publish path, once.
Every check reads WordPress's own REST API (and the publish records).
"""

from __future__ import annotations

from typing import Any

import pytest

import app as app_module
from infra.local.worker import WorkerLoop
from tests.e2e.wordpress.test_publishing_e2e import WP, inbox, kms  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

EARLIER = ("<p>Home espresso starts with a burr grinder and fresh beans.</p>"
           "<p>A fine espresso grind size slows the shot; change the grind size in small steps.</p>")
LATER = ("<p>Espresso grind size decides how fast the shot runs. A burr grinder gives an even grind size.</p>"
         "<p>Choose a grinder with fine steps for espresso grind size.</p>")


def _publish(api, base: str, token: str, loop: WorkerLoop, cid: str) -> dict:
    r = api.post(f"{base}/content/{cid}/publish", token=token)
    assert r.status == 202, r.json
    loop.drain(max_seconds=120)
    return api.get(f"{base}/content/{cid}", token=token).json


def test_an_earlier_post_is_updated_with_the_permalink_of_a_later_one(api, register, kms, inbox,  # noqa: F811
                                                                      monkeypatch, wordpress):
    monkeypatch.setenv("PUBLIC_API_URL", inbox.url)
    wp = WP(wordpress)
    owner = register()
    t = owner.token
    assert api.patch("/v1/account/modules", {"linker": True}, token=t).status == 200
    site = api.post("/v1/sites", {"name": "Coffee links"}, token=t).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Espresso"}, token=t).json
    made: dict[str, Any] = {}
    for name, title, body in (("earlier", "Home espresso basics", EARLIER), ("later", "Espresso grind size", LATER)):
        r = api.post(f"{base}/content", {"sector_id": sector["sector_id"], "title": title, "body_html": body},
                     token=t)
        assert r.status == 201, r.json
        made[name] = r.json
        assert api.patch(f"{base}/content/{r.json['content_id']}", {"status": "approved"}, token=t).status == 200
    earlier, later = made["earlier"]["content_id"], made["later"]["content_id"]
    r = api.post(f"{base}/integrations", {"url": wordpress.url, "username": wordpress.username,
                                          "app_password": wordpress.app_password}, token=t)
    assert r.status == 201, r.json
    r = api.put(f"{base}/publishing/settings", {"auto_publish_enabled": False, "daily_publish_limit": 10}, token=t)
    assert r.status == 200, r.json
    loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)
    inbox.forward(api)

    suggestions = api.post(f"{base}/content/{earlier}/links/suggest", {}, token=t).json["items"]
    assert [s["target_id"] for s in suggestions] == [later], suggestions
    link = api.post(f"{base}/content/{earlier}/links/{later}/accept", {}, token=t).json
    assert link["href"] == "/espresso-grind-size/"  # the later one is not published yet

    first = _publish(api, base, t, loop, earlier)
    assert first["site_status"] == "published", first
    post = wp.get(f"/wp/v2/posts/{first['external_id']}", context="edit")
    assert 'href="/espresso-grind-size/"' in post["content"]["raw"]
    inbox.forward(api)

    second = _publish(api, base, t, loop, later)
    assert second["site_status"] == "published" and second["external_url"].startswith(wordpress.url), second
    inbox.forward(api)
    loop.drain(max_seconds=60)
    updated = wp.get(f"/wp/v2/posts/{first['external_id']}", context="edit")["content"]["raw"]
    assert f'href="{second["external_url"]}"' in updated  # WordPress's own copy points to the permalink
    assert 'href="/espresso-grind-size/"' not in updated
    assert updated.count(f'id="link-{later}"') == 1

    # publishing the later one again (a redelivery) changes nothing more: the earlier post was updated once
    from chalicelib.services.publishing import worker

    worker.enqueue_publish(owner.account_id, site["site_id"], later)
    loop.drain(max_seconds=60)
    inbox.forward(api)
    records = api.get(f"{base}/content/{earlier}/publishing-records", token=t).json["items"]
    assert sorted(r["action"] for r in records) == ["created", "updated"], records
    assert api.get(f"{base}/content/{earlier}", token=t).json["site_status"] == "published"
    report = api.get(f"{base}/links/report", token=t).json
    assert report["broken"] == [] and report["totals"]["links"] == 1
