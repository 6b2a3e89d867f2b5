"""Two tenants with records of every kind, built through the API (in-process or over HTTP).

Account A is the victim: it owns two records of each kind (so that its lists have a second
page and therefore a signed cursor) whose names all carry a marker; account B is the
intruder, with a member of every role and records of its own (so that B's lists have
cursors too). A staff user in a third account manages the platform records (industries).

The builder talks to any client with ``request(method, path, json_body=..., token=...)``
answering ``.status`` and ``.json`` (the test client ``Api`` or :class:`HttpApi`), and to a
*backend* for the two things the API cannot do by design: put an account on a plan and
make a user platform staff.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

PASSWORD = "correct horse battery staple"
ROLES = ("owner", "admin", "editor", "viewer")

# Path parameters that name platform records (the same for every account) or names that
# each account has its own record of: reading them is not a leak.
GLOBAL_PARAMS = frozenset({"industry_id", "provider_id", "model_name", "operation_type", "strategy_id",
                           "prompt_type", "key", "seed_id"})

_emails = itertools.count(1)


class Client(Protocol):
    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                body: bytes | str | None = None, headers: dict[str, str] | None = None) -> Any: ...


class Backend(Protocol):
    def set_plan(self, account_id: str, plan_id: str) -> None: ...

    def make_staff(self, account_id: str, user_id: str) -> None: ...


@dataclass
class Member:
    account_id: str
    user_id: str
    token: str
    refresh_token: str
    email: str
    password: str
    role: str = "owner"


@dataclass
class Tenant:
    name: str
    members: dict[str, Member]
    ids: dict[str, str]  # one record of each kind, by path parameter name
    second: dict[str, str]  # the second record of each kind
    markers: set[str] = field(default_factory=set)  # strings that only this tenant's data contains

    @property
    def owner(self) -> Member:
        return self.members["owner"]


@dataclass
class World:
    a: Tenant
    b: Tenant
    staff: Member
    industry_id: str

    def a_ids(self) -> dict[str, str]:
        """A's record ids, plus the platform ids a route may need."""
        return {**GLOBAL_DEFAULTS, "industry_id": self.industry_id, **self.a.ids}

    def b_ids(self) -> dict[str, str]:
        return {**GLOBAL_DEFAULTS, "industry_id": self.industry_id, **self.b.ids}


# Names of platform or per-account records that exist after seeding (or are simply unknown).
GLOBAL_DEFAULTS = {"provider_id": "openai", "model_name": "gpt-4o-mini", "operation_type": "generate_content",
                   "strategy_id": "pillar-cluster", "prompt_type": "clustering", "key": "ai.temperature",
                   "seed_id": "no-such-seed"}


def _ok(resp: Any, *statuses: int) -> Any:
    assert resp.status in (statuses or (200, 201)), (resp.status, resp.json)
    return resp.json


def register(api: Client, backend: Backend, prefix: str, plan: str | None = "growth") -> Member:
    email = f"{prefix}-{next(_emails)}-{id(api) % 10_000}@example.com"
    body = _ok(api.request("POST", "/v1/auth/register",
                           json_body={"account_name": f"{prefix} Inc", "email": email, "password": PASSWORD}), 201)
    member = Member(body["account"]["account_id"], body["user"]["user_id"], body["tokens"]["access_token"],
                    body["tokens"]["refresh_token"], email, PASSWORD)
    if plan:
        backend.set_plan(member.account_id, plan)
    return member


def add_member(api: Client, owner: Member, role: str) -> Member:
    email = f"{role}-{next(_emails)}-{id(api) % 10_000}@example.com"
    created = _ok(api.request("POST", "/v1/users", json_body={"email": email, "password": PASSWORD, "role": role},
                              token=owner.token), 201)
    login = _ok(api.request("POST", "/v1/auth/login", json_body={"email": email, "password": PASSWORD}))
    return Member(owner.account_id, created["user_id"], login["access_token"], login["refresh_token"], email,
                  PASSWORD, role)


def login(api: Client, member: Member) -> Member:
    """A fresh session (token pair) for the same user."""
    body = _ok(api.request("POST", "/v1/auth/login", json_body={"email": member.email, "password": member.password}))
    return Member(member.account_id, member.user_id, body["access_token"], body["refresh_token"], member.email,
                  member.password, member.role)


