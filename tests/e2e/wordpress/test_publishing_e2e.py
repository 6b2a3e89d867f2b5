"""Publishing end to end against a real WordPress (``make e2e``).

The generation pipeline runs for real on moto in-process (offline AI: articles and PNG images),
through the SQS handlers (local worker loop). The WordPress is Debian's, with the companion
plugin; the product is connected through ``POST /v1/sites/{site_id}/integrations`` and every
check of the result goes through WordPress's own REST API (or its database), never through
our client. The companion plugin's signed webhooks go to a small HTTP receiver, which hands
the raw body and headers to the webhook route.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests

import app as app_module
from chalicelib.integrations.wordpress.client import WordPressClient
from chalicelib.integrations.wordpress.errors import WPBadRequest, WPUnavailable
from chalicelib.models.writer import Content
from chalicelib.observability import recorded_metrics, reset_metrics
from chalicelib.services import credits
from chalicelib.services.publishing import post as publish_post
from chalicelib.services.publishing import worker
from chalicelib.timeutil import utcnow
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from infra.wordpress.server import WordPressServer

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

SEO_STUB = "seo-engine-e2e-seo-stub.php"
KEYWORDS = [
    *(f"best espresso machine {w}" for w in ("under 500", "for beginners", "for home", "with grinder")),
    *(f"how to descale {w}" for w in ("espresso machine", "coffee maker", "breville", "delonghi")),
    *(f"pour over {w}" for w in ("ratio", "coffee ratio", "technique", "kettle", "grind size")),
    *(f"cold brew {w}" for w in ("concentrate recipe", "ratio", "time", "coffee maker")),
]


class WebhookInbox:
    """Where the plugin delivers (its product URL); the test forwards each delivery to the API."""

    def __init__(self) -> None:
        self.deliveries: queue.Queue[dict[str, Any]] = queue.Queue()
        deliveries = self.deliveries

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                deliveries.put({"path": self.path, "headers": dict(self.headers), "raw": raw})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def forward(self, api: Any, *, until: str | None = None, timeout: float = 15) -> list[tuple[dict, Any]]:
        """Hand every delivery to ``POST /v1/webhooks/wordpress/...``; wait for an ``until`` event."""
        import json

        forwarded = []
        while True:
            try:
                delivery = self.deliveries.get(timeout=timeout if until else 0.5)
            except queue.Empty:
                if until:
                    raise AssertionError(f"no {until!r} webhook arrived") from None
                return forwarded
            headers = {k: v for k, v in delivery["headers"].items() if k.lower() not in ("host", "content-length")}
            response = api.request("POST", delivery["path"], body=delivery["raw"], headers=headers)
            body = json.loads(delivery["raw"])
            forwarded.append((body, response))
            if until and body.get("event") == until:
                return forwarded

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def inbox() -> Iterator[WebhookInbox]:
    box = WebhookInbox()
    yield box
    box.close()


@pytest.fixture
def kms(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)


@pytest.fixture
def seo_plugin(wordpress: WordPressServer) -> Iterator[None]:
    wordpress.activate_plugin(SEO_STUB)  # Yoast / Rank Math meta exposed over REST
    yield
    wordpress.deactivate_plugin(SEO_STUB)


class WP:
    """WordPress's own REST API and database, to check what the product did."""

    def __init__(self, server: WordPressServer) -> None:
        self.server = server
        self.auth = (server.username, server.app_password)

    def get(self, route: str, **params: Any) -> Any:
        r = requests.get(f"{self.server.url}/wp-json{route}", params=params, auth=self.auth, timeout=30)
        assert r.status_code == 200, (route, r.status_code, r.text[:300])
        return r.json()

    def posts_with(self, content_id: str) -> int:
        """Posts of any status (trash included) carrying the content id, counted in the database."""
        code = ("global $wpdb; $like = '%' . $wpdb->esc_like('content-id=' . getenv('E2E_CONTENT_ID') . ' ') . '%';"
                "echo $wpdb->get_var($wpdb->prepare(\"SELECT COUNT(*) FROM {$wpdb->posts} WHERE post_type = 'post' "
                "AND post_content LIKE %s\", $like));")
        return int(self.server.php(code, env={"E2E_CONTENT_ID": content_id}).strip())

    def plugin_lookup(self, content_id: str) -> list[int]:
        found = self.get("/seo-engine/v1/posts", content_id=content_id, include_trash=1)
        return [int(p["id"]) for p in found.get("posts", [])]


