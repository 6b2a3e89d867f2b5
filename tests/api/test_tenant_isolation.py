"""Tenant isolation, generated from the route table: a new route is covered automatically.

Account A owns records; account B's users (every role) and B's API keys (every scope, sent as
``Authorization: Bearer`` and as ``X-Api-Key``) call every route with A's ids.
Each answer must be a 404 or 403 that says nothing of A's data, list routes must never
show A's records, and A's records must be unchanged afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from chalicelib.api.routing import ROUTES, RouteSpec

pytestmark = pytest.mark.security  # make test-security

GLOBAL_PARAMS = {"industry_id",  # platform-wide records: reading them is not a leak
                 "provider_id", "model_name", "operation_type", "strategy_id",  # staff-only system records
                 "prompt_type", "key",  # names, not ids: each account has its own record of that name
                 "seed_id",  # the staff-managed seed keyword library
                 "plan_id", "pack_id"}  # staff-managed plans and credit packs (public catalogue)


def example_body(model: Any) -> dict[str, Any]:
    """A valid body for a route's pydantic model, so the call reaches the record lookup."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})

    def value(prop: dict[str, Any]) -> Any:
        if "$ref" in prop:
            return value(defs[prop["$ref"].split("/")[-1]])
        if "anyOf" in prop:
            return value(next(p for p in prop["anyOf"] if p.get("type") != "null"))
        if "enum" in prop:
            return prop["enum"][0]
        if "default" in prop and prop["default"] is not None:
            return prop["default"]
        kind = prop.get("type")
        if kind == "string":
            if "@" in prop.get("pattern", ""):
                return "isolation@example.com"
            return "x" * max(prop.get("minLength", 1), 10 if "password" in str(prop.get("title", "")).lower() else 1)
        if kind == "integer":
            return max(prop.get("minimum", 1), 1)
        if kind == "number":
            return max(prop.get("minimum", 1), 1)
        if kind == "boolean":
            return True
        if kind == "array":
            return [value(prop.get("items", {"type": "string"}))] * max(prop.get("minItems", 1), 1)
        if kind == "object":
            return {name: value(p) for name, p in prop.get("properties", {}).items()
                    if name in prop.get("required", [])}
        return "x"

    return {name: value(prop) for name, prop in schema.get("properties", {}).items()
            if name in schema.get("required", [])}


ALL_SCOPES = ["read", "write", "jobs", "publish"]


@dataclass
class KeyCaller:
    """An API key of an account, as a caller: sent as a Bearer token, or in ``X-Api-Key``."""

    key: str
    in_header: bool = False
    token: str | None = field(init=False)
    headers: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.token = None if self.in_header else self.key
        self.headers = {"x-api-key": self.key} if self.in_header else {}


def new_key(api, owner, **body) -> dict:
    r = api.post("/v1/api-keys", {"name": "isolation", "scopes": ALL_SCOPES, **body}, token=owner.token)
    assert r.status == 201, r.json
    return r.json


