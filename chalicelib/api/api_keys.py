"""/v1/api-keys: the account's API keys for server-to-server clients (admins; never with a key)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Id, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.services import api_keys

bp = Blueprint(__name__)
TAGS = ["api keys"]
Scope = Literal["read", "write", "jobs", "publish"]


class ApiKeyIn(Body):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=4, description="read: every GET; write: other changes; "
                                "jobs: start and control jobs and automation runs; publish: publishing routes")
    site_id: Id | None = Field(None, description="Only this site's routes (others are a 404); unset: every site")
    expires_at: datetime | None = Field(None, description="ISO time after which the key is refused; unset: never")
    rate_limit_per_minute: int | None = Field(None, ge=1, le=api_keys.MAX_RATE_LIMIT_PER_MINUTE,
                                              description="Requests a minute (429 past it); unset: the default")


class ApiKeyOut(Out):
    key_id: str
    name: str
    prefix: str = Field(description="The visible start of the key: sk_<prefix>_...")
    scopes: list[str]
    site_id: str | None
    expires_at: datetime | None
    rate_limit_per_minute: int
    created_by: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Updated at most once a minute")
    revoked_at: datetime | None


class CreatedApiKeyOut(ApiKeyOut):
    key: str = Field(description="The key, shown this once: only its hash is kept")


def _out(record: Any, model: type[ApiKeyOut] = ApiKeyOut, **extra: Any) -> Any:
    data = {name: getattr(record, name) for name in ApiKeyOut.model_fields}
    data["scopes"] = sorted(record.scopes or ())
    return model.model_validate({**data, **extra})


@route(bp, "/v1/api-keys", "POST", summary="Create an API key (the key is in this answer only)", tags=TAGS,
       body=ApiKeyIn, response=CreatedApiKeyOut, status=201, role=Role.admin)
def create_key(req: Req) -> CreatedApiKeyOut:
    b: ApiKeyIn = req.body
    created = api_keys.create(req.tenant, name=b.name, scopes=b.scopes, site_id=b.site_id, expires_at=b.expires_at,
                              rate_limit_per_minute=b.rate_limit_per_minute)
    return _out(created.record, CreatedApiKeyOut, key=created.key)


@route(bp, "/v1/api-keys", "GET", summary="List the account's API keys (never the keys themselves)", tags=TAGS,
       query=ListQuery, response=Page[ApiKeyOut], role=Role.admin)
def list_keys(req: Req) -> Page[ApiKeyOut]:
    page = api_keys.list_keys(req.account_id, limit=req.query.limit, cursor=req.query.cursor)
    return Page[ApiKeyOut](items=[_out(k) for k in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/api-keys/{key_id}", "GET", summary="An API key (never the key itself)", tags=TAGS,
       response=ApiKeyOut, role=Role.admin)
def get_key(req: Req, key_id: str) -> ApiKeyOut:
    return _out(api_keys.get(req.account_id, key_id))


@route(bp, "/v1/api-keys/{key_id}", "DELETE", summary="Revoke an API key (its next request is refused)",
       tags=TAGS, response=ApiKeyOut, role=Role.admin)
def revoke_key(req: Req, key_id: str) -> ApiKeyOut:
    return _out(api_keys.revoke(req.tenant, key_id))
