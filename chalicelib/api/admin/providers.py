"""/v1/admin/providers: external services and their credentials.

Provider secrets are write-only here: a request may set or clear them, no response
carries more than their masked form ("••••abcd").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, Out, Page, changes
from chalicelib.models.system import IntegrationProvider
from chalicelib.services import providers

bp = Blueprint(__name__)
TAGS = ["admin: providers"]

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Lower-case id: letters, digits, - and _")
Endpoint = Field(None, max_length=500, pattern=r"^$|^https?://[^\s]+$")
Secret = Field(None, max_length=500, description="Write-only: responses show only '••••' and the last four characters.")
ProviderType = Literal["ai", "payment", "email", "storage"]


class ProviderCreate(Body):
    provider_id: str = Slug
    display_name: str = Field(min_length=1, max_length=100)
    provider_type: ProviderType
    api_endpoint: str = Field("", max_length=500, pattern=r"^$|^https?://[^\s]+$")
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True
    is_sandbox: bool = False
    api_key: SecretStr | None = Secret
    api_secret: SecretStr | None = Secret
    webhook_secret: SecretStr | None = Secret


class ProviderUpdate(Body):
    display_name: str | None = Field(None, min_length=1, max_length=100)
    provider_type: ProviderType | None = None
    api_endpoint: str | None = Endpoint
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    is_sandbox: bool | None = None
    api_key: SecretStr | None = Field(None, max_length=500, description="A new key; null or \"\" removes it.")
    api_secret: SecretStr | None = Field(None, max_length=500, description="A new secret; null or \"\" removes it.")
    webhook_secret: SecretStr | None = Field(None, max_length=500,
                                             description="A new secret; null or \"\" removes it.")


class ProviderOut(Out):
    provider_id: str
    display_name: str
    provider_type: str
    api_endpoint: str
    config: dict[str, Any]
    is_active: bool
    is_sandbox: bool
    api_key: str | None = Field(description="Masked, e.g. '••••abcd'; null when none is set.")
    api_secret: str | None
    webhook_secret: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime


class ProviderListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider_type: ProviderType | None = None


def _out(p: IntegrationProvider) -> ProviderOut:
    return ProviderOut(provider_id=p.provider_id, display_name=p.display_name, provider_type=p.provider_type,
                       api_endpoint=p.api_endpoint or "", config=p.config or {}, is_active=p.is_active,
                       is_sandbox=p.is_sandbox, updated_by=p.updated_by, created_at=p.created_at,
                       updated_at=p.updated_at, **providers.masked(p))


def _secret_values(body: BaseModel) -> dict[str, str | None]:
    """The secrets the request set, in clear for the service to encrypt (None: clear it)."""
    return {f: (getattr(body, f).get_secret_value() if getattr(body, f) is not None else None)
            for f in providers.SECRET_FIELDS if f in body.model_fields_set}


@route(bp, "/v1/admin/providers", "GET", summary="List integration providers (secrets masked)",
       tags=TAGS, query=ProviderListQuery, response=Page[ProviderOut], auth="staff")
def list_providers(req: Req) -> Page[ProviderOut]:
    return Page[ProviderOut](items=[_out(p) for p in providers.list_records(req.query.provider_type)])


@route(bp, "/v1/admin/providers", "POST", summary="Add an integration provider", tags=TAGS,
       body=ProviderCreate, response=ProviderOut, status=201, auth="staff")
def create_provider(req: Req) -> ProviderOut:
    b: ProviderCreate = req.body
    fields = b.model_dump(exclude=set(providers.SECRET_FIELDS))
    return _out(providers.create_provider(**fields, secret_values=_secret_values(b), updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/providers/{provider_id}", "GET", summary="Get an integration provider (secrets masked)",
       tags=TAGS, response=ProviderOut, auth="staff")
def get_provider(req: Req, provider_id: str) -> ProviderOut:
    return _out(providers.get_record(provider_id))


@route(bp, "/v1/admin/providers/{provider_id}", "PATCH",
       summary="Change an integration provider; set or clear its secrets", tags=TAGS,
       body=ProviderUpdate, response=ProviderOut, auth="staff")
def update_provider(req: Req, provider_id: str) -> ProviderOut:
    b: ProviderUpdate = req.body
    fields = {k: v for k, v in changes(b, nullable=providers.SECRET_FIELDS, refuse_null=True).items()
              if k not in providers.SECRET_FIELDS}
    return _out(providers.update_provider(provider_id, fields, secret_values=_secret_values(b),
                                          updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/providers/{provider_id}", "DELETE", summary="Delete an integration provider",
       tags=TAGS, response=Deleted, auth="staff")
def delete_provider(req: Req, provider_id: str) -> Deleted:
    providers.delete_provider(provider_id)
    return Deleted(id=provider_id)
