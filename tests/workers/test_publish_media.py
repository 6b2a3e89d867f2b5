"""The publish worker and the media library: every image lands in WordPress once, whatever failed.

Publish goes through the real route, the publish queue (moto SQS) and its handler (the local
worker loop, as Lambda delivers); WordPress is the in-memory one of tests/api/fake_wordpress.py,
which stores an upload's key in the attachment's description as WordPress does and finds it
the way the real client does (the real one: tests/e2e/wordpress/test_media_e2e.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib.integrations.wordpress import fields as wpfields
from chalicelib.integrations.wordpress.errors import WPUnavailable
from chalicelib.models.writer import Content, ContentImage
from chalicelib.services import media
from chalicelib.timeutil import utcnow
from infra.local.clock import Clock
from infra.local.worker import WorkerLoop
from tests.api.fake_wordpress import PASSWORD, URL, USER, FakeWordPress
from tests.api.planner_env import make_site, ok

POSITIONS = (0, 1, 2)  # the featured image and two in the body


class WorkerDied(Exception):
    """Not a WordPress error: the worker propagates it and leaves its lease, as a crash does."""


@pytest.fixture
def wp(aws, monkeypatch) -> FakeWordPress:
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    return FakeWordPress().install(monkeypatch)


@pytest.fixture
def loop(aws) -> WorkerLoop:
    return WorkerLoop(app_module, backoff=lambda n: 0)


@pytest.fixture
def article(api, register, wp) -> dict[str, Any]:
    """Approved content with three rendered images (files in S3), its site connected to WordPress."""
    owner = register()
    env = make_site(api, owner)
    ok(api.post(f"{env.base}/integrations", {"url": URL, "username": USER, "app_password": PASSWORD},
                token=owner.token), 201)
    ok(api.put(f"{env.base}/publishing/settings", {"auto_publish_enabled": False}, token=owner.token))
    c = ok(api.post(f"{env.base}/content", {"sector_id": env.sectors[0], "title": "Grind size",
                                            "body_html": "<h2>One</h2><p>a</p><h2>Two</h2><p>b</p>"},
                    token=owner.token), 201)
    for position in POSITIONS:
        image = ok(api.post(f"{env.base}/images", {"content_id": c["content_id"], "position": position,
                                                   "is_featured": position == 0, "alt_text": f"figure {position}",
                                                   "url": "https://cdn.example.com/placeholder.png"},
                            token=owner.token), 201)
        key = media.image_key(owner.account_id, env.site_id, c["content_id"], image["image_id"])
        media.store(key, b"\x89PNG image " + bytes([position]), "image/png")
        ContentImage.get(f"{owner.account_id}#{env.site_id}", image["image_id"]).update(
            actions=[ContentImage.storage_key.set(key)])
    ok(api.patch(f"{env.base}/content/{c['content_id']}", {"status": "approved"}, token=owner.token))
    return {"owner": owner, "base": env.base, "site_key": f"{owner.account_id}#{env.site_id}",
            "content_id": c["content_id"]}


def _publish(api, article, loop) -> dict[str, Any]:
    ok(api.post(f"{article['base']}/content/{article['content_id']}/publish", token=article["owner"].token), 202)
    loop.drain(max_seconds=60)
    return ok(api.get(f"{article['base']}/content/{article['content_id']}", token=article["owner"].token))


def _after_the_first_upload(wp: FakeWordPress, error: BaseException) -> None:
    """The first upload is made in WordPress, then its answer is lost (``error`` is raised instead)."""

    def lose(_media: Any) -> None:
        raise error

    wp.after("upload_media", lose)


def _attachments_per_image(wp: FakeWordPress, article: dict[str, Any]) -> dict[int, int]:
    images = list(ContentImage.by_content.query(f"{article['site_key']}#{article['content_id']}"))
    keys = Counter(wpfields.marker_media_key(m["description"]) for m in wp.media.values())
    return {int(i.position): keys[i.external_media_key] for i in images}


def _expire_the_dead_workers_lease(article: dict[str, Any]) -> None:
    item = Content.get(article["site_key"], article["content_id"])
    item.update(actions=[Content.publish_lease_until.set(utcnow() - timedelta(seconds=1))])


SCENARIOS: dict[str, Callable[[FakeWordPress], None]] = {
    "read timeout": lambda wp: _after_the_first_upload(wp, WPUnavailable("read timed out", outcome_unknown=True)),
    "500 after creating it": lambda wp: _after_the_first_upload(
        wp, WPUnavailable("POST /wp/v2/media: the site failed (HTTP 500)", status=500, outcome_unknown=True)),
    "connection reset, then the lookup fails once": lambda wp: (
        _after_the_first_upload(wp, WPUnavailable("connection reset by peer", outcome_unknown=True)),
        wp.fail("find_media_by_key", WPUnavailable("read timed out"))),
    "worker died before storing the media id": lambda wp: _after_the_first_upload(wp, WorkerDied("killed")),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_an_upload_whose_answer_was_lost_is_reused_not_uploaded_again(api, article, wp, loop, scenario):
    SCENARIOS[scenario](wp)
    state = _publish(api, article, loop)
    if scenario.startswith("worker died"):
        assert state["site_status"] == "publishing"  # the dead worker's lease holds it until it expires
        _expire_the_dead_workers_lease(article)
        assert Clock(app_module).fire("publishing")["enqueued"] == 1
        loop.drain(max_seconds=60)
        state = ok(api.get(f"{article['base']}/content/{article['content_id']}", token=article["owner"].token))
    assert state["site_status"] == "published", state
    assert _attachments_per_image(wp, article) == dict.fromkeys(POSITIONS, 1)
    assert len(wp.media) == len(POSITIONS) and wp.calls["upload_media"] == len(POSITIONS)
    assert wp.orphan_media() == []
    post = wp.posts_with(article["content_id"])[0]
    first = min(wp.media)  # the upload whose answer was lost is the post's featured image
    assert post["featured_media"] == first and wp.media[first]["alt"] == "figure 0"
    for media_id, item in wp.media.items():
        assert media_id == first or f'src="{item["url"]}"' in post["content"]


def test_a_publish_with_nothing_lost_looks_nothing_up(api, article, wp, loop):
    assert _publish(api, article, loop)["site_status"] == "published"
    assert wp.calls["upload_media"] == len(POSITIONS) and wp.calls["find_media_by_key"] == 0
    assert _attachments_per_image(wp, article) == dict.fromkeys(POSITIONS, 1) and wp.orphan_media() == []


def test_an_upload_that_failed_before_reaching_wordpress_is_sent_again(api, article, wp, loop):
    wp.fail("upload_media", WPUnavailable("connection refused"))  # nothing made: the lookup finds nothing
    assert _publish(api, article, loop)["site_status"] == "published"
    assert wp.calls["find_media_by_key"] == 1 and wp.calls["upload_media"] == len(POSITIONS) + 1
    assert _attachments_per_image(wp, article) == dict.fromkeys(POSITIONS, 1) and wp.orphan_media() == []


def test_the_alt_text_a_dead_attempt_did_not_set_is_set_on_the_attachment_found(api, article, wp, loop):
    def lose_before_the_alt_text(made: Any) -> None:
        wp.media[made.id]["alt"] = None  # WordPress died between the attachment's INSERT and its alt text
        raise WPUnavailable("the site failed (HTTP 500)", status=500, outcome_unknown=True)

    wp.after("upload_media", lose_before_the_alt_text)
    assert _publish(api, article, loop)["site_status"] == "published"
    assert wp.calls["update_media"] == 1 and wp.media[min(wp.media)]["alt"] == "figure 0"
    assert _attachments_per_image(wp, article) == dict.fromkeys(POSITIONS, 1)
