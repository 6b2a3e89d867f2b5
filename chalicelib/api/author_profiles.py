"""/v1/admin/author-profiles (staff: the platform's profiles) and /v1/account/author-profiles
(an account's own; ``?scope=global`` lists the platform's active ones)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from chalice import Blueprint
from pydantic import AfterValidator, Field, field_validator

from chalicelib.api.routing import Req
from chalicelib.api.schemas import Body, ListQuery, Out, Page
from chalicelib.api.scoped import ACCOUNT, STAFF, Op, ScopedResource, ScopeRoutes, declare
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.services import author_profiles, language

bp = Blueprint(__name__)

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Lower-case id: letters, digits, - and _")


def _language_tag(value: str) -> str:
    if not language.is_language_tag(value):
        raise ValueError("not a BCP 47 language tag (e.g. en, de-AT, pt-BR, zh-Hant)")
    return value


LanguageTag = Annotated[str, AfterValidator(_language_tag)]
Language = Field(None, max_length=35, description="A BCP 47 tag, e.g. en, de-AT, pt-BR, zh-Hant")


class ProfileUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=2000)
    tone: str | None = Field(None, min_length=1, max_length=50, examples=["professional", "casual", "technical"])
    language: LanguageTag | None = Language
    instructions: str | None = Field(None, max_length=5000)
    is_active: bool | None = None
    is_default: bool | None = None


class ProfileCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=2000)
    tone: str = Field("professional", min_length=1, max_length=50)
    language: LanguageTag = Field("en", max_length=35, description="A BCP 47 tag, e.g. en, de-AT, pt-BR")
    instructions: str = Field("", max_length=5000)
    is_active: bool = True
    is_default: bool = Field(False, description="The account's default profile (sites without one use it)")


class GlobalProfileCreate(ProfileCreate):
    profile_id: str = Slug


class ProfileOut(Out):
    profile_id: str
    name: str
    description: str
    tone: str
    language: str
    instructions: str
    is_active: bool
    is_default: bool = False
    scope: str = "global"
    created_at: datetime
    updated_at: datetime

    @field_validator("scope", mode="before")
    @classmethod
    def _public_scope(cls, value: str) -> str:
        # The record's scope is "global" or an account id; a client sees "global" or "account".
        return "global" if value == GLOBAL_SCOPE else "account"


class ProfileListQuery(ListQuery):
    scope: Literal["account", "global"] = Field("account", description="The account's own, or the platform's.")


def list_profiles(req: Req, scope: str) -> Page[ProfileOut]:
    q: ProfileListQuery = req.query
    if q.scope == "global":
        page = author_profiles.page(GLOBAL_SCOPE, limit=q.limit, cursor=q.cursor)
        items = [ProfileOut.model_validate(p) for p in page.items if p.is_active]
    else:
        page = author_profiles.page(scope, limit=q.limit, cursor=q.cursor)
        items = [ProfileOut.model_validate(p) for p in page.items]
    return Page[ProfileOut](items=items, next_cursor=page.next_cursor)


PROFILES = ScopedResource("author-profiles", "profile_id", "profile", author_profiles, ProfileOut, routes=(
    ScopeRoutes(STAFF, ["admin: author profiles"], {
        "list": Op("List the global author profiles"),
        "create": Op("Add a global author profile", body=GlobalProfileCreate),
        "get": Op("Get a global author profile"),
        "patch": Op("Change a global author profile", body=ProfileUpdate),
        "delete": Op("Delete a global author profile"),
    }),
    ScopeRoutes(ACCOUNT, ["account: author profiles"], {
        "list": Op("Author profiles: the account's own, or (scope=global) the platform's active ones",
                   query=ProfileListQuery, view=list_profiles),
        "create": Op("Add an author profile to the account", body=ProfileCreate),
        "get": Op("Get one of the account's author profiles"),
        "patch": Op("Change an author profile", body=ProfileUpdate),
        "delete": Op("Delete an author profile"),
    }),
))
declare(bp, PROFILES, module=__name__)
