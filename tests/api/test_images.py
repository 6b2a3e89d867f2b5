"""Image routes: CRUD, position order per content, statuses, filters, bulk."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok


def test_images_of_a_content_in_order_filters_and_transitions(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    content = create(api, env, "content", {"sector_id": env.sectors[1], "title": "V60"})["content_id"]
    first = create(api, env, "images", {"content_id": content, "prompt": "hero shot", "image_type": "featured",
                                        "is_featured": True})
    second = create(api, env, "images", {"content_id": content, "url": "https://cdn.example.com/2.jpg",
                                         "alt_text": "pouring", "provider": "runware"})
    inserted = create(api, env, "images", {"content_id": content, "prompt": "between", "position": 0})
    assert (first["position"], second["position"]) == (0, 1)
    assert first["status"] == "pending" and second["status"] == "generated"
    assert first["sector_id"] == env.sectors[1]
    path = f"{env.base}/images/{first['image_id']}"
    assert ok(api.get(path, token=t)) == first
    ok(api.patch(path, {"position": 5, "alt_text": "hero"}, token=t))
    order = [i["image_id"] for i in all_pages(api, f"{env.base}/images?content_id={content}", t, 2)]
    assert order == [inserted["image_id"], second["image_id"], first["image_id"]]

    r = api.patch(path, {"status": "pending"}, token=t)
    assert r.status == 200  # same status: nothing to move
    updated = ok(api.patch(path, {"status": "generated", "url": "https://cdn.example.com/1.jpg"}, token=t))
    assert updated["status"] == "generated" and updated["url"].endswith("1.jpg")
    r = api.patch(f"{env.base}/images/{inserted['image_id']}", {"status": "failed"}, token=t)
    assert r.status == 200
    r = api.patch(path, {"status": "failed"}, token=t)
    assert r.status == 409 and r.json["error"]["details"]["current_status"] == "generated"

    ids = lambda q: {i["image_id"] for i in all_pages(api, f"{env.base}/images{q}", t)}  # noqa: E731
    assert ids("?status=generated") == {first["image_id"], second["image_id"]}
    assert ids(f"?sector_id={env.sectors[1]}") == {first["image_id"], second["image_id"], inserted["image_id"]}
    assert ids(f"?sector_id={env.sectors[0]}") == set()
    r = api.post(f"{env.base}/images", {"content_id": "nope"}, token=t)
    assert r.status == 422 and r.error_code == "unknown_content"
    r = api.post(f"{env.base}/images", {"content_id": content, "url": "javascript:alert(1)"}, token=t)
    assert r.status == 422


def test_delete_and_bulk(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    content = create(api, env, "content", {"sector_id": env.sectors[0], "title": "x"})["content_id"]
    images = [create(api, env, "images", {"content_id": content, "prompt": f"p{i}"})["image_id"] for i in range(3)]
    ok(api.delete(f"{env.base}/images/{images[0]}", token=t))
    assert api.get(f"{env.base}/images/{images[0]}", token=t).status == 404
    out = ok(api.post(f"{env.base}/images/bulk-status", {"ids": images, "status": "generated"}, token=t))
    assert sorted(out["succeeded"]) == sorted(images[1:]) and out["failed"][0]["code"] == "not_found"
    out = ok(api.post(f"{env.base}/images/bulk-delete", {"ids": images[1:]}, token=t))
    assert sorted(out["succeeded"]) == sorted(images[1:])
    assert ok(api.get(f"{env.base}/images?content_id={content}", token=t))["items"] == []
