"""Sites and sectors: CRUD, validation, pagination, plan limits, roles.

Deleting (202, a deletion to poll, the background job) is specified in tests/workers/test_site_deletion.py.
"""

from __future__ import annotations

import app as app_module
from infra.local.worker import WorkerLoop


def drain() -> None:
    WorkerLoop(app_module, backoff=lambda n: 0).drain(max_seconds=60)


def make_site(api, member, **fields):
    r = api.post("/v1/sites", {"name": "Coffee Blog", **fields}, token=member.token)
    assert r.status == 201, r.json
    return r.json


def test_site_crud(api, register):
    owner = register()
    site = make_site(api, owner, domain="coffee.example.com", time_zone="Europe/Berlin")
    assert site["time_zone"] == "Europe/Berlin" and site["is_active"] is True and site["status"] == "active"
    path = f"/v1/sites/{site['site_id']}"
    assert api.get(path, token=owner.token).json == site
    r = api.patch(path, {"name": "Coffee Lab", "time_zone": "America/New_York"}, token=owner.token)
    assert r.status == 200 and r.json["name"] == "Coffee Lab" and r.json["time_zone"] == "America/New_York"
    r = api.delete(path, token=owner.token)
    assert r.status == 202 and r.json["kind"] == "site" and r.json["poll"] == f"{path}/deletion", r.json
    assert api.get(path, token=owner.token).json["status"] == "deleting"
    assert api.get("/v1/me", token=owner.token).json["account"]["site_count"] == 0  # freed at once
    drain()
    assert api.get(path, token=owner.token).status == 404
    assert api.get(f"{path}/deletion", token=owner.token).json["status"] == "completed"


def test_site_validation(api, register):
    owner = register()
    assert api.post("/v1/sites", {"name": "x", "time_zone": "Mars/Olympus"}, token=owner.token).status == 422
    assert api.post("/v1/sites", {"name": "x", "domain": "not a domain!"}, token=owner.token).status == 422
    assert api.post("/v1/sites", {"name": "x", "unknown": 1}, token=owner.token).status == 422
    r = api.post("/v1/sites", {"name": "x", "industry_id": "nope"}, token=owner.token)
    assert r.status == 422 and r.json["error"]["details"][0]["field"] == "industry_id"


def test_site_limit_of_the_plan(api, register):
    owner = register(plan="free")
    make_site(api, owner)
    r = api.post("/v1/sites", {"name": "second"}, token=owner.token)
    assert r.status == 402 and r.error_code == "plan_limit_reached"


def test_sites_list_pages_with_a_cursor(api, register):
    owner = register()
    created = [make_site(api, owner, name=f"site {i}")["site_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        r = api.get(f"/v1/sites?limit=2{'&cursor=' + cursor if cursor else ''}", token=owner.token)
        assert r.status == 200
        seen += [s["site_id"] for s in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(created)
    assert api.get("/v1/sites?limit=0", token=owner.token).status == 422
    assert api.get("/v1/sites?limit=101", token=owner.token).status == 422
    bad = api.get("/v1/sites?cursor=forged.cursor", token=owner.token)
    assert bad.status == 400 and bad.error_code == "invalid_cursor"


def test_a_cursor_from_another_account_is_refused(api, register):
    a, b = register("a"), register("b")
    for i in range(3):
        make_site(api, a, name=f"a{i}")
    cursor = api.get("/v1/sites?limit=1", token=a.token).json["next_cursor"]
    r = api.get(f"/v1/sites?limit=1&cursor={cursor}", token=b.token)
    assert r.status == 400 and r.error_code == "invalid_cursor"


def test_sector_crud(api, register):
    owner = register()
    site = make_site(api, owner)
    base = f"/v1/sites/{site['site_id']}/sectors"
    r = api.post(base, {"name": "Espresso", "description": "Machines and beans"}, token=owner.token)
    assert r.status == 201
    sector = r.json
    assert sector["site_id"] == site["site_id"]
    assert api.get(base, token=owner.token).json["items"] == [sector]
    patched = api.patch(f"{base}/{sector['sector_id']}", {"name": "Espresso & Crema"}, token=owner.token)
    assert patched.json["name"] == "Espresso & Crema"
    r = api.delete(f"{base}/{sector['sector_id']}", token=owner.token)
    assert r.status == 202 and r.json["kind"] == "sector", r.json  # empty: no cascade needed
    drain()
    assert api.get(f"{base}/{sector['sector_id']}", token=owner.token).status == 404


def test_sectors_of_a_missing_site_are_404(api, register):
    owner = register()
    assert api.get("/v1/sites/does-not-exist/sectors", token=owner.token).status == 404
    assert api.post("/v1/sites/does-not-exist/sectors", {"name": "x"}, token=owner.token).status == 404


def test_viewers_and_editors_read_but_do_not_change_sites(api, register, add_member):
    owner = register()
    site = make_site(api, owner)
    for role in ("viewer", "editor"):
        member = add_member(owner, role)
        assert api.get(f"/v1/sites/{site['site_id']}", token=member.token).status == 200
        assert api.post("/v1/sites", {"name": "n"}, token=member.token).status == 403
        assert api.patch(f"/v1/sites/{site['site_id']}", {"name": "n"}, token=member.token).status == 403
        assert api.delete(f"/v1/sites/{site['site_id']}", token=member.token).status == 403
