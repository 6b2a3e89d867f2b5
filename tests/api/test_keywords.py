"""Keyword routes: CRUD, duplicates, filters and cursors, import (JSON, CSV), bulk, seeds, transitions."""

from __future__ import annotations

from tests.api.planner_env import all_pages, create, make_site, ok


def _kw(api, env, keyword, sector=0, **extra):
    return create(api, env, "keywords", {"keyword": keyword, "sector_id": env.sectors[sector], **extra})


def test_create_get_update_delete(api, register):
    owner = register()
    env = make_site(api, owner)
    kw = _kw(api, env, "  Best   Espresso Machine ", search_volume=1300, difficulty=45, cpc=1.85)
    assert kw["keyword"] == "Best Espresso Machine" and kw["normalized"] == "best espresso machine"
    assert kw["status"] == "pending" and kw["cluster_id"] is None and kw["created_by"] == owner.user_id
    path = f"{env.base}/keywords/{kw['keyword_id']}"
    assert ok(api.get(path, token=owner.token)) == kw

    changed = ok(api.patch(path, {"keyword": "best espresso machines", "difficulty": None, "cpc": 2.1},
                           token=owner.token))
    assert changed["normalized"] == "best espresso machines" and changed["difficulty"] is None
    assert changed["cpc"] == 2.1 and changed["search_volume"] == 1300
    # the old text is free again, the new one is taken
    _kw(api, env, "best espresso machine")
    r = api.post(f"{env.base}/keywords", {"keyword": "BEST espresso machines", "sector_id": env.sectors[0]},
                 token=owner.token)
    assert r.status == 409 and r.error_code == "duplicate_keyword"
    assert r.json["error"]["details"]["keyword_id"] == kw["keyword_id"]

    moved = ok(api.patch(path, {"sector_id": env.sectors[1]}, token=owner.token))
    assert moved["sector_id"] == env.sectors[1]
    _kw(api, env, "best espresso machines", sector=0)  # free in the old sector now

    assert ok(api.delete(path, token=owner.token)) == {"deleted": True, "id": kw["keyword_id"]}
    assert api.get(path, token=owner.token).status == 404
    assert api.delete(path, token=owner.token).status == 404
    _kw(api, env, "best espresso machines", sector=1)  # deleting freed the name


def test_the_same_keyword_may_exist_once_per_sector(api, register):
    owner = register()
    env = make_site(api, owner)
    _kw(api, env, "v60 recipe", sector=0)
    _kw(api, env, "V60  Recipe", sector=1)
    r = api.post(f"{env.base}/keywords", {"keyword": "v60 recipe", "sector_id": "no-such-sector"}, token=owner.token)
    assert r.status == 422 and r.error_code == "unknown_sector"


def test_list_filters_newest_first_and_cursor_pages(api, register):
    owner = register()
    env = make_site(api, owner)
    made = [_kw(api, env, f"keyword {i}", sector=i % 2) for i in range(7)]
    ids = [k["keyword_id"] for k in made]
    ok(api.post(f"{env.base}/keywords/bulk-status", {"ids": ids[:2], "status": "archived"}, token=owner.token))
    t = owner.token

    everything = all_pages(api, f"{env.base}/keywords", t)
    assert [k["keyword_id"] for k in everything] == ids[::-1]
    sector0 = all_pages(api, f"{env.base}/keywords?sector_id={env.sectors[0]}", t)
    assert [k["keyword_id"] for k in sector0] == ids[0::2][::-1]
    archived = all_pages(api, f"{env.base}/keywords?status=archived", t)
    assert {k["keyword_id"] for k in archived} == set(ids[:2])
    pending0 = all_pages(api, f"{env.base}/keywords?sector_id={env.sectors[0]}&status=pending", t)
    assert [k["keyword_id"] for k in pending0] == [ids[6], ids[4], ids[2]]

    first = ok(api.get(f"{env.base}/keywords?limit=3", token=t))
    assert len(first["items"]) == 3 and first["next_cursor"]
    r = api.get(f"{env.base}/keywords?status=pending&cursor={first['next_cursor']}", token=t)
    assert r.status == 400 and r.error_code == "invalid_cursor"  # a cursor belongs to its own list
    r = api.get(f"{env.base}/keywords?status=bogus", token=t)
    assert r.status == 422
    r = api.get(f"{env.base}/keywords?status=pending&cluster_id=x", token=t)
    assert r.status == 422 and r.error_code == "unsupported_filter"