@pytest.fixture
def world(api, register, add_member, make_staff):
    """Account A with one record of every kind; B with a member of every role."""
    a = register("alpha")
    staff = make_staff(register("staff"))
    industry = api.post("/v1/industries", {"name": "Alpha industry"}, token=staff.token).json
    site = api.post("/v1/sites", {"name": "Alpha secret site", "domain": "alpha.example.com",
                                  "industry_id": industry["industry_id"]}, token=a.token).json
    sector = api.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "Alpha sector"}, token=a.token).json
    a_editor = add_member(a, "editor")
    profile = api.post("/v1/account/author-profiles", {"name": "Alpha secret voice"}, token=a.token).json
    api.put("/v1/account/settings/ai.temperature", {"value": 0.123}, token=a.token)
    base = f"/v1/sites/{site['site_id']}"
    keyword = api.post(f"{base}/keywords", {"keyword": "alpha secret keyword", "sector_id": sector["sector_id"]},
                       token=a.token).json
    cluster = api.post(f"{base}/clusters", {"name": "Alpha cluster", "sector_id": sector["sector_id"]},
                       token=a.token).json
    idea = api.post(f"{base}/ideas", {"title": "Alpha idea", "cluster_id": cluster["cluster_id"]},
                    token=a.token).json
    task = api.post(f"{base}/tasks", {"title": "Alpha task", "idea_id": idea["idea_id"]}, token=a.token).json
    content = api.post(f"{base}/content", {"title": "Alpha article", "task_id": task["task_id"],
                                           "body_html": "<p>Alpha body</p>"}, token=a.token).json
    image = api.post(f"{base}/images", {"content_id": content["content_id"], "alt_text": "Alpha image"},
                     token=a.token).json
    from chalicelib.ids import new_id
    from chalicelib.models.jobs import Job

    job = Job(f"{a.account_id}#{site['site_id']}", new_id(), account_id=a.account_id, site_id=site["site_id"],
              stage="create_tasks", status="completed")
    job.save()
    from chalicelib.services import billing

    billing.link_customer(a.account_id, "cus_AlphaSecretCustomer1")
    a_key = new_key(api, a, site_id=site["site_id"])
    from chalicelib.models.automation import AutomationRun

    run = AutomationRun(f"{a.account_id}#{site['site_id']}", new_id(), account_id=a.account_id,
                        site_id=site["site_id"], status="paused", stages=[], config={"content_limit": 7})
    run.save()
    invite = api.post("/v1/users/invites", {"email": "alpha-secret-invitee@example.com", "first_name": "Alpha invitee"},
                      token=a.token).json
    ids = {
        "invite_id": invite["invite_id"],
        "job_id": job.job_id, "run_id": run.run_id,
        "keyword_id": keyword["keyword_id"], "cluster_id": cluster["cluster_id"], "idea_id": idea["idea_id"],
        "task_id": task["task_id"], "content_id": content["content_id"], "image_id": image["image_id"],
        "seed_id": "no-such-seed",
        "plan_id": "starter", "pack_id": "content-50",
        "profile_id": profile["profile_id"],
        "provider_id": "openai", "model_name": "gpt-4o-mini", "operation_type": "generate_content",
        "strategy_id": "pillar-cluster", "prompt_type": "clustering", "key": "ai.temperature",
        "site_id": site["site_id"],
        "sector_id": sector["sector_id"],
        "user_id": a_editor.user_id,
        "industry_id": industry["industry_id"],
        "account_id": a.account_id,
        "key_id": a_key["key_id"],
    }
    b_owner = register("bravo")
    b_members = {"owner": b_owner, **{role: add_member(b_owner, role) for role in ("admin", "editor", "viewer")}}
    b_key = new_key(api, b_owner)["key"]
    b_members.update({"API key (Bearer)": KeyCaller(b_key), "API key (X-Api-Key)": KeyCaller(b_key, in_header=True)})
    secrets = {a.account_id, a.user_id, a_editor.user_id, site["site_id"], sector["sector_id"],
               "Alpha secret site", "alpha.example.com", "Alpha sector", a.email, a_editor.email,
               profile["profile_id"], "Alpha secret voice", "0.123", "alpha secret keyword", "Alpha cluster",
               "Alpha idea", "Alpha task", "Alpha article", "Alpha body", "Alpha image", "cus_AlphaSecretCustomer1",
               "alpha-secret-invitee@example.com", "Alpha invitee", invite["invite_id"],
               a_key["key_id"], a_key["prefix"], a_key["key"],
               *(ids[name] for name in ("keyword_id", "cluster_id", "idea_id", "task_id", "content_id", "image_id"))}
    return {"a": a, "ids": ids, "b": b_members, "secrets": secrets}


