"""/v1/audit: the account's audit log, newest first (owners and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.services import audit

bp = Blueprint(__name__)
TAGS = ["audit"]


class AuditQuery(ListQuery):
    action: str | None = Field(None, pattern=audit.ACTION_PATTERN,
                               description="Only entries of this action, e.g. auth.sign_in_failed")


class AuditEntryOut(Out):
    entry_id: str
    action: str
    actor: str = Field(description="user:<id>, api_key:<id>, staff:<id>, stripe or system")
    target: str | None
    details: dict[str, Any]
    at: datetime


@route(bp, "/v1/audit", "GET", summary="The account's audit log, newest first (kept per the documented "
       "retention)", tags=TAGS, query=AuditQuery, response=Page[AuditEntryOut], role=Role.admin)
def list_audit(req: Req) -> Any:
    return audit.entries(req.account_id, action=req.query.action, limit=req.query.limit, cursor=req.query.cursor)
