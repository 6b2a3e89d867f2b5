"""API keys: shown once, kept as a hash, scoped per route, limited to a site, revoked at once, rate-limited."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib import timeutil
from chalicelib.api.routing import ROUTES
from chalicelib.auth.api_keys import hash_key
from chalicelib.models.api_keys import ApiKey
from chalicelib.timeutil import iso, utcnow
from tests.api.planner_env import make_site, ok
from tests.api.test_tenant_isolation import example_body


def create_key(api, owner, **body) -> dict:
    return ok(api.post("/v1/api-keys", {"name": "CI", "scopes": ["read"], **body}, token=owner.token), 201)


def with_key(api, method: str, path: str, key: str, *, header: str = "bearer", **kw):
    headers = {"x-api-key": key} if header == "x-api-key" else {"authorization": f"Bearer {key}"}
    return api.request(method, path, headers=headers, **kw)


def test_a_key_is_shown_once_and_stored_only_as_its_hash(api, register):
    owner = register()
    created = create_key(api, owner, scopes=["read", "write"])
    key = created["key"]
    assert re.fullmatch(r"sk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", key) and key.startswith(f"sk_{created['prefix']}_")
    listed = ok(api.get("/v1/api-keys", token=owner.token))["items"]
    shown = ok(api.get(f"/v1/api-keys/{created['key_id']}", token=owner.token))
    assert [k["key_id"] for k in listed] == [created["key_id"]] and "key" not in listed[0] and "key" not in shown
    assert key not in str(listed) + str(shown)
    record = ApiKey.get(owner.account_id, created["key_id"])
    assert record.key_hash == hash_key(key) and key not in str(record.attribute_values)


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_key_acts_for_its_own_account_only(api, register, header):
    owner, other = register(), register("other")
    mine, theirs = make_site(api, owner, sectors=()), make_site(api, other, sectors=())
    key = create_key(api, owner)["key"]
    sites = ok(with_key(api, "GET", "/v1/sites", key, header=header))["items"]
    assert [s["site_id"] for s in sites] == [mine.site_id]
    assert with_key(api, "GET", f"/v1/sites/{theirs.site_id}", key, header=header).status == 404


def test_scopes_map_to_routes(api, register):
    owner = register()
    env = make_site(api, owner)
    read = create_key(api, owner)["key"]
    write = create_key(api, owner, scopes=["read", "write"])["key"]
    r = with_key(api, "POST", f"{env.base}/keywords", read, json_body={"keyword": "x", "sector_id": env.sectors[0]})
    assert r.status == 403 and r.error_code == "api_key_scope_missing" and r.json["error"]["details"] == {
        "needed": "write"}
    ok(with_key(api, "POST", f"{env.base}/keywords", write, json_body={"keyword": "x", "sector_id": env.sectors[0]}),
       201)
    r = with_key(api, "POST", f"{env.base}/jobs", write, json_body={"stage": "cluster_keywords"})
    assert r.status == 403 and r.json["error"]["details"] == {"needed": "jobs"}
    r = with_key(api, "PUT", f"{env.base}/publishing/settings", write, json_body={})
    assert r.status == 403 and r.json["error"]["details"] == {"needed": "publish"}


def test_the_scope_each_route_needs_is_derived_once():
    scopes = {(s.method, s.path): s.key_scope for s in ROUTES}
    assert scopes[("GET", "/v1/sites/{site_id}/keywords")] == "read"
    assert scopes[("POST", "/v1/sites/{site_id}/keywords")] == "write"
    assert scopes[("POST", "/v1/sites/{site_id}/jobs")] == "jobs"
    assert scopes[("POST", "/v1/sites/{site_id}/automation/runs")] == "jobs"
    assert scopes[("POST", "/v1/sites/{site_id}/integrations")] == "publish"
    for path in ("/v1/users", "/v1/api-keys", "/v1/audit", "/v1/me", "/v1/billing"):
        assert scopes[("GET", path)] is None, path
    assert all(s.key_scope is None for s in ROUTES if s.auth == "staff")


def test_people_management_never_takes_a_key(api, register):
    owner = register()
    key = create_key(api, owner, scopes=["read", "write", "jobs", "publish"])
    ids = {"user_id": owner.user_id, "key_id": key["key_id"], "account_id": owner.account_id}
    checked = 0
    for spec in ROUTES:
        if spec.key_scope is not None or spec.auth == "none":
            continue
        path = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), "no-such-id"), spec.path)
        body = example_body(spec.body) if spec.body else None
        r = with_key(api, spec.method, path, key["key"], json_body=body)
        assert r.status == 403 and r.error_code == "api_key_not_allowed", (spec.method, spec.path, r.status)
        checked += 1
    assert checked >= 10
    assert ok(api.get(f"/v1/api-keys/{key['key_id']}", token=owner.token))["revoked_at"] is None


def test_a_key_limited_to_one_site_and_read_gets_403_or_404_everywhere_else(api, register):
    owner = register()
    mine, other = make_site(api, owner), make_site(api, owner)
    key = create_key(api, owner, site_id=mine.site_id)["key"]
    ids = {"site_id": other.site_id, "sector_id": other.sectors[0]}
    checked = 0
    for spec in ROUTES:
        if spec.auth == "none":
            continue
        path = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), "no-such-id"), spec.path)
        body = example_body(spec.body) if spec.body else None
        content_type = spec.content_types[0]
        raw = "keyword\nx\n" if content_type == "text/csv" else None
        r = api.request(spec.method, path, json_body=None if raw else body, body=raw,
                        headers={"authorization": f"Bearer {key}", "content-type": content_type})
        assert r.status in (403, 404), (spec.method, spec.path, r.status, r.json)
        checked += 1
    assert checked > 50
    # ... and reads its own site
    ok(with_key(api, "GET", f"{mine.base}/keywords", key))
    r = with_key(api, "POST", f"{mine.base}/keywords", key, json_body={"keyword": "x", "sector_id": mine.sectors[0]})
    assert r.status == 403 and r.error_code == "api_key_scope_missing"


def test_a_revoked_key_is_refused_on_its_next_request(api, register):
    owner = register()
    created = create_key(api, owner)
    ok(with_key(api, "GET", "/v1/sites", created["key"]))
    revoked = ok(api.delete(f"/v1/api-keys/{created['key_id']}", token=owner.token))
    assert revoked["revoked_at"] is not None
    r = with_key(api, "GET", "/v1/sites", created["key"])
    assert r.status == 401 and r.error_code == "invalid_api_key"
    assert ok(api.delete(f"/v1/api-keys/{created['key_id']}", token=owner.token))["revoked_at"] == revoked["revoked_at"]
    log = ok(api.get("/v1/audit?action=api_key.revoked", token=owner.token))["items"]
    assert len(log) == 1 and log[0]["target"] == f"api_key:{created['key_id']}"


def test_an_expired_or_forged_key_is_refused(api, register):
    owner = register()
    created = create_key(api, owner, expires_at=iso(utcnow() + timedelta(hours=1)))
    ok(with_key(api, "GET", "/v1/sites", created["key"]))
    forged = created["key"][:-4] + ("AAAA" if not created["key"].endswith("AAAA") else "BBBB")
    assert with_key(api, "GET", "/v1/sites", forged).status == 401
    timeutil.advance(3601)
    r = with_key(api, "GET", "/v1/sites", created["key"])
    assert r.status == 401 and r.error_code == "invalid_api_key"
    past = api.post("/v1/api-keys", {"name": "old", "scopes": ["read"], "expires_at": iso(utcnow())},
                    token=owner.token)
    assert past.status == 422


def test_only_admins_create_keys_and_only_for_their_own_sites(api, register, add_member):
    owner, other = register(), register("other")
    editor = add_member(owner, "editor")
    theirs = make_site(api, other, sectors=())
    r = api.post("/v1/api-keys", {"name": "x", "scopes": ["read"]}, token=editor.token)
    assert r.status == 403 and r.error_code == "insufficient_role"
    r = api.post("/v1/api-keys", {"name": "x", "scopes": ["read"], "site_id": theirs.site_id}, token=owner.token)
    assert r.status == 404
    assert api.post("/v1/api-keys", {"name": "x", "scopes": ["admin"]}, token=owner.token).status == 422
    assert api.post("/v1/api-keys", {"name": "x", "scopes": []}, token=owner.token).status == 422
    created = create_key(api, owner, scopes=["read", "jobs"])
    [entry] = ok(api.get("/v1/audit?action=api_key.created", token=owner.token))["items"]
    assert entry["details"]["prefix"] == created["prefix"] and entry["details"]["scopes"] == "jobs,read"
    assert created["key"] not in str(entry)


def test_last_used_is_written_at_most_once_a_minute(api, register, dynamo_calls):
    owner = register()
    created = create_key(api, owner)
    assert created["last_used_at"] is None
    ok(with_key(api, "GET", "/v1/sites", created["key"]))
    first = ok(api.get(f"/v1/api-keys/{created['key_id']}", token=owner.token))["last_used_at"]
    assert first is not None
    dynamo_calls.reset()
    ok(with_key(api, "GET", "/v1/sites", created["key"]))
    # the prefix's pointer, then the one BatchGetItem of every request, the rate counter, the list
    assert dict(dynamo_calls.counts) == {"GetItem": 1, "BatchGetItem": 1, "UpdateItem": 1, "Query": 1}
    assert ok(api.get(f"/v1/api-keys/{created['key_id']}", token=owner.token))["last_used_at"] == first
    timeutil.advance(61)
    ok(with_key(api, "GET", "/v1/sites", created["key"]))
    assert ok(api.get(f"/v1/api-keys/{created['key_id']}", token=owner.token))["last_used_at"] > first


def test_each_key_has_its_own_rate_limit(api, register):
    owner = register()
    slow = create_key(api, owner, rate_limit_per_minute=2)["key"]
    other = create_key(api, owner)["key"]
    ok(with_key(api, "GET", "/v1/sites", slow))
    ok(with_key(api, "GET", "/v1/sites", slow))
    r = with_key(api, "GET", "/v1/sites", slow)
    assert r.status == 429 and r.error_code == "rate_limited" and 1 <= int(r.headers["Retry-After"]) <= 60
    ok(with_key(api, "GET", "/v1/sites", other))  # another key is not held back
    ok(api.get("/v1/sites", token=owner.token))  # nor are the account's people
    timeutil.advance(61)
    ok(with_key(api, "GET", "/v1/sites", slow))


def test_a_suspended_account_s_keys_are_refused(api, register, make_staff):
    owner, staff = register(), make_staff(register("staff"))
    key = create_key(api, owner)["key"]
    ok(api.patch(f"/v1/admin/accounts/{owner.account_id}", {"is_active": False}, token=staff.token))
    r = with_key(api, "GET", "/v1/sites", key)
    assert r.status == 403 and r.error_code == "account_inactive"


def test_a_key_with_write_works_in_its_own_account(api, register):
    owner = register()
    created = create_key(api, owner, scopes=["read", "write"])
    site = ok(with_key(api, "POST", "/v1/sites", created["key"], json_body={"name": "Made by CI"}), 201)
    assert [s["site_id"] for s in ok(api.get("/v1/sites", token=owner.token))["items"]] == [site["site_id"]]
