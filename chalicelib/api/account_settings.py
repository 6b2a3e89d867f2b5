"""/v1/account/...: the account's AI setting overrides, prompts and author profiles.

Members read; admins and owners write. Every record is looked up under the caller's own
account id, so another account's record is a 404 like a missing one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from chalicelib.api.admin_system import (
    ProfileCreate,
    ProfileOut,
    ProfileUpdate,
    PromptOut,
    changed_fields,
    global_profile_out,
)
from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.pages import paginate
from chalicelib.models.system import AIPrompt, AuthorProfile, GlobalAuthorProfile
from chalicelib.services import ai_settings, author_profiles, prompts

bp = Blueprint(__name__)
SETTINGS_TAGS, PROMPT_TAGS, PROFILE_TAGS = ["account: AI settings"], ["account: prompts"], ["account: author profiles"]


# --- setting overrides and the effective values -------------------------------------------

class SettingPut(Body):
    value: StrictFloat | StrictInt | StrictStr = Field(description="Checked against the key's range or choices.")


class SettingOut(Out):
    key: str
    value: Any
    updated_by: str | None = None
    updated_at: datetime


class EffectiveSetting(BaseModel):
    key: str
    value: Any
    source: Literal["account", "system"]
    system_default: Any
    rule: str = Field(description="What the key accepts.")
    account_can_override: bool


class EffectiveSettingsOut(BaseModel):
    items: list[EffectiveSetting]


@route(bp, "/v1/account/settings", "GET", summary="The account's setting overrides", tags=SETTINGS_TAGS,
       response=Page[SettingOut])
def list_settings(req: Req) -> Page[SettingOut]:
    items = ai_settings.list_account_settings(req.account_id)
    return Page[SettingOut](items=[SettingOut.model_validate(s) for s in items])


@route(bp, "/v1/account/ai-settings", "GET",
       summary="The AI settings in effect for the account, and where each comes from", tags=SETTINGS_TAGS,
       response=EffectiveSettingsOut)
def effective_settings(req: Req) -> EffectiveSettingsOut:
    effective = ai_settings.effective_settings(req.account_id)
    return EffectiveSettingsOut(items=[
        EffectiveSetting(key=key, value=effective.value(key), source=effective.sources[key],
                         system_default=ai_settings.system_default(key), rule=spec.rule,
                         account_can_override=spec.account_override)
        for key, spec in ai_settings.SETTINGS.items()])


@route(bp, "/v1/account/settings/{key}", "PUT", summary="Override a system AI default for the account",
       tags=SETTINGS_TAGS, body=SettingPut, response=SettingOut, role=Role.admin)
def put_setting(req: Req, key: str) -> SettingOut:
    item = ai_settings.set_account_setting(req.account_id, key, req.body.value, updated_by=req.tenant.user_id)
    return SettingOut.model_validate(item)


@route(bp, "/v1/account/settings/{key}", "DELETE", summary="Remove an override (the system default applies)",
       tags=SETTINGS_TAGS, response=Deleted, role=Role.admin)
def delete_setting(req: Req, key: str) -> Deleted:
    ai_settings.delete_account_setting(req.account_id, key)
    return Deleted(id=key)


# --- prompts ------------------------------------------------------------------------------

class AccountPromptPut(Body):
    prompt_value: str = Field(min_length=1, max_length=50_000,
                              description="Instructions first, {{ variable }} placeholders last.")
    is_active: bool = True


class EffectivePromptOut(BaseModel):
    prompt_type: str
    prompt_value: str
    variables: list[str]
    source: Literal["account", "global", "builtin"]
    static_prefix_chars: int = Field(description="Length of the part every call shares (cached by providers).")


@route(bp, "/v1/account/prompts", "GET", summary="The account's own prompts", tags=PROMPT_TAGS,
       query=ListQuery, response=Page[PromptOut])
def list_prompts(req: Req) -> Page[PromptOut]:
    page = paginate(lambda **kw: AIPrompt.query(req.account_id, **kw), scope=f"account-prompts:{req.account_id}",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[PromptOut](items=[PromptOut.model_validate(p) for p in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/account/prompts/{prompt_type}", "GET",
       summary="The prompt the account's calls use for this type (account, else global, else built-in)",
       tags=PROMPT_TAGS, response=EffectivePromptOut)
def get_prompt(req: Req, prompt_type: str) -> EffectivePromptOut:
    template = prompts.resolve_prompt(req.account_id, prompt_type)
    return EffectivePromptOut(prompt_type=prompt_type, prompt_value=template.text, variables=list(template.variables),
                              source=template.source, static_prefix_chars=len(template.static_prefix()))


@route(bp, "/v1/account/prompts/{prompt_type}", "PUT", summary="Set the account's own version of a prompt",
       tags=PROMPT_TAGS, body=AccountPromptPut, response=PromptOut, role=Role.admin)
def put_prompt(req: Req, prompt_type: str) -> PromptOut:
    item = prompts.put_account_prompt(req.account_id, prompt_type, **req.body.model_dump(),
                                      updated_by=req.tenant.user_id)
    return PromptOut.model_validate(item)


@route(bp, "/v1/account/prompts/{prompt_type}", "DELETE",
       summary="Remove the account's version (the global prompt applies)", tags=PROMPT_TAGS, response=Deleted,
       role=Role.admin)
def delete_prompt(req: Req, prompt_type: str) -> Deleted:
    prompts.delete_account_prompt(req.account_id, prompt_type)
    return Deleted(id=prompt_type)


# --- author profiles ----------------------------------------------------------------------

class ProfileListQuery(ListQuery):
    scope: Literal["account", "global"] = Field("account", description="The account's own, or the platform's.")


def _account_profile_out(p: AuthorProfile) -> ProfileOut:
    return ProfileOut.model_validate(p).model_copy(update={"scope": "account"})


@route(bp, "/v1/account/author-profiles", "GET",
       summary="Author profiles: the account's own, or (scope=global) the platform's active ones",
       tags=PROFILE_TAGS, query=ProfileListQuery, response=Page[ProfileOut])
def list_profiles(req: Req) -> Page[ProfileOut]:
    q: ProfileListQuery = req.query
    if q.scope == "global":
        page = paginate(lambda **kw: GlobalAuthorProfile.query(GLOBAL_SCOPE, **kw), scope="global-author-profiles",
                        limit=q.limit, cursor=q.cursor)
        items = [global_profile_out(p) for p in page.items if p.is_active]
    else:
        page = paginate(lambda **kw: AuthorProfile.query(req.account_id, **kw),
                        scope=f"author-profiles:{req.account_id}", limit=q.limit, cursor=q.cursor)
        items = [_account_profile_out(p) for p in page.items]
    return Page[ProfileOut](items=items, next_cursor=page.next_cursor)


@route(bp, "/v1/account/author-profiles", "POST", summary="Add an author profile to the account",
       tags=PROFILE_TAGS, body=ProfileCreate, response=ProfileOut, status=201, role=Role.admin)
def create_profile(req: Req) -> ProfileOut:
    item = author_profiles.create_for_account(req.account_id, **req.body.model_dump(), updated_by=req.tenant.user_id)
    return _account_profile_out(item)


@route(bp, "/v1/account/author-profiles/{profile_id}", "GET", summary="Get one of the account's author profiles",
       tags=PROFILE_TAGS, response=ProfileOut)
def get_profile(req: Req, profile_id: str) -> ProfileOut:
    return _account_profile_out(author_profiles.get_for_account(req.account_id, profile_id))


@route(bp, "/v1/account/author-profiles/{profile_id}", "PATCH", summary="Change an author profile",
       tags=PROFILE_TAGS, body=ProfileUpdate, response=ProfileOut, role=Role.admin)
def update_profile(req: Req, profile_id: str) -> ProfileOut:
    item = author_profiles.update_for_account(req.account_id, profile_id, changed_fields(req.body),
                                              updated_by=req.tenant.user_id)
    return _account_profile_out(item)


@route(bp, "/v1/account/author-profiles/{profile_id}", "DELETE", summary="Delete an author profile",
       tags=PROFILE_TAGS, response=Deleted, role=Role.admin)
def delete_profile(req: Req, profile_id: str) -> Deleted:
    author_profiles.delete_for_account(req.account_id, profile_id)
    return Deleted(id=profile_id)