def test_json_import_counts_created_duplicates_and_rejected_rows(api, register):
    owner = register()
    env = make_site(api, owner)
    _kw(api, env, "french press ratio")
    rows = ["Pour Over Ratio", {"keyword": "pour  over ratio"}, {"keyword": "FRENCH PRESS RATIO"},
            {"keyword": "chemex recipe", "search_volume": 880, "difficulty": 31, "cpc": 0.9},
            {"keyword": "", "search_volume": 1}, {"keyword": "kalita wave", "difficulty": 150},
            {"keyword": "aeropress", "sector_id": env.sectors[1]}, {"keyword": "x", "sector_id": "nope"}]
    result = ok(api.post(f"{env.base}/keywords/import", {"sector_id": env.sectors[0], "keywords": rows},
                         token=owner.token))
    assert (result["total_rows"], result["created"], result["skipped_duplicates"], result["rejected"]) == (8, 3, 2, 3)
    assert {d["row"]: d["reason"] for d in result["duplicate_rows"]} == {
        2: "repeats row 1", 3: "already in this sector"}
    rejected = {r["row"]: r["reason"] for r in result["rejected_rows"]}
    assert set(rejected) == {5, 6, 8}
    assert "empty" in rejected[5] and "difficulty" in rejected[6] and "not a sector" in rejected[8]
    chemex = [k for k in all_pages(api, f"{env.base}/keywords", owner.token, 50) if k["keyword"] == "chemex recipe"]
    assert chemex[0]["search_volume"] == 880 and chemex[0]["cpc"] == 0.9
    sector1 = all_pages(api, f"{env.base}/keywords?sector_id={env.sectors[1]}", owner.token)
    assert [k["keyword"] for k in sector1] == ["aeropress"]


def test_csv_import(api, register):
    owner = register()
    env = make_site(api, owner)
    csv_body = ("Keyword,Search Volume,Difficulty,CPC\n"
                "best coffee grinder,\"2,400\",52,1.35\n"
                "Best Coffee Grinder,10,1,0\n"
                "hand grinder,abc,1,1\n"
                "\n"
                "burr vs blade,320,18,\n")
    r = api.request("POST", f"{env.base}/keywords/import.csv?sector_id={env.sectors[1]}", body=csv_body,
                    token=owner.token, headers={"content-type": "text/csv; charset=utf-8"})
    result = ok(r)
    assert (result["created"], result["skipped_duplicates"], result["rejected"]) == (2, 1, 1)
    assert result["rejected_rows"][0]["row"] == 3 and result["rejected_rows"][0]["line"] == 4
    grinder = ok(api.get(f"{env.base}/keywords?sector_id={env.sectors[1]}&limit=10", token=owner.token))["items"]
    assert {k["keyword"]: k["search_volume"] for k in grinder} == {"best coffee grinder": 2400, "burr vs blade": 320}
    r = api.request("POST", f"{env.base}/keywords/import.csv", body="keyword\nx\n", token=owner.token,
                    headers={"content-type": "text/csv"})
    assert ok(r)["rejected"] == 1  # no sector anywhere: the row says so
    r = api.request("POST", f"{env.base}/keywords/import.csv", body="phrase,volume\nx,1\n", token=owner.token,
                    headers={"content-type": "text/csv"})
    assert r.status == 422 and r.error_code == "invalid_csv"


def test_import_caps_at_10000_rows(api, register):
    owner = register()
    env = make_site(api, owner)
    r = api.post(f"{env.base}/keywords/import", {"sector_id": env.sectors[0], "keywords": ["k"] * 10_001},
                 token=owner.token)
    assert r.status == 413 and r.error_code == "too_many_rows"
    assert r.json["error"]["details"] == {"max_rows": 10_000, "rows": 10_001}
    csv_body = "keyword\n" + "".join(f"k{i}\n" for i in range(10_001))
    r = api.request("POST", f"{env.base}/keywords/import.csv?sector_id={env.sectors[0]}", body=csv_body,
                    token=owner.token, headers={"content-type": "text/csv"})
    assert r.status == 413 and r.error_code == "too_many_rows"
    assert ok(api.get(f"{env.base}/keywords", token=owner.token))["items"] == []


def test_transitions_legal_and_illegal(api, register):
    owner = register()
    env = make_site(api, owner)
    kw = _kw(api, env, "moka pot")
    path = f"{env.base}/keywords/{kw['keyword_id']}"
    assert ok(api.patch(path, {"status": "archived"}, token=owner.token))["status"] == "archived"
    r = api.patch(path, {"status": "used"}, token=owner.token)
    assert r.status == 409 and r.error_code == "illegal_transition"
    assert r.json["error"]["details"]["current_status"] == "archived"
    assert r.json["error"]["details"]["allowed"] == ["pending"]
    assert ok(api.patch(path, {"status": "pending"}, token=owner.token))["status"] == "pending"
    r = api.patch(path, {"status": "clustered"}, token=owner.token)
    assert r.status == 422 and r.error_code == "cluster_required"
    # only the status index the keyword is in now lists it
    assert ok(api.get(f"{env.base}/keywords?status=archived", token=owner.token))["items"] == []
    assert len(ok(api.get(f"{env.base}/keywords?status=pending", token=owner.token))["items"]) == 1