def _run(api, base: str, token: str, loop: WorkerLoop, stage: str, **body: Any) -> dict:
    r = api.post(f"{base}/jobs", {"stage": stage, **body}, token=token)
    assert r.status == 202, r.json
    loop.drain(max_seconds=180)
    job = api.get(f"{base}/jobs/{r.json['job_id']}", token=token).json
    assert job["status"] == "completed", job
    return job


@pytest.fixture
def world(api, register, kms, inbox, monkeypatch, wordpress, seo_plugin) -> dict[str, Any]:
    """Four approved articles with rendered images, made by the real pipeline; WordPress connected."""
    monkeypatch.setenv("PUBLIC_API_URL", inbox.url)
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=1000, key=f"e2e-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    site = api.post("/v1/sites", {"name": "Coffee", "time_zone": "Europe/Berlin"}, token=owner.token).json
    base = f"/v1/sites/{site['site_id']}"
    sector = api.post(f"{base}/sectors", {"name": "Brewing"}, token=owner.token).json
    r = api.post(f"{base}/keywords/import", {"sector_id": sector["sector_id"],
                                             "keywords": [{"keyword": k} for k in KEYWORDS]}, token=owner.token)
    assert r.status in (200, 201), r.json
    loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)
    t = owner.token
    _run(api, base, t, loop, "cluster_keywords")
    _run(api, base, t, loop, "generate_ideas", filter={"ideas_per_cluster": 2})
    for idea in api.get(f"{base}/ideas?limit=100", token=t).json["items"]:
        assert api.patch(f"{base}/ideas/{idea['idea_id']}", {"status": "approved"}, token=t).status == 200
    _run(api, base, t, loop, "create_tasks")
    _run(api, base, t, loop, "generate_content", filter={"limit": 4})
    articles = api.get(f"{base}/content?limit=100", token=t).json["items"]
    assert len(articles) == 4
    ids = sorted(a["content_id"] for a in articles)
    _run(api, base, t, loop, "generate_image_prompts", item_ids=ids)
    for cid in ids:  # two in-body images per article besides the featured one, rendered by the images stage
        for position in (1, 2):
            r = api.post(f"{base}/images", {"content_id": cid, "position": position, "alt_text": f"figure {position}",
                                            "prompt": f"a photo for section {position}"}, token=t)
            assert r.status == 201 and r.json["status"] == "pending", r.json
    _run(api, base, t, loop, "generate_images", item_ids=ids)
    for cid in ids:
        images = api.get(f"{base}/images?content_id={cid}", token=t).json["items"]
        assert images and all(i["status"] == "generated" for i in images), images
        r = api.patch(f"{base}/content/{cid}", {"status": "approved"}, token=t)
        assert r.status == 200 and r.json["site_status"] == "not_published", r.json  # no connection yet

    r = api.post(f"{base}/integrations", {"url": wordpress.url, "username": wordpress.username,
                                          "app_password": wordpress.app_password}, token=t)
    assert r.status == 201, r.json
    connection = r.json
    assert connection["plugin_active"] and connection["webhooks_enabled"]
    assert wordpress.app_password not in r.raw.decode()
    assert "_yoast_wpseo_title" in connection["seo_fields"]
    # the tests below publish by hand; nothing should be slotted behind their back
    r = api.put(f"{base}/publishing/settings", {"auto_publish_enabled": False, "daily_publish_limit": 10}, token=t)
    assert r.status == 200, r.json
    inbox.forward(api)
    return {"owner": owner, "base": base, "site_id": site["site_id"], "ids": ids, "loop": loop,
            "sector": sector["name"]}


def _content(api, world, cid: str) -> dict:
    return api.get(f"{world['base']}/content/{cid}", token=world["owner"].token).json


