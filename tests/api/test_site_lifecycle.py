"""is_active of an account, a site and a sector, enforced on every route (route-generated).

- A deactivated account: nobody signs in, refreshes or calls the API, with tokens issued
  before too (403 ``account_inactive``); reactivated, the same tokens work again.
- A deactivated site: every read answers, every write or job is a 409 ``site_inactive``,
  except changing (reactivating) or deleting the site itself.
- A deactivated sector: no record goes into it or changes in it, no job works on it (409
  ``sector_inactive``); a job by filter leaves its records out.
- A site being deleted: everything under it is a 409 ``site_deleting``, but reading the site
  and its deletion.

What the workers, ticks and automation do with a stopped site is in tests/workers/test_site_activity.py.
"""

from __future__ import annotations

import re

import pytest

from chalicelib.api.routing import ROUTES
from tests.api.planner_env import make_site, ok
from tests.api.test_tenant_isolation import example_body

SITE_ROUTES = [spec for spec in ROUTES if "{site_id}" in spec.path and spec.auth == "user"]


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), f"no-such-{m.group(1)}"), path)


def call(api, spec, ids: dict[str, str], token: str):
    content_type = spec.content_types[0]
    raw = "keyword\nalpha\n" if content_type == "text/csv" else None
    body = None if raw else (example_body(spec.body) if spec.body else None)
    return api.request(spec.method, fill(spec.path, ids), json_body=body, body=raw, token=token,
                       headers={"content-type": content_type})


@pytest.fixture
def env(api, register):
    owner = register()
    api.patch("/v1/account/modules", {"optimizer": True, "linker": True}, token=owner.token)  # reach the guard
    site = make_site(api, owner)
    return site


def test_a_deactivated_site_is_read_only_on_every_route(api, env):
    owner = env.owner
    ids = {"site_id": env.site_id, "sector_id": env.sectors[0]}
    ok(api.patch(env.base, {"is_active": False}, token=owner.token))
    assert ok(api.get(env.base, token=owner.token))["status"] == "inactive"
    writes = reads = 0
    for spec in SITE_ROUTES:
        if spec.method == "DELETE" and spec.site_level is None:
            continue  # deleting the site or a sector is allowed while inactive: checked last
        r = call(api, spec, ids, owner.token)
        label = f"{spec.method} {spec.path}: {r.status} {r.json}"
        assert r.status < 500, label
        if spec.site_level == "write":
            assert r.status == 409 and r.error_code == "site_inactive", label
            writes += 1
        else:
            assert r.error_code != "site_inactive", label
            reads += spec.method == "GET"
    assert writes > 40 and reads > 20
    # reactivating is a write the inactive site takes; then writes go through again
    assert ok(api.patch(env.base, {"is_active": True}, token=owner.token))["status"] == "active"
    ok(api.post(f"{env.base}/keywords", {"keyword": "espresso", "sector_id": env.sectors[0]}, token=owner.token),
       201)
    ok(api.patch(env.base, {"is_active": False}, token=owner.token))
    assert api.delete(f"{env.base}/sectors/{env.sectors[1]}", token=owner.token).status == 202
    assert api.delete(env.base, token=owner.token).status == 202


def test_a_site_being_deleted_answers_409_everywhere_but_its_own_reads(api, env):
    owner = env.owner
    ids = {"site_id": env.site_id, "sector_id": env.sectors[0]}
    assert api.delete(env.base, token=owner.token).status == 202
    for spec in SITE_ROUTES:
        r = call(api, spec, ids, owner.token)
        label = f"{spec.method} {spec.path}: {r.status} {r.json}"
        if spec.method == "GET" and spec.path in ("/v1/sites/{site_id}", "/v1/sites/{site_id}/deletion"):
            assert r.status == 200, label
        elif spec.path == "/v1/sites/{site_id}/sectors/{sector_id}/deletion":
            assert r.status == 404, label  # no such deletion
        elif spec.method == "DELETE" and spec.path == "/v1/sites/{site_id}":
            assert r.status == 202, label  # the same deletion again
        else:
            assert r.status == 409 and r.error_code == "site_deleting", label


