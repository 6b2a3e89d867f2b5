"""Generation settings reach a real WordPress (``make e2e``): a landing page and a blog post, written
in the site's author's language by the real pipeline (offline AI), published as a WordPress page and
a post, with alt texts and captions on every image, the slug, and the SEO meta where Yoast's and
Rank Math's keys are registered (the e2e SEO stub makes the companion register them). Everything is
counted in WordPress's own database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

import app as app_module
from chalicelib.services import credits, writer
from infra.local.worker import WorkerLoop
from infra.wordpress.server import WordPressServer

pytestmark = [pytest.mark.wordpress, pytest.mark.e2e]

SEO_STUB = "seo-engine-e2e-seo-stub.php"
SEO_KEYS = ("_yoast_wpseo_title", "_yoast_wpseo_metadesc", "_yoast_wpseo_focuskw", "rank_math_title",
            "rank_math_description", "rank_math_focus_keyword", "seo_engine_json_ld")


@pytest.fixture
def kms(aws, monkeypatch):
    key_id = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    monkeypatch.setenv("SECRETS_KMS_KEY_ID", key_id)
    monkeypatch.setenv("PUBLIC_API_URL", "http://127.0.0.1:9")  # webhooks are not this test's subject


@pytest.fixture
def seo_plugin(wordpress: WordPressServer) -> Iterator[None]:
    wordpress.activate_plugin(SEO_STUB)
    yield
    wordpress.deactivate_plugin(SEO_STUB)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status == status, r.json
    return r.json


def sql(wordpress: WordPressServer, query: str, **values: Any) -> Any:
    """One query in WordPress's database; ``%s`` placeholders filled from ``values`` (as JSON)."""
    code = ("global $wpdb; $v = json_decode(getenv('E2E_VALUES'), true);"
            "$q = str_replace('{p}', $wpdb->prefix, getenv('E2E_SQL'));"
            "echo json_encode($wpdb->get_results($v ? $wpdb->prepare($q, ...array_values($v)) : $q, ARRAY_A));")
    out = wordpress.php(code, env={"E2E_SQL": query, "E2E_VALUES": json.dumps(values)})
    return json.loads(out.strip())


def test_a_page_and_a_post_of_two_content_types_reach_wordpress_with_alt_texts_captions_and_seo_meta(
        api, register, kms, wordpress, seo_plugin):
    owner = register()
    for credit_type in ("idea", "content", "image"):
        credits.grant(owner.account_id, credit_type=credit_type, amount=1000, key=f"e2e-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    t = owner.token
    german = ok(api.post("/v1/account/author-profiles", {"name": "Pia", "tone": "playful", "language": "de"},
                         token=t), 201)["profile_id"]
    site = ok(api.post("/v1/sites", {"name": "Kaffee"}, token=t), 201)
    base = f"/v1/sites/{site['site_id']}"
    ok(api.patch(base, {"author_profile_id": german}, token=t))
    sector = ok(api.post(f"{base}/sectors", {"name": "Zubereitung"}, token=t), 201)
    loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)

    def run(stage: str, **body: Any) -> None:
        job = ok(api.post(f"{base}/jobs", {"stage": stage, **body}, token=t), 202)
        loop.drain(max_seconds=180)
        assert ok(api.get(f"{base}/jobs/{job['job_id']}", token=t))["status"] == "completed"

    tasks = {kind: ok(api.post(f"{base}/tasks", {"title": title, "sector_id": sector["sector_id"],
                                                 "primary_keyword": keyword, "content_type": kind}, token=t), 201)
             for kind, title, keyword in (("landing_page", "Espresso Kurs buchen", "espresso kurs"),
                                          ("blog_article", "Espresso richtig extrahieren", "espresso extraktion"))}
    run("generate_content", item_ids=[task["task_id"] for task in tasks.values()])
    contents = {kind: ok(api.get(f"{base}/content?task_id={task['task_id']}", token=t))["items"][0]
                for kind, task in tasks.items()}
    ids = [c["content_id"] for c in contents.values()]
    run("generate_image_prompts", item_ids=ids)
    run("generate_images", item_ids=ids)
    assert all(c["status"] == "approved" for c in contents.values())  # the site's auto approval

    ok(api.post(f"{base}/integrations", {"url": wordpress.url, "username": wordpress.username,
                                         "app_password": wordpress.app_password}, token=t), 201)
    ok(api.put(f"{base}/publishing/settings", {"auto_publish_enabled": False}, token=t))
    for cid in ids:
        ok(api.post(f"{base}/content/{cid}/publish", token=t), 202)
    loop.drain(max_seconds=180)

    for kind, post_type in (("landing_page", "page"), ("blog_article", "post")):
        content = ok(api.get(f"{base}/content/{contents[kind]['content_id']}", token=t))
        assert content["site_status"] == "published", content
        post_id = int(content["external_id"])
        (row,) = sql(wordpress, "SELECT post_type, post_name, post_status FROM {p}posts WHERE ID = %s", id=post_id)
        assert (row["post_type"], row["post_status"], row["post_name"]) == (post_type, "publish", content["slug"])
        meta = {m["meta_key"]: m["meta_value"] for m in sql(
            wordpress, "SELECT meta_key, meta_value FROM {p}postmeta WHERE post_id = %s", id=post_id)}
        assert {key for key in SEO_KEYS if meta.get(key)} == set(SEO_KEYS), meta
        assert meta["_yoast_wpseo_title"] == meta["rank_math_title"] == content["meta_title"]
        assert meta["_yoast_wpseo_metadesc"] == content["meta_description"]
        structured = json.loads(meta["seo_engine_json_ld"])
        assert structured[0]["@type"] == "Article" and structured[0]["inLanguage"] == "de"
        assert (len(structured) == 2) == (kind == "blog_article")  # the blog article's FAQ: FAQPage

        images = ok(api.get(f"{base}/images?content_id={content['content_id']}", token=t))["items"]
        media_ids = [int(writer.get_image(owner.account_id, site["site_id"], i["image_id"]).external_media_id)
                     for i in images]
        assert images and len(media_ids) == len(set(media_ids))
        attachments = [row for media_id in media_ids for row in sql(
            wordpress, "SELECT p.ID, p.post_excerpt, m.meta_value AS alt FROM {p}posts p JOIN {p}postmeta m ON "
                       "m.post_id = p.ID AND m.meta_key = '_wp_attachment_image_alt' "
                       "WHERE p.post_type = 'attachment' AND p.ID = %s", id=media_id)]
        assert len(attachments) == len(images)  # every image has its alt text in WordPress
        assert all(a["alt"].startswith("[de] ") and a["post_excerpt"].startswith("[de] ") for a in attachments)
        assert all(i["thumbnail_url"].startswith(wordpress.url) for i in images)  # WordPress's own thumbnail

        head = requests.get(content["external_url"], timeout=30).text
        assert '<script type="application/ld+json">' in head and '"@type":"Article"' in head
