"""Cluster routes: CRUD, keyword assignment and counts, "without ideas", delete cascade, bulk."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok


def _setup(api, register):
    owner = register()
    env = make_site(api, owner)
    kws = [create(api, env, "keywords", {"keyword": f"grinder {i}", "sector_id": env.sectors[0]})["keyword_id"]
           for i in range(4)]
    cluster = create(api, env, "clusters", {"sector_id": env.sectors[0], "name": "Grinders",
                                            "description": "burr and blade"})
    return owner, env, kws, cluster


def test_crud_and_filters(api, register):
    owner, env, _, cluster = _setup(api, register)
    t = owner.token
    path = f"{env.base}/clusters/{cluster['cluster_id']}"
    assert cluster["keyword_count"] == 0 and cluster["idea_count"] == 0
    assert ok(api.get(path, token=t)) == cluster
    assert ok(api.patch(path, {"name": "Coffee grinders"}, token=t))["name"] == "Coffee grinders"
    other = create(api, env, "clusters", {"sector_id": env.sectors[1], "name": "Kettles"})
    assert [c["cluster_id"] for c in all_pages(api, f"{env.base}/clusters", t, 1)] == [other["cluster_id"],
                                                                                       cluster["cluster_id"]]
    by_sector = all_pages(api, f"{env.base}/clusters?sector_id={env.sectors[1]}", t)
    assert [c["cluster_id"] for c in by_sector] == [other["cluster_id"]]
    r = api.post(f"{env.base}/clusters", {"sector_id": "nope", "name": "x"}, token=t)
    assert r.status == 422 and r.error_code == "unknown_sector"


def test_assign_and_remove_keywords_keep_statuses_and_count(api, register):
    owner, env, kws, cluster = _setup(api, register)
    t = owner.token
    cid = cluster["cluster_id"]
    out = ok(api.post(f"{env.base}/clusters/{cid}/keywords", {"keyword_ids": [*kws[:3], "missing"]}, token=t))
    assert sorted(out["succeeded"]) == sorted(kws[:3]) and out["failed"][0]["code"] == "not_found"
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["keyword_count"] == 3
    members = all_pages(api, f"{env.base}/keywords?cluster_id={cid}", t)
    assert {k["keyword_id"] for k in members} == set(kws[:3])
    assert all(k["status"] == "clustered" and k["cluster_id"] == cid for k in members)
    # assigning again is a no-op, not a double count
    ok(api.post(f"{env.base}/clusters/{cid}/keywords", {"keyword_ids": kws[:1]}, token=t))
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["keyword_count"] == 3

    other_sector = create(api, env, "keywords", {"keyword": "kettle", "sector_id": env.sectors[1]})["keyword_id"]
    out = ok(api.post(f"{env.base}/clusters/{cid}/keywords", {"keyword_ids": [other_sector]}, token=t))
    assert out["failed"][0]["code"] == "sector_mismatch"

    # moving a keyword to another cluster moves the count
    second = create(api, env, "clusters", {"sector_id": env.sectors[0], "name": "Hand grinders"})["cluster_id"]
    ok(api.post(f"{env.base}/clusters/{second}/keywords", {"keyword_ids": [kws[0]]}, token=t))
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["keyword_count"] == 2
    assert ok(api.get(f"{env.base}/clusters/{second}", token=t))["keyword_count"] == 1

    out = ok(api.post(f"{env.base}/clusters/{cid}/keywords/remove", {"keyword_ids": [kws[1], kws[3]]}, token=t))
    assert out["succeeded"] == [kws[1]] and out["failed"][0]["id"] == kws[3]
    kw1 = ok(api.get(f"{env.base}/keywords/{kws[1]}", token=t))
    assert kw1["status"] == "pending" and kw1["cluster_id"] is None
    # archiving a clustered keyword takes it out of the cluster too
    ok(api.patch(f"{env.base}/keywords/{kws[2]}", {"status": "archived"}, token=t))
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["keyword_count"] == 0
    # deleting a clustered keyword lowers the count
    ok(api.delete(f"{env.base}/keywords/{kws[0]}", token=t))
    assert ok(api.get(f"{env.base}/clusters/{second}", token=t))["keyword_count"] == 0


def test_without_ideas_is_a_sparse_index_that_follows_idea_count(api, register):
    owner, env, _, cluster = _setup(api, register)
    t = owner.token
    cid = cluster["cluster_id"]
    other = create(api, env, "clusters", {"sector_id": env.sectors[1], "name": "Kettles"})["cluster_id"]

    def without(query=""):
        return {c["cluster_id"] for c in all_pages(api, f"{env.base}/clusters?without_ideas=true{query}", t)}

    assert without() == {cid, other}
    assert without(f"&sector_id={env.sectors[1]}") == {other}
    idea = create(api, env, "ideas", {"cluster_id": cid, "title": "Best grinders"})
    assert without() == {other}
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["idea_count"] == 1
    ok(api.delete(f"{env.base}/ideas/{idea['idea_id']}", token=t))
    assert without() == {cid, other}
    assert ok(api.get(f"{env.base}/clusters/{cid}", token=t))["idea_count"] == 0
    assert api.get(f"{env.base}/clusters?without_ideas=false", token=t).status == 422


def test_delete_returns_keywords_to_pending_and_keeps_ideas_detached(api, register):
    owner, env, kws, cluster = _setup(api, register)
    t = owner.token
    cid = cluster["cluster_id"]
    ok(api.post(f"{env.base}/clusters/{cid}/keywords", {"keyword_ids": kws[:2]}, token=t))
    ok(api.patch(f"{env.base}/keywords/{kws[1]}", {"status": "used"}, token=t))
    idea = create(api, env, "ideas", {"cluster_id": cid, "title": "Grinder guide"})
    assert ok(api.delete(f"{env.base}/clusters/{cid}", token=t)) == {"deleted": True, "id": cid}
    assert api.get(f"{env.base}/clusters/{cid}", token=t).status == 404
    k0, k1 = (ok(api.get(f"{env.base}/keywords/{k}", token=t)) for k in kws[:2])
    assert (k0["status"], k0["cluster_id"]) == ("pending", None)
    assert (k1["status"], k1["cluster_id"]) == ("used", None)  # used keywords stay used
    kept = ok(api.get(f"{env.base}/ideas/{idea['idea_id']}", token=t))
    assert kept["cluster_id"] is None and kept["title"] == "Grinder guide"
    assert ok(api.get(f"{env.base}/keywords?cluster_id={cid}", token=t))["items"] == []
    assert ok(api.get(f"{env.base}/ideas?cluster_id={cid}", token=t))["items"] == []
    assert api.delete(f"{env.base}/clusters/{cid}", token=t).status == 404


def test_bulk_delete(api, register):
    owner, env, kws, cluster = _setup(api, register)
    second = create(api, env, "clusters", {"sector_id": env.sectors[0], "name": "B"})["cluster_id"]
    ok(api.post(f"{env.base}/clusters/{second}/keywords", {"keyword_ids": kws[:1]}, token=owner.token))
    out = ok(api.post(f"{env.base}/clusters/bulk-delete", {"ids": [cluster["cluster_id"], second, "nope"]},
                      token=owner.token))
    assert sorted(out["succeeded"]) == sorted([cluster["cluster_id"], second])
    assert out["failed"] == [{"id": "nope", "code": "not_found", "message": "Cluster not found.",
                              "current_status": None}]
    assert ok(api.get(f"{env.base}/keywords/{kws[0]}", token=owner.token))["status"] == "pending"