def build_tenant(api: Client, backend: Backend, name: str, industry_id: str,
                 make_job: Callable[[Member, str], str | None] | None = None) -> Tenant:
    """An account with a member of every role and two linked records of every kind.

    Every name carries ``<name>-secret`` so that a leak of any of them is found in a body.
    """
    owner = register(api, backend, name)
    members = {"owner": owner, **{role: add_member(api, owner, role) for role in ROLES[1:]}}
    tag = f"{name}-secret"
    t = owner.token

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return _ok(api.request("POST", path, json_body=body, token=t), 201)

    # every module on, so the switched-off ones (optimizer, linker) answer on their merits, not with 403
    _ok(api.request("PATCH", "/v1/account/modules", json_body={"optimizer": True, "linker": True}, token=t))
    records: list[dict[str, str]] = []
    for n in (1, 2):
        r: dict[str, str] = {}
        site = post("/v1/sites", {"name": f"{tag} site {n}", "domain": f"{name}{n}.example.com",
                                  "industry_id": industry_id})
        r["site_id"] = site["site_id"]
        records.append(r)
    site_id = records[0]["site_id"]
    base = f"/v1/sites/{site_id}"
    for n, r in enumerate(records, start=1):
        r["sector_id"] = post(f"{base}/sectors", {"name": f"{tag} sector {n}"})["sector_id"]
        r["profile_id"] = post("/v1/account/author-profiles", {"name": f"{tag} voice {n}"})["profile_id"]
        r["keyword_id"] = post(f"{base}/keywords", {"keyword": f"{tag} keyword {n}",
                                                    "sector_id": records[0]["sector_id"]})["keyword_id"]
        r["cluster_id"] = post(f"{base}/clusters", {"name": f"{tag} cluster {n}",
                                                    "sector_id": records[0]["sector_id"]})["cluster_id"]
        r["idea_id"] = post(f"{base}/ideas", {"title": f"{tag} idea {n}", "cluster_id": r["cluster_id"]})["idea_id"]
        r["task_id"] = post(f"{base}/tasks", {"title": f"{tag} task {n}", "idea_id": r["idea_id"]})["task_id"]
        r["content_id"] = post(f"{base}/content", {"title": f"{tag} article {n}", "task_id": r["task_id"],
                                                   "body_html": f"<p>{tag} body {n}</p>"})["content_id"]
        r["image_id"] = post(f"{base}/images", {"content_id": r["content_id"],
                                                "alt_text": f"{tag} image {n}"})["image_id"]
        r["invite_id"] = post("/v1/users/invites", {"email": f"{tag}-invite-{n}-{id(api) % 10_000}@example.com",
                                                    "role": "viewer", "first_name": f"{tag} invitee {n}"})["invite_id"]
        if make_job is not None:
            job_id = make_job(owner, site_id)
            if job_id:
                r["job_id"] = job_id
    _ok(api.request("PUT", "/v1/account/settings/ai.temperature", json_body={"value": 0.321}, token=t))
    for r in records:  # an outbound webhook endpoint (loopback: nothing listens) and a delivery to it
        r["endpoint_id"] = post("/v1/webhooks", {"url": f"http://127.0.0.1:9/{tag}-hook", "events": ["run.failed"],
                                                 "description": f"{tag} endpoint"})["endpoint_id"]
        r["delivery_id"] = _ok(api.request("POST", f"/v1/webhooks/{r['endpoint_id']}/test", token=t),
                               202)["delivery_id"]
    ids = {**records[0], "site_id": site_id, "user_id": members["editor"].user_id}
    second = {**records[1], "user_id": members["viewer"].user_id}
    markers = {tag, owner.account_id, *(m.user_id for m in members.values()), *(m.email for m in members.values()),
               *ids.values(), *second.values()}
    return Tenant(name, members, ids, second, markers)


def build_world(api: Client, backend: Backend,
                make_job: Callable[[Member, str], str | None] | None = None) -> World:
    staff = register(api, backend, "staff")
    backend.make_staff(staff.account_id, staff.user_id)
    industry = _ok(api.request("POST", "/v1/industries", json_body={"name": "Security industry"},
                               token=staff.token), 201)
    a = build_tenant(api, backend, "alpha", industry["industry_id"], make_job)
    b = build_tenant(api, backend, "bravo", industry["industry_id"], make_job)
    a.markers -= b.markers  # shared platform ids are not A's
    return World(a, b, staff, industry["industry_id"])