def _snapshot(api, world) -> str:
    a, ids = world["a"], world["ids"]
    parts = [api.get(f"/v1/sites/{ids['site_id']}", token=a.token).json,
             api.get(f"/v1/sites/{ids['site_id']}/sectors/{ids['sector_id']}", token=a.token).json,
             api.get(f"/v1/users/{ids['user_id']}", token=a.token).json,
             api.get(f"/v1/users/invites/{ids['invite_id']}", token=a.token).json,
             api.get("/v1/me", token=a.token).json["account"],
             api.get(f"/v1/account/author-profiles/{ids['profile_id']}", token=a.token).json,
             api.get("/v1/account/settings", token=a.token).json,
             api.get("/v1/billing", token=a.token).json, api.get("/v1/credits/periods", token=a.token).json,
             api.get(f"/v1/sites/{ids['site_id']}/automation/config", token=a.token).json,
             api.get(f"/v1/sites/{ids['site_id']}/automation/runs/{ids['run_id']}", token=a.token).json,
             api.get(f"/v1/api-keys/{ids['key_id']}", token=a.token).json,
             *(api.get(f"/v1/sites/{ids['site_id']}/{kind}/{ids[key]}", token=a.token).json
               for kind, key in (("keywords", "keyword_id"), ("clusters", "cluster_id"), ("ideas", "idea_id"),
                                 ("tasks", "task_id"), ("content", "content_id"), ("images", "image_id")))]
    return json.dumps(parts, sort_keys=True)


def _path_for(spec: RouteSpec, ids: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in ids:
            pytest.fail(f"{spec.method} {spec.path}: add a record of A for '{name}' to the world fixture")
        return ids[name]

    return re.sub(r"{(\w+)}", fill, spec.path)


def _leaks(body: bytes, secrets: set[str]) -> list[str]:
    text = body.decode(errors="replace")
    return [s for s in secrets if s in text]


def test_every_route_hides_account_a_from_account_b(api, world):
    before = _snapshot(api, world)
    checked = 0
    for spec in ROUTES:
        if spec.auth == "none" or spec.path == "/v1/auth/logout":
            continue
        params = set(re.findall(r"{(\w+)}", spec.path))
        tenant_params = params - GLOBAL_PARAMS
        if not tenant_params and spec.method != "GET":
            continue  # creates in B's own account; nothing of A's is addressed
        path = _path_for(spec, world["ids"])
        body = example_body(spec.body) if spec.body else None
        content_type = spec.content_types[0]
        raw = "keyword\nalpha\n" if content_type == "text/csv" else None
        for role, member in world["b"].items():
            r = api.request(spec.method, path, json_body=None if raw else body, body=raw, token=member.token,
                            headers={"content-type": content_type, **getattr(member, "headers", {})})
            label = f"{spec.method} {spec.path} as B's {role}"
            assert r.status < 500, label
            if tenant_params:
                assert r.status in (403, 404), f"{label}: {r.status} {r.json}"
            elif spec.auth == "staff":
                assert r.status == 403, label
            assert not _leaks(r.raw, world["secrets"]), f"{label} leaked {_leaks(r.raw, world['secrets'])}"
            checked += 1
    assert checked > 20
    from tests.security import figures

    figures.record("isolation matrix", routes=checked // len(world["b"]), roles=len(world["b"]), cases=checked)
    assert _snapshot(api, world) == before, "account A's records changed"


# Routes by which a user acts on their own user (any role may): sign out, names, password, address.
OWN_USER_ROUTES = {"/v1/auth/logout", "/v1/me", "/v1/me/password", "/v1/me/verify-email"}


def test_viewers_cannot_write_anywhere(api, world):
    a = world["a"]
    viewer = world["b"]["viewer"]
    ids = {**world["ids"]}
    # the viewer's own account's records
    owner = world["b"]["owner"]
    site = api.post("/v1/sites", {"name": "Bravo site"}, token=owner.token).json
    sector = api.post(f"/v1/sites/{site['site_id']}/sectors", {"name": "b"}, token=owner.token).json
    ids.update(site_id=site["site_id"], sector_id=sector["sector_id"], user_id=world["b"]["editor"].user_id)
    for spec in ROUTES:
        if not spec.writes or spec.auth == "none" or spec.path in OWN_USER_ROUTES:
            continue
        content_type = spec.content_types[0]
        raw = "keyword\nalpha\n" if content_type == "text/csv" else None
        r = api.request(spec.method, _path_for(spec, ids), body=raw, headers={"content-type": content_type},
                        json_body=None if raw else (example_body(spec.body) if spec.body else None),
                        token=viewer.token)
        assert r.status == 403, f"{spec.method} {spec.path}: viewer got {r.status}"
    assert a  # A untouched by construction
