"""Content idea routes: CRUD, filters, transitions, delete cascade to tasks, bulk."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok


def test_crud_sector_from_cluster_and_filters(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    cluster = create(api, env, "clusters", {"sector_id": env.sectors[1], "name": "V60"})["cluster_id"]
    idea = create(api, env, "ideas", {"cluster_id": cluster, "title": "V60 recipe guide", "content_type": "guide",
                                      "primary_keyword": "v60 recipe", "secondary_keywords": ["v60 ratio"]})
    assert idea["sector_id"] == env.sectors[1] and idea["status"] == "pending"
    loose = create(api, env, "ideas", {"sector_id": env.sectors[0], "title": "Espresso at home"})
    assert loose["cluster_id"] is None
    path = f"{env.base}/ideas/{idea['idea_id']}"
    assert ok(api.get(path, token=t)) == idea
    changed = ok(api.patch(path, {"title": "The V60 recipe", "secondary_keywords": []}, token=t))
    assert changed["title"] == "The V60 recipe" and changed["secondary_keywords"] == []

    r = api.post(f"{env.base}/ideas", {"title": "x"}, token=t)
    assert r.status == 422 and r.error_code == "sector_required"
    r = api.post(f"{env.base}/ideas", {"title": "x", "cluster_id": cluster, "sector_id": env.sectors[0]}, token=t)
    assert r.status == 422 and r.error_code == "sector_mismatch"
    r = api.post(f"{env.base}/ideas", {"title": "x", "cluster_id": "nope"}, token=t)
    assert r.status == 422 and r.error_code == "unknown_cluster"

    ok(api.patch(path, {"status": "approved"}, token=t))
    ids = lambda q: [i["idea_id"] for i in all_pages(api, f"{env.base}/ideas{q}", t, 1)]  # noqa: E731
    assert ids("") == [loose["idea_id"], idea["idea_id"]]
    assert ids("?status=approved") == [idea["idea_id"]]
    assert ids(f"?sector_id={env.sectors[0]}") == [loose["idea_id"]]
    assert ids(f"?sector_id={env.sectors[1]}&status=approved") == [idea["idea_id"]]
    assert ids(f"?sector_id={env.sectors[1]}&status=pending") == []
    assert ids(f"?cluster_id={cluster}") == [idea["idea_id"]]
    assert ids(f"?cluster_id={cluster}&status=approved") == [idea["idea_id"]]
    assert ids(f"?cluster_id={cluster}&status=pending") == []


def test_transitions(api, register):
    owner = register()
    env = make_site(api, owner)
    idea = create(api, env, "ideas", {"sector_id": env.sectors[0], "title": "Latte art basics"})
    path = f"{env.base}/ideas/{idea['idea_id']}"
    r = api.patch(path, {"status": "used"}, token=owner.token)
    assert r.status == 409 and r.json["error"]["details"]["current_status"] == "pending"
    assert r.json["error"]["details"]["allowed"] == ["approved", "archived"]
    for status in ("approved", "used", "archived", "pending"):
        assert ok(api.patch(path, {"status": status}, token=owner.token))["status"] == status


def test_delete_keeps_tasks_detached_and_bulk(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    idea = create(api, env, "ideas", {"sector_id": env.sectors[0], "title": "Moka pot guide"})
    task = create(api, env, "tasks", {"idea_id": idea["idea_id"], "title": "Write the moka pot guide"})
    assert task["idea_id"] == idea["idea_id"]
    ok(api.delete(f"{env.base}/ideas/{idea['idea_id']}", token=t))
    kept = ok(api.get(f"{env.base}/tasks/{task['task_id']}", token=t))
    assert kept["idea_id"] is None and kept["title"] == "Write the moka pot guide"
    assert ok(api.get(f"{env.base}/tasks?idea_id={idea['idea_id']}", token=t))["items"] == []

    ideas = [create(api, env, "ideas", {"sector_id": env.sectors[0], "title": f"i{i}"})["idea_id"] for i in range(3)]
    out = ok(api.post(f"{env.base}/ideas/bulk-status", {"ids": ideas, "status": "approved"}, token=t))
    assert sorted(out["succeeded"]) == sorted(ideas)
    out = ok(api.post(f"{env.base}/ideas/bulk-status", {"ids": ideas[:1], "status": "pending"}, token=t))
    assert out["succeeded"] == ideas[:1]
    out = ok(api.post(f"{env.base}/ideas/bulk-status", {"ids": ideas, "status": "used"}, token=t))
    assert sorted(out["succeeded"]) == sorted(ideas[1:])
    assert out["failed"][0]["current_status"] == "pending" and out["failed"][0]["code"] == "illegal_transition"
    out = ok(api.post(f"{env.base}/ideas/bulk-delete", {"ids": ideas}, token=t))
    assert sorted(out["succeeded"]) == sorted(ideas)
    assert ok(api.get(f"{env.base}/ideas", token=t))["items"] == []
