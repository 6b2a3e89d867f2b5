"""Content routes: sanitising, word count, meta warnings, workflow and publishing statuses,
the ready-to-schedule and due indexes, delete cascade, bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.models.writer import DUE_SHARDS, Content
from tests.api.planner_env import all_pages, create, make_site, ok

BODY = ('<h2 onclick="steal()">Dialing in</h2><script>alert(1)</script>'
        '<p>Grind <a href="javascript:alert(2)">finer</a> until the shot runs <b>28 seconds</b>.</p>'
        '<img src="https://cdn.example.com/shot.jpg" onerror="x()" alt="A shot">')


def _content(api, env, **extra):
    body = {"sector_id": env.sectors[0], "title": "Dial in espresso", "body_html": BODY,
            "meta_title": "How to dial in espresso at home", "meta_description": "d" * 120, **extra}
    return create(api, env, "content", body)


def test_create_sanitises_counts_and_warns(api, register):
    owner = register()
    env = make_site(api, owner)
    c = _content(api, env, meta_title="t" * 70, meta_description="too short")
    for bad in ("script", "onclick", "onerror", "javascript:", "alert"):
        assert bad not in c["body_html"]
    assert "<h2>Dialing in</h2>" in c["body_html"] and 'alt="A shot"' in c["body_html"]
    assert c["word_count"] == 10
    assert {(w["field"], w["code"]) for w in c["warnings"]} == {("meta_title", "too_long"),
                                                                ("meta_description", "too_short")}
    assert c["status"] == "draft" and c["site_status"] == "not_published"
    path = f"{env.base}/content/{c['content_id']}"
    got = ok(api.get(path, token=owner.token))
    assert got["body_html"] == c["body_html"]
    changed = ok(api.patch(path, {"body_html": "<p>one two three</p><p>four</p>", "meta_title": "Short",
                                  "meta_description": "m" * 100}, token=owner.token))
    assert changed["word_count"] == 4 and changed["warnings"] == []
    listed = ok(api.get(f"{env.base}/content", token=owner.token))["items"]
    assert len(listed) == 1 and "body_html" not in listed[0] and listed[0]["word_count"] == 4
    r = api.post(f"{env.base}/content", {"title": "x"}, token=owner.token)
    assert r.status == 422 and r.error_code == "sector_required"


def test_workflow_schedule_and_indexes(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    c = _content(api, env)
    other = _content(api, env, sector_id=env.sectors[1], status="review")
    path = f"{env.base}/content/{c['content_id']}"
    when = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)

    r = api.patch(path, {"site_status": "scheduled", "scheduled_publish_at": when.isoformat()}, token=t)
    assert r.status == 409 and r.error_code == "content_not_approved"
    r = api.patch(path, {"status": "published"}, token=t)
    assert r.status == 409 and r.json["error"]["details"]["allowed"] == ["approved", "review"]
    ok(api.patch(path, {"status": "approved"}, token=t))

    ready = lambda: [x["content_id"] for x in all_pages(  # noqa: E731
        api, f"{env.base}/content?status=approved&site_status=not_published", t)]
    assert ready() == [c["content_id"]]
    r = api.get(f"{env.base}/content?status=draft&site_status=not_published", token=t)
    assert r.status == 422 and r.error_code == "unsupported_filter"

    r = api.patch(path, {"site_status": "scheduled"}, token=t)
    assert r.status == 422 and r.error_code == "schedule_time_required"
    scheduled = ok(api.patch(path, {"site_status": "scheduled", "scheduled_publish_at": when.isoformat()}, token=t))
    assert scheduled["site_status"] == "scheduled" and scheduled["site_status_updated_at"]
    assert ready() == []
    assert [x["content_id"] for x in all_pages(api, f"{env.base}/content?site_status=scheduled", t)] == \
        [c["content_id"]]
    # the publishing tick's index: scheduled content that is due, across all sites
    due = [i for s in range(DUE_SHARDS) for i in Content.due.query(f"due#{s}", Content.scheduled_publish_at <= when)]
    assert [i.content_id for i in due] == [c["content_id"]]
    assert [i for s in range(DUE_SHARDS)
            for i in Content.due.query(f"due#{s}", Content.scheduled_publish_at < when)] == []

    r = api.patch(path, {"status": "draft"}, token=t)
    assert r.status == 409 and r.error_code == "content_scheduled"
    r = api.delete(path, token=t)
    assert r.status == 409 and r.error_code == "content_scheduled"
    later = when + timedelta(hours=3)
    moved = ok(api.patch(path, {"site_status": "scheduled", "scheduled_publish_at": later.isoformat()}, token=t))
    assert moved["scheduled_publish_at"].startswith(later.strftime("%Y-%m-%dT%H:%M:%S"))
    ok(api.patch(path, {"site_status": "not_published"}, token=t))
    assert ready() == [c["content_id"]]
    assert [i for s in range(DUE_SHARDS) for i in Content.due.query(f"due#{s}")] == []

    ids = lambda q: [x["content_id"] for x in all_pages(api, f"{env.base}/content{q}", t, 1)]  # noqa: E731
    assert ids("") == [other["content_id"], c["content_id"]]
    assert ids("?status=review") == [other["content_id"]]
    assert ids(f"?sector_id={env.sectors[1]}") == [other["content_id"]]
    assert ids(f"?sector_id={env.sectors[0]}&status=approved") == [c["content_id"]]
    assert ids("?site_status=not_published") == [other["content_id"], c["content_id"]]


def test_delete_removes_images_and_bulk(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    c = _content(api, env)
    images = [create(api, env, "images", {"content_id": c["content_id"], "prompt": f"p{i}"})["image_id"]
              for i in range(2)]
    ok(api.delete(f"{env.base}/content/{c['content_id']}", token=t))
    for image_id in images:
        assert api.get(f"{env.base}/images/{image_id}", token=t).status == 404

    made = [_content(api, env)["content_id"] for _ in range(3)]
    out = ok(api.post(f"{env.base}/content/bulk-status", {"ids": made, "status": "review"}, token=t))
    assert sorted(out["succeeded"]) == sorted(made)
    out = ok(api.post(f"{env.base}/content/bulk-status", {"ids": made, "status": "published"}, token=t))
    assert out["succeeded"] == [] and {f["current_status"] for f in out["failed"]} == {"review"}
    out = ok(api.post(f"{env.base}/content/bulk-delete", {"ids": made}, token=t))
    assert sorted(out["succeeded"]) == sorted(made)
    assert ok(api.get(f"{env.base}/content", token=t))["items"] == []