def fill_path(path: str, ids: dict[str, str]) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in ids:
            raise KeyError(f"{path}: the security world has no record for '{name}'; add one to world.py")
        return ids[name]

    return re.sub(r"{(\w+)}", fill, path)


def path_params(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", path))


def leaks(raw: bytes | str, markers: set[str]) -> list[str]:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return sorted(m for m in markers if m and m in text)


# --- backends ----------------------------------------------------------------------------

class ModelBackend:
    """In-process (moto): straight through the PynamoDB models."""

    def set_plan(self, account_id: str, plan_id: str) -> None:
        from chalicelib.models.accounts import Account

        Account(account_id).update(actions=[Account.plan_id.set(plan_id)])

    def make_staff(self, account_id: str, user_id: str) -> None:
        from chalicelib.models.accounts import User

        User(account_id, user_id).update(actions=[User.is_staff.set(True)])


def model_job(owner: Member, site_id: str) -> str:
    """A finished job of the site, written directly (no queue, no credits)."""
    from chalicelib.ids import new_id
    from chalicelib.models.jobs import Job

    job = Job(f"{owner.account_id}#{site_id}", new_id(), account_id=owner.account_id, site_id=site_id,
              stage="create_tasks", status="completed")
    job.save()
    return job.job_id


class StackBackend:
    """The running local stack: its DynamoDB (moto's server or DynamoDB Local) through boto3."""

    def __init__(self, info: dict[str, Any]) -> None:
        import boto3

        self._tables = list(info["tables"])
        self._client = boto3.client("dynamodb", endpoint_url=info["dynamodb_endpoint"], region_name="us-east-1",
                                    aws_access_key_id="fake", aws_secret_access_key="fake")

    def _table(self, short: str) -> str:
        matches = [t for t in self._tables if t.endswith(f"-{short}")]
        assert len(matches) == 1, (short, matches)
        return matches[0]

    def set_plan(self, account_id: str, plan_id: str) -> None:
        self._client.update_item(TableName=self._table("accounts"), Key={"account_id": {"S": account_id}},
                                 UpdateExpression="SET plan_id = :p", ExpressionAttributeValues={":p": {"S": plan_id}})

    def make_staff(self, account_id: str, user_id: str) -> None:
        self._client.update_item(TableName=self._table("users"),
                                 Key={"account_id": {"S": account_id}, "user_id": {"S": user_id}},
                                 UpdateExpression="SET is_staff = :t", ExpressionAttributeValues={":t": {"BOOL": True}})


# --- a client over real HTTP ---------------------------------------------------------------

@dataclass
class HttpResp:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.raw) if self.raw else None
        except ValueError:
            return None

    @property
    def error_code(self) -> str | None:
        body = self.json
        return body.get("error", {}).get("code") if isinstance(body, dict) else None


class InProcessApi:
    """The ``Api`` test client's interface over chalice.test.Client (as tests/conftest.py's)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._http = client.http

    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                body: bytes | str | None = None, headers: dict[str, str] | None = None) -> HttpResp:
        hdrs = {"content-type": "application/json"}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
        if isinstance(body, str):
            body = body.encode()
        r = self._http.request(method, path, body=body or b"", headers=hdrs)
        raw = r.body if isinstance(r.body, bytes) else (r.body or "").encode()
        return HttpResp(r.status_code, dict(r.headers), raw)


class HttpApi:
    """The ``Api`` test client's interface over HTTP (requests), for the running local stack."""

    def __init__(self, base_url: str, session: Any = None) -> None:
        import requests

        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def request(self, method: str, path: str, *, json_body: Any = None, token: str | None = None,
                body: bytes | str | None = None, headers: dict[str, str] | None = None) -> HttpResp:
        hdrs = {"content-type": "application/json"}
        if token:
            hdrs["authorization"] = f"Bearer {token}"
        hdrs.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
        r = self.session.request(method, f"{self.base_url}{path}", data=body or b"", headers=hdrs, timeout=60,
                                 allow_redirects=False)
        return HttpResp(r.status_code, dict(r.headers), r.content)