def test_a_deactivated_sector_takes_no_new_or_changed_records_and_no_job(api, env):
    owner = env.owner
    off, on = env.sectors
    kw = ok(api.post(f"{env.base}/keywords", {"keyword": "espresso", "sector_id": off}, token=owner.token), 201)
    other = ok(api.post(f"{env.base}/keywords", {"keyword": "v60", "sector_id": on}, token=owner.token), 201)
    sector = ok(api.patch(f"{env.base}/sectors/{off}", {"is_active": False}, token=owner.token))
    assert sector["status"] == "inactive" and sector["is_active"] is False

    def refused(r) -> None:
        assert r.status == 409 and r.error_code == "sector_inactive", (r.status, r.json)

    refused(api.post(f"{env.base}/keywords", {"keyword": "ristretto", "sector_id": off}, token=owner.token))
    refused(api.patch(f"{env.base}/keywords/{kw['keyword_id']}", {"keyword": "lungo"}, token=owner.token))
    refused(api.delete(f"{env.base}/keywords/{kw['keyword_id']}", token=owner.token))
    refused(api.patch(f"{env.base}/keywords/{other['keyword_id']}", {"sector_id": off}, token=owner.token))
    refused(api.post(f"{env.base}/keywords/bulk-status", {"ids": [kw["keyword_id"], other["keyword_id"]],
                                                          "status": "archived"}, token=owner.token))
    refused(api.post(f"{env.base}/clusters", {"name": "c", "sector_id": off}, token=owner.token))
    refused(api.post(f"{env.base}/content", {"title": "t", "sector_id": off}, token=owner.token))
    refused(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords", "item_ids": [kw["keyword_id"]]},
                     token=owner.token))
    refused(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords", "filter": {"sector_id": off}},
                     token=owner.token))
    imported = ok(api.post(f"{env.base}/keywords/import", {"sector_id": off, "keywords": [{"keyword": "doppio"}]},
                           token=owner.token))
    assert imported["created"] == 0 and "is inactive" in imported["rejected_rows"][0]["reason"]
    # reads answer as before
    assert ok(api.get(f"{env.base}/keywords/{kw['keyword_id']}", token=owner.token))["keyword"] == "espresso"
    # a job by filter works on the active sector only
    job = ok(api.post(f"{env.base}/jobs", {"stage": "cluster_keywords"}, token=owner.token), 202)
    assert job["total"] == 1
    items = ok(api.get(f"{env.base}/jobs/{job['job_id']}/items", token=owner.token))["items"]
    assert [i["item_id"] for i in items] == [on]
    # a sector that is reactivated takes records again
    ok(api.patch(f"{env.base}/sectors/{off}", {"is_active": True}, token=owner.token))
    ok(api.patch(f"{env.base}/keywords/{kw['keyword_id']}", {"keyword": "lungo"}, token=owner.token))


def test_a_deactivated_account_cannot_sign_in_or_call_the_api(api, register, add_member, make_staff):
    owner = register("inactive")
    editor = add_member(owner, "editor")
    site = make_site(api, owner)
    staff = make_staff(register("staff"))
    path = f"/v1/admin/accounts/{owner.account_id}"
    assert api.patch(path, {"is_active": False}, token=owner.token).error_code == "staff_only"
    assert api.patch(f"/v1/admin/accounts/{staff.account_id}", {"is_active": False},
                     token=staff.token).error_code == "self_change"
    assert api.get("/v1/admin/accounts/no-such-account", token=staff.token).status == 404

    account = ok(api.patch(path, {"is_active": False}, token=staff.token))
    assert account["is_active"] is False and account["account_id"] == owner.account_id
    for member in (owner, editor):  # tokens issued before the deactivation
        for method, route in (("GET", "/v1/me"), ("GET", site.base), ("POST", "/v1/sites")):
            r = api.request(method, route, json_body={"name": "x"} if method == "POST" else None, token=member.token)
            assert r.status == 403 and r.error_code == "account_inactive", (method, route, r.json)
        login = api.post("/v1/auth/login", {"email": member.email, "password": member.password})
        assert login.status == 403 and login.error_code == "account_inactive"
        refreshed = api.post("/v1/auth/refresh", {"refresh_token": member.refresh_token})
        assert refreshed.status == 403 and refreshed.error_code == "account_inactive"
    assert ok(api.get(path, token=staff.token))["is_active"] is False

    assert ok(api.patch(path, {"is_active": True}, token=staff.token))["is_active"] is True
    assert ok(api.get("/v1/me", token=owner.token))["account"]["account_id"] == owner.account_id
    ok(api.post("/v1/auth/login", {"email": editor.email, "password": editor.password}))
