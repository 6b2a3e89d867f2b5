"""AI settings at both scopes: /v1/admin/ai-settings (staff: the platform's values, one document)
and /v1/account/settings, /v1/account/ai-settings (an account's overrides, key by key, and the
values in effect). One service (``services.ai_settings``) holds the rules of every key."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, Out, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.services import ai_settings

bp = Blueprint(__name__)
STAFF_TAGS, ACCOUNT_TAGS = ["admin: settings"], ["account: AI settings"]


# --- the platform's values (staff) --------------------------------------------------------

class SystemSettingsUpdate(Body):
    temperature: StrictFloat | StrictInt | None = Field(None, description="0.0 to 2.0")
    max_tokens: StrictInt | None = Field(None, description="1 to 32768")
    image_style: str | None = Field(None, description=", ".join(ai_settings.IMAGE_STYLES))
    image_quality: str | None = Field(None, description="standard or hd")
    max_images_per_article: StrictInt | None = Field(None, description="1 to 8")
    image_size: str | None = Field(None, description=", ".join(ai_settings.IMAGE_SIZES))


class SystemSettingsOut(Out):
    temperature: float
    max_tokens: int
    image_style: str
    image_quality: str
    max_images_per_article: int
    image_size: str
    updated_by: str | None
    updated_at: datetime | None


@route(bp, "/v1/admin/ai-settings", "GET", summary="The system AI defaults", tags=STAFF_TAGS,
       response=SystemSettingsOut, auth="staff")
def get_system_settings(req: Req) -> SystemSettingsOut:
    return SystemSettingsOut.model_validate(ai_settings.get_system_settings(fresh=True))


@route(bp, "/v1/admin/ai-settings", "PATCH", summary="Change the system AI defaults", tags=STAFF_TAGS,
       body=SystemSettingsUpdate, response=SystemSettingsOut, auth="staff")
def update_system_settings(req: Req) -> SystemSettingsOut:
    item = ai_settings.update_system_settings(changes(req.body, refuse_null=True), updated_by=req.tenant.user_id)
    return SystemSettingsOut.model_validate(item)


# --- an account's overrides, and the values in effect ---------------------------------------

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


@route(bp, "/v1/account/settings", "GET", summary="The account's setting overrides", tags=ACCOUNT_TAGS,
       response=Page[SettingOut])
def list_settings(req: Req) -> Page[SettingOut]:
    items = ai_settings.list_account_settings(req.account_id)
    return Page[SettingOut](items=[SettingOut.model_validate(s) for s in items])


@route(bp, "/v1/account/ai-settings", "GET",
       summary="The AI settings in effect for the account, and where each comes from", tags=ACCOUNT_TAGS,
       response=EffectiveSettingsOut)
def effective_settings(req: Req) -> EffectiveSettingsOut:
    effective = ai_settings.effective_settings(req.account_id)
    return EffectiveSettingsOut(items=[
        EffectiveSetting(key=key, value=effective.value(key), source=effective.sources[key],
                         system_default=ai_settings.platform_value(key), rule=spec.rule,
                         account_can_override=spec.account_override)
        for key, spec in ai_settings.SETTINGS.items()])


@route(bp, "/v1/account/settings/{key}", "PUT", summary="Override a system AI default for the account",
       tags=ACCOUNT_TAGS, body=SettingPut, response=SettingOut, role=Role.admin)
def put_setting(req: Req, key: str) -> SettingOut:
    item = ai_settings.set_account_setting(req.account_id, key, req.body.value, updated_by=req.tenant.user_id)
    return SettingOut.model_validate(item)


@route(bp, "/v1/account/settings/{key}", "DELETE", summary="Remove an override (the system default applies)",
       tags=ACCOUNT_TAGS, response=Deleted, role=Role.admin)
def delete_setting(req: Req, key: str) -> Deleted:
    ai_settings.delete_account_setting(req.account_id, key)
    return Deleted(id=key)
