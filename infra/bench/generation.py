"""Generation quality: do the demo's articles fit their content type, and is every image alt-texted?

Per content type: the articles, their words, how many are inside the type's length range and
pass its structure check, and how many have every image alt-texted and captioned. Targets: 100%
each (``summary``: generation.*).

In ``make bench`` it measures the articles the pipeline bench just wrote (its smallest size: the
demo-shaped keywords of ``infra.demo_data``, each idea with the content type the ideas stage
proposed), so it adds no generation of its own to the run. Run alone (``--only generation``), it
writes its own: the demo's espresso keywords, one idea per content type (each type once), for a
site whose author profile writes German.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

KEYWORDS = 40  # the demo's first espresso keywords: enough clusters for one idea per content type
IMAGES_PER_ARTICLE = 2  # a featured image and one in the body: the alt-text check needs no more


# Filled by the pipeline bench when it ran first in this process: size -> its articles.
FROM_PIPELINE: dict[int, list[dict[str, Any]]] = {}


def collect(site_key: str) -> list[dict[str, Any]]:
    """A site's articles with their bodies and images, read from the tables (after a bench run)."""
    from chalicelib.models.site_records import join_key
    from chalicelib.models.writer import Content, ContentBody, ContentImage

    contents = list(Content.query(site_key))
    bodies = {b.content_id: b.body_html for b in ContentBody.batch_get([(site_key, c.content_id) for c in contents])}
    return [{"content_type": c.content_type, "body_html": bodies.get(c.content_id, ""),
             "images": [{"alt_text": i.alt_text, "caption": i.caption}
                        for i in ContentImage.by_content.query(join_key(site_key, c.content_id))]}
            for c in contents]


def _articles(client: Any, loop: Any) -> list[dict[str, Any]]:
    from chalicelib.services import content_types, credits
    from infra.bench.pipeline import _Http
    from infra.demo_data import demo_keywords

    c = _Http(client)
    reg = c.call("POST", "/v1/auth/register", {"account_name": "Bench generation", "password": "bench password 123",
                                               "email": "bench-generation@example.com"}, 201)
    c.token = reg["tokens"]["access_token"]
    for credit_type in ("idea", "content", "image"):
        credits.grant(reg["account"]["account_id"], credit_type=credit_type, amount=5000, key=f"bench-{credit_type}",
                      bucket="pack", operation="pack_purchase")
    profile = c.call("POST", "/v1/account/author-profiles", {"name": "Pia", "tone": "playful", "language": "de"}, 201)
    site = c.call("POST", "/v1/sites", {"name": "Bench Kaffee"}, 201)
    base = f"/v1/sites/{site['site_id']}"
    c.call("PATCH", base, {"author_profile_id": profile["profile_id"]})
    c.call("PUT", "/v1/account/settings/ai.max_images", {"value": IMAGES_PER_ARTICLE})
    sector = c.call("POST", f"{base}/sectors", {"name": "Espresso"}, 201)["sector_id"]
    keywords = next(iter(demo_keywords().values()))[:KEYWORDS]
    c.call("POST", f"{base}/keywords/import", {"sector_id": sector, "keywords": keywords}, (200, 201))

    def stage(name: str, **body: Any) -> None:
        c.call("POST", f"{base}/jobs", {"stage": name, **body}, 202)
        loop.drain(max_seconds=600)

    stage("cluster_keywords")
    stage("generate_ideas", filter={"ideas_per_cluster": 1})
    kinds = list(content_types.CONTENT_TYPES)
    ideas = c.call("GET", f"{base}/ideas?limit=100")["items"]
    if len(ideas) < len(kinds):
        raise RuntimeError(f"{len(ideas)} ideas for {len(kinds)} content types: import more keywords")
    for idea, kind in zip(ideas, kinds, strict=False):
        c.call("PATCH", f"{base}/ideas/{idea['idea_id']}", {"status": "approved", "content_type": kind})
    stage("create_tasks")
    stage("generate_content", filter={"limit": 100})
    ids = [a["content_id"] for a in c.call("GET", f"{base}/content?limit=100")["items"]]
    stage("generate_image_prompts", item_ids=ids)
    stage("generate_images", item_ids=ids)
    out = []
    for content_id in ids:
        article = c.call("GET", f"{base}/content/{content_id}")
        article["images"] = c.call("GET", f"{base}/images?content_id={content_id}&limit=50")["items"]
        out.append(article)
    return out


def _own_articles() -> list[dict[str, Any]]:
    import logging

    from chalice.test import Client

    from infra.bench.pipeline import _environment, _fresh_aws

    saved = os.environ.get("RESOURCE_PREFIX")
    _environment()
    logging.getLogger("infra.local.worker").setLevel(logging.WARNING)
    try:
        with _fresh_aws():
            import app as app_module
            from infra.local.worker import WorkerLoop

            loop = WorkerLoop(app_module, backoff=lambda receive_count: 0)
            with Client(app_module.app) as client:
                articles = _articles(client, loop)
    finally:
        if saved is None:
            os.environ.pop("RESOURCE_PREFIX", None)
        else:
            os.environ["RESOURCE_PREFIX"] = saved
    return articles


def run() -> dict[str, Any]:
    from chalicelib.services import content_types, html

    if FROM_PIPELINE:
        size = min(FROM_PIPELINE)
        articles, source = FROM_PIPELINE[size], f"the pipeline bench's {size} demo-shaped keywords"
    else:
        articles, source = _own_articles(), "the demo's espresso keywords, one idea per content type, in German"

    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for article in articles:
        by_type[article["content_type"]].append(article)
    rows = []
    for key, group in sorted(by_type.items()):
        ctype = content_types.get(key)
        words = [html.word_count(a["body_html"]) for a in group]
        rows.append({
            "content_type": key, "range": f"{ctype.min_words}-{ctype.max_words}", "articles": len(group),
            "words_min": min(words), "words_max": max(words),
            "in_range": sum(ctype.in_range(w) for w in words),
            "structure_ok": sum(not content_types.check(a["body_html"], w, ctype) for a, w in zip(group, words,
                                                                                                strict=True)),
            "all_images_alt": sum(bool(a["images"]) and all(i["alt_text"] for i in a["images"]) for a in group),
            "all_images_captioned": sum(bool(a["images"]) and all(i["caption"] for i in a["images"]) for a in group),
        })
    total = max(1, len(articles))
    totals = {name: round(100 * sum(r[name] for r in rows) / total, 1)
              for name in ("in_range", "structure_ok", "all_images_alt", "all_images_captioned")}
    return {"title": f"Generation quality over the demo's articles ({len(articles)} articles from {source}, "
                     "offline provider)",
            "rows": rows, "totals": {"articles": len(articles), **totals},
            "notes": [f"share inside their type's length range: {totals['in_range']}%; with every image "
                      f"alt-texted: {totals['all_images_alt']}% (target 100% each)"]}
