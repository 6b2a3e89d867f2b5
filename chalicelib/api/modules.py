"""Module switches at both scopes: /v1/admin/module-settings (staff: what every account starts
from) and /v1/account/modules (an account's own switches, and the state in effect)."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Out, changes
from chalicelib.auth.roles import Role
from chalicelib.models.accounts import GLOBAL_SCOPE
from chalicelib.models.modules import ModuleEnableSettings
from chalicelib.services import modules

bp = Blueprint(__name__)
TAGS, STAFF_TAGS = ["account"], ["admin: settings"]
SUFFIX = "_enabled"  # staff name a switch planner_enabled, accounts planner


# --- the account's --------------------------------------------------------------------------

class ModulesOut(BaseModel):
    planner: bool
    writer: bool
    linker: bool
    optimizer: bool
    automation: bool
    integration: bool
    publisher: bool


class ModulesUpdate(Body):
    planner: bool | None = None
    writer: bool | None = None
    linker: bool | None = None
    optimizer: bool | None = None
    automation: bool | None = None
    integration: bool | None = None
    publisher: bool | None = None


@route(bp, "/v1/account/modules", "GET", summary="Which modules are switched on", tags=TAGS, response=ModulesOut)
def get_modules(req: Req) -> ModulesOut:
    return ModulesOut(**modules.enabled_modules(req.account_id))


@route(bp, "/v1/account/modules", "PATCH", summary="Switch modules on or off (admin)", tags=TAGS,
       body=ModulesUpdate, response=ModulesOut, role=Role.admin)
def update_modules(req: Req) -> ModulesOut:
    item = modules.set_switches(req.account_id, req.body.model_dump(exclude_none=True), updated_by=req.tenant.user_id)
    return ModulesOut(**modules.enabled_modules(req.account_id, item))


# --- the platform's (staff) -----------------------------------------------------------------

class ModuleSettingsUpdate(Body):
    planner_enabled: bool | None = None
    writer_enabled: bool | None = None
    linker_enabled: bool | None = None
    optimizer_enabled: bool | None = None
    automation_enabled: bool | None = None
    integration_enabled: bool | None = None
    publisher_enabled: bool | None = None


class ModuleSettingsOut(Out):
    planner_enabled: bool
    writer_enabled: bool
    linker_enabled: bool
    optimizer_enabled: bool
    automation_enabled: bool
    integration_enabled: bool
    publisher_enabled: bool
    updated_at: datetime | None


def _platform_out(platform: ModuleEnableSettings) -> ModuleSettingsOut:
    switches = modules.platform_modules(platform)
    return ModuleSettingsOut(**{f"{m}{SUFFIX}": on for m, on in switches.items()}, updated_at=platform.updated_at)


@route(bp, "/v1/admin/module-settings", "GET",
       summary="Which modules every account starts with (an account's own switch wins)", tags=STAFF_TAGS,
       response=ModuleSettingsOut, auth="staff")
def get_module_settings(req: Req) -> ModuleSettingsOut:
    return _platform_out(modules.platform_settings(fresh=True))


@route(bp, "/v1/admin/module-settings", "PATCH",
       summary="Switch modules on or off for every account that has not switched them itself",
       tags=STAFF_TAGS, body=ModuleSettingsUpdate, response=ModuleSettingsOut, auth="staff")
def update_module_settings(req: Req) -> ModuleSettingsOut:
    switches = {name.removesuffix(SUFFIX): on for name, on in changes(req.body, refuse_null=True).items()}
    return _platform_out(modules.set_switches(GLOBAL_SCOPE, switches, updated_by=req.tenant.user_id))