def test_bulk_status_and_bulk_delete_report_each_id(api, register):
    owner = register()
    env = make_site(api, owner)
    ids = [_kw(api, env, f"k{i}")["keyword_id"] for i in range(4)]
    ok(api.patch(f"{env.base}/keywords/{ids[0]}", {"status": "archived"}, token=owner.token))
    out = ok(api.post(f"{env.base}/keywords/bulk-status", {"ids": [*ids, "missing-id"], "status": "used"},
                      token=owner.token))
    assert out["succeeded"] == []
    failed = {f["id"]: f for f in out["failed"]}
    assert failed["missing-id"]["code"] == "not_found"
    assert failed[ids[0]]["code"] == "illegal_transition" and failed[ids[0]]["current_status"] == "archived"
    out = ok(api.post(f"{env.base}/keywords/bulk-status", {"ids": ids, "status": "archived"}, token=owner.token))
    assert sorted(out["succeeded"]) == sorted(ids) and out["failed"] == []
    out = ok(api.post(f"{env.base}/keywords/bulk-delete", {"ids": [*ids[:3], "missing-id"]}, token=owner.token))
    assert sorted(out["succeeded"]) == sorted(ids[:3]) and [f["id"] for f in out["failed"]] == ["missing-id"]
    assert [k["keyword_id"] for k in ok(api.get(f"{env.base}/keywords", token=owner.token))["items"]] == [ids[3]]
    _kw(api, env, "k0")  # the deleted names are free again


def test_seed_keywords_by_industry_and_from_seeds(api, register, make_staff):
    staff = make_staff(register("staff"))
    owner = register()
    industry = ok(api.post("/v1/industries", {"name": "Coffee"}, token=staff.token), 201)["industry_id"]
    seeds = [{"keyword": "espresso", "search_volume": 90000}, {"keyword": "latte art", "search_volume": 40000},
             "cold brew", {"keyword": "Espresso"}, {"keyword": ""}]
    r = api.post(f"/v1/admin/industries/{industry}/seed-keywords", {"keywords": seeds}, token=staff.token)
    assert ok(r, 201) == {"created": 3, "skipped_duplicates": 1, "rejected": 1,
                          "rejected_rows": [{"row": 5, "line": None, "keyword": "", "reason": "keyword is empty"}]}
    listed = ok(api.get(f"/v1/admin/industries/{industry}/seed-keywords", token=staff.token))["items"]
    assert {s["keyword"] for s in listed} == {"espresso", "latte art", "cold brew"}
    assert api.post(f"/v1/admin/industries/{industry}/seed-keywords", {"keywords": ["x"]},
                    token=owner.token).status == 403

    env = make_site(api, owner, industry_id=industry)
    assert len(ok(api.get(f"{env.base}/seed-keywords", token=owner.token))["items"]) == 3
    _kw(api, env, "cold brew")
    result = ok(api.post(f"{env.base}/keywords/from-seeds", {"sector_id": env.sectors[0], "limit": 2},
                         token=owner.token))
    assert (result["created"], result["skipped_duplicates"]) == (2, 0)  # the top 2 by volume
    result = ok(api.post(f"{env.base}/keywords/from-seeds", {"sector_id": env.sectors[0]}, token=owner.token))
    assert (result["created"], result["skipped_duplicates"]) == (0, 3)
    seed_id = listed[0]["seed_id"]
    ok(api.delete(f"/v1/admin/industries/{industry}/seed-keywords/{seed_id}", token=staff.token))
    assert api.delete(f"/v1/admin/industries/{industry}/seed-keywords/{seed_id}", token=staff.token).status == 404

    no_industry = make_site(api, owner)
    r = api.post(f"{no_industry.base}/keywords/from-seeds", {"sector_id": no_industry.sectors[0]}, token=owner.token)
    assert r.status == 422 and r.error_code == "site_without_industry"


def test_editor_writes_viewer_reads(api, register, add_member):
    owner = register()
    editor, viewer = add_member(owner, "editor"), add_member(owner, "viewer")
    env = make_site(api, owner)
    kw = create(api, env, "keywords", {"keyword": "by editor", "sector_id": env.sectors[0]}, token=editor.token)
    assert ok(api.get(f"{env.base}/keywords/{kw['keyword_id']}", token=viewer.token))["keyword"] == "by editor"
    r = api.post(f"{env.base}/keywords/import", {"sector_id": env.sectors[0], "keywords": ["a"]}, token=viewer.token)
    assert r.status == 403 and r.error_code == "insufficient_role"
