"""/v1/account/modules: which product modules the account has switched on."""

from __future__ import annotations

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body
from chalicelib.auth.roles import Role
from chalicelib.services import modules

bp = Blueprint(__name__)
TAGS = ["account"]


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
    changes = req.body.model_dump(exclude_none=True)
    return ModulesOut(**modules.update_modules(req.account_id, changes, updated_by=req.tenant.user_id))