def _publish(api, world, cid: str) -> None:
    r = api.post(f"{world['base']}/content/{cid}/publish", token=world["owner"].token)
    assert r.status == 202, r.json
    world["loop"].drain(max_seconds=120)


def test_publishing_to_a_real_wordpress(api, world, wordpress, inbox, monkeypatch, capsys):
    wp = WP(wordpress)
    reset_metrics()
    first, crashed, lost, failed = world["ids"]
    duplicates: dict[str, int] = {}

    # --- 1. publish with images, checked through WordPress's REST API -----------------------
    _publish(api, world, first)
    mine = _content(api, world, first)
    assert mine["site_status"] == "published" and mine["status"] == "published", mine
    post = wp.get(f"/wp/v2/posts/{mine['external_id']}", context="edit")
    assert post["status"] == "publish" and post["title"]["raw"] == mine["title"]
    assert post["link"] == mine["external_url"]
    assert datetime.fromisoformat(post["date_gmt"] + "+00:00") == datetime.fromisoformat(
        mine["scheduled_publish_at"].replace("Z", "+00:00"))
    assert post["featured_media"] > 0
    featured = wp.get(f"/wp/v2/media/{post['featured_media']}")
    assert featured["mime_type"].startswith("image/") and featured["alt_text"]
    images = api.get(f"{world['base']}/images?content_id={first}", token=world["owner"].token).json["items"]
    inline = [i for i in images if not i["is_featured"]]
    body = post["content"]["raw"]
    # every in-article image (the stage's and the two added by hand) is in the post, once
    assert len(inline) >= 2 and body.count("<img ") == len(inline)
    assert f'src="{wordpress.url}/wp-content/uploads/' in body
    assert f"content-id={first}" in body
    categories = [wp.get(f"/wp/v2/categories/{c}")["name"] for c in post["categories"]]
    assert categories == [world["sector"]]
    tags = {wp.get(f"/wp/v2/tags/{tag}")["name"] for tag in post["tags"]}
    assert tags and tags <= set(KEYWORDS)
    assert post["meta"]["_yoast_wpseo_title"] == mine["meta_title"]
    assert post["meta"]["seo_engine_content_id"] == first
    records = api.get(f"{world['base']}/content/{first}/publishing-records", token=world["owner"].token).json
    assert [(r["status"], r["action"]) for r in records["items"]] == [("published", "created")]
    # the same message delivered again: nothing new
    worker.enqueue_publish(world["owner"].account_id, world["site_id"], first)
    world["loop"].drain(max_seconds=60)
    duplicates["delivered twice"] = wp.posts_with(first) - 1

    # --- 2. the worker dies between WordPress's answer and our write ----------------------------
    class Killed(Exception):
        pass

    real_remember = publish_post._remember_post
    kills = {"n": 0}

    def die_once(*args: Any, **kwargs: Any) -> None:
        if kills["n"] == 0:
            kills["n"] += 1
            raise Killed("the process died here")
        real_remember(*args, **kwargs)

    monkeypatch.setattr(publish_post, "_remember_post", die_once)
    _publish(api, world, crashed)
    assert kills["n"] == 1
    state = _content(api, world, crashed)
    assert state["site_status"] == "publishing" and state["external_id"] is None  # the id never got stored
    assert wp.posts_with(crashed) == 1  # ... but WordPress made the post
    # Lambda would redeliver after the visibility timeout, past the dead worker's lease; here
    # the lease is expired by hand and the publishing tick finds the item in the due index.
    item = Content.get(f"{world['owner'].account_id}#{world['site_id']}", crashed)
    item.update(actions=[Content.publish_lease_until.set(utcnow() - timedelta(seconds=1))])
    assert Clock(app_module).fire("publishing")["enqueued"] == 1
    world["loop"].drain(max_seconds=120)
    state = _content(api, world, crashed)
    assert state["site_status"] == "published", state
    assert wp.plugin_lookup(crashed) == [int(state["external_id"])]
    duplicates["crash after WordPress answered"] = wp.posts_with(crashed) - 1
    records = api.get(f"{world['base']}/content/{crashed}/publishing-records", token=world["owner"].token).json
    assert [r["status"] for r in records["items"]] == ["published", "failed"]
    assert records["items"][0]["action"] == "recovered"

    # --- 3. WordPress made the post, its answer was lost (read timeout) -----------------------
    real_create = WordPressClient.create_post
    lost_answers = {"n": 0}

    def lose_first_answer(self: WordPressClient, **kwargs: Any) -> Any:
        made = real_create(self, **kwargs)
        if lost_answers["n"] == 0:
            lost_answers["n"] += 1
            raise WPUnavailable("read timed out", outcome_unknown=True)
        return made

    monkeypatch.setattr(WordPressClient, "create_post", lose_first_answer)
    _publish(api, world, lost)
    state = _content(api, world, lost)
    assert state["site_status"] == "published" and lost_answers["n"] == 1, state
    duplicates["answer lost"] = wp.posts_with(lost) - 1

    # --- 4. a permanent error after the post was made: failed, then retried by a person -------
    def reject_after_creating(self: WordPressClient, **kwargs: Any) -> Any:
        real_create(self, **kwargs)
        raise WPBadRequest("invalid parameter(s): date_gmt", status=400)

    monkeypatch.setattr(WordPressClient, "create_post", reject_after_creating)
    _publish(api, world, failed)
    state = _content(api, world, failed)
    assert state["site_status"] == "failed" and "date_gmt" in state["publish_error"], state
    monkeypatch.setattr(WordPressClient, "create_post", real_create)
    r = api.post(f"{world['base']}/content/{failed}/publish/retry", token=world["owner"].token)
    assert r.status == 202, r.json
    world["loop"].drain(max_seconds=120)
    assert _content(api, world, failed)["site_status"] == "published"
    duplicates["failed, then retried"] = wp.posts_with(failed) - 1

    outcomes = {m.dimensions["outcome"] for m in recorded_metrics("PublishOutcome")}
    assert {"published", "failed", "rescheduled"} <= outcomes

    # --- 5. trashed in WordPress: the plugin's signed webhook reaches our endpoint --------------
    inbox.forward(api)  # our own updates come back as "updated" webhooks: verified, then ignored
    requests.delete(f"{wordpress.url}/wp-json/wp/v2/posts/{mine['external_id']}", auth=wp.auth,
                    timeout=30).raise_for_status()
    forwarded = inbox.forward(api, until="trashed")
    event, response = forwarded[-1]
    assert event["content_id"] == first and response.status == 200 and response.json["handled"] is True
    trashed = _content(api, world, first)
    assert trashed["site_status"] == "not_published" and "trashed" in trashed["publish_error"]
    assert all(r.status == 200 for _, r in forwarded)  # every real delivery passed verification

    assert duplicates == dict.fromkeys(duplicates, 0), duplicates
    with capsys.disabled():
        print(f"\nWordPress e2e, duplicate posts per retry scenario: {duplicates}")


def test_connection_errors_through_the_route(api, register, kms, wordpress, monkeypatch):
    owner = register()
    site = api.post("/v1/sites", {"name": "Errors"}, token=owner.token).json
    path = f"/v1/sites/{site['site_id']}/integrations"
    r = api.post(path, {"url": wordpress.url, "username": wordpress.username,
                        "app_password": "aaaa bbbb cccc dddd eeee ffff"}, token=owner.token)
    assert r.status == 422 and r.error_code == "wordpress_auth_failed", r.json
    r = api.post(path, {"url": f"{wordpress.url}/not-the-blog", "username": wordpress.username,
                        "app_password": wordpress.app_password}, token=owner.token)
    assert r.status == 422 and r.error_code == "wordpress_not_found", r.json
    monkeypatch.setattr(WordPressClient, "_check_site_path", lambda self, index: None)
    r = api.post(path, {"url": f"{wordpress.url}/__strip_auth__", "username": wordpress.username,
                        "app_password": wordpress.app_password}, token=owner.token)
    assert r.status == 422 and r.error_code == "wordpress_auth_header_stripped", r.json
    assert "CGIPassAuth" in r.json["error"]["message"]
    assert api.get(path, token=owner.token).json["items"] == []
