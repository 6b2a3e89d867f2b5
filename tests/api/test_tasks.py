"""Task routes: CRUD (from an idea or a sector), filters, transitions, delete cascade, bulk."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok


def test_crud_from_idea_and_filters(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    cluster = create(api, env, "clusters", {"sector_id": env.sectors[1], "name": "Chemex"})["cluster_id"]
    idea = create(api, env, "ideas", {"cluster_id": cluster, "title": "Chemex guide", "primary_keyword": "chemex",
                                      "secondary_keywords": ["chemex ratio"]})
    task = create(api, env, "tasks", {"idea_id": idea["idea_id"], "title": "Write the Chemex guide",
                                      "priority": "high", "due_date": "2030-01-31"})
    assert (task["sector_id"], task["cluster_id"], task["primary_keyword"]) == (env.sectors[1], cluster, "chemex")
    assert task["secondary_keywords"] == ["chemex ratio"] and task["due_date"] == "2030-01-31"
    plain = create(api, env, "tasks", {"sector_id": env.sectors[0], "title": "Descaling how-to"})
    assert plain["priority"] == "medium" and plain["status"] == "pending"
    path = f"{env.base}/tasks/{task['task_id']}"
    assert ok(api.get(path, token=t)) == task
    changed = ok(api.patch(path, {"brief": "1500 words", "due_date": None, "assigned_to": owner.user_id}, token=t))
    assert changed["brief"] == "1500 words" and changed["due_date"] is None
    assert changed["assigned_to"] == owner.user_id
    r = api.post(f"{env.base}/tasks", {"title": "x", "idea_id": "nope"}, token=t)
    assert r.status == 422 and r.error_code == "unknown_idea"

    ok(api.patch(path, {"status": "in_progress"}, token=t))
    ids = lambda q: [i["task_id"] for i in all_pages(api, f"{env.base}/tasks{q}", t, 1)]  # noqa: E731
    assert ids("") == [plain["task_id"], task["task_id"]]
    assert ids("?status=in_progress") == [task["task_id"]]
    assert ids(f"?sector_id={env.sectors[0]}") == [plain["task_id"]]
    assert ids(f"?sector_id={env.sectors[0]}&status=pending") == [plain["task_id"]]
    assert ids(f"?idea_id={idea['idea_id']}") == [task["task_id"]]


def test_transitions(api, register):
    owner = register()
    env = make_site(api, owner)
    task = create(api, env, "tasks", {"sector_id": env.sectors[0], "title": "t"})
    path = f"{env.base}/tasks/{task['task_id']}"
    r = api.patch(path, {"status": "completed"}, token=owner.token)
    assert r.status == 409 and r.error_code == "illegal_transition"
    assert r.json["error"]["details"] == {"attribute": "status", "current_status": "pending",
                                          "requested": "completed", "allowed": ["cancelled", "in_progress"]}
    for status in ("in_progress", "completed", "in_progress", "cancelled", "pending"):
        assert ok(api.patch(path, {"status": status}, token=owner.token))["status"] == status


def test_delete_keeps_content_detached_and_bulk(api, register):
    owner = register()
    env = make_site(api, owner)
    t = owner.token
    task = create(api, env, "tasks", {"sector_id": env.sectors[0], "title": "Grinder review"})
    content = create(api, env, "content", {"task_id": task["task_id"], "title": "Grinder review",
                                           "body_html": "<p>Good.</p>"})
    ok(api.delete(f"{env.base}/tasks/{task['task_id']}", token=t))
    kept = ok(api.get(f"{env.base}/content/{content['content_id']}", token=t))
    assert kept["task_id"] is None and kept["body_html"] == "<p>Good.</p>"
    assert ok(api.get(f"{env.base}/content?task_id={task['task_id']}", token=t))["items"] == []

    tasks = [create(api, env, "tasks", {"sector_id": env.sectors[0], "title": f"t{i}"})["task_id"] for i in range(3)]
    out = ok(api.post(f"{env.base}/tasks/bulk-status", {"ids": tasks, "status": "in_progress"}, token=t))
    assert sorted(out["succeeded"]) == sorted(tasks)
    out = ok(api.post(f"{env.base}/tasks/bulk-status", {"ids": [*tasks, "zz"], "status": "pending"}, token=t))
    assert sorted(out["succeeded"]) == sorted(tasks) and out["failed"][0]["code"] == "not_found"
    out = ok(api.post(f"{env.base}/tasks/bulk-status", {"ids": tasks, "status": "completed"}, token=t))
    assert out["succeeded"] == [] and {f["current_status"] for f in out["failed"]} == {"pending"}
    out = ok(api.post(f"{env.base}/tasks/bulk-delete", {"ids": tasks}, token=t))
    assert sorted(out["succeeded"]) == sorted(tasks)
    assert ok(api.get(f"{env.base}/tasks", token=t))["items"] == []
