"""/v1/admin/accounts/{account_id}: platform staff see an account and deactivate or reactivate it."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Out
from chalicelib.services import identity

bp = Blueprint(__name__)
TAGS = ["admin: accounts"]


class AccountAdminOut(Out):
    account_id: str
    name: str
    plan_id: str
    is_active: bool
    site_count: int
    user_count: int
    created_at: datetime
    updated_at: datetime


class AccountAdminUpdate(Body):
    is_active: bool = Field(description="false: nobody of the account signs in or calls the API (403 "
                                        "account_inactive) and no work of its sites runs; true: it all goes on")


@route(bp, "/v1/admin/accounts/{account_id}", "GET", summary="An account's state (staff)", tags=TAGS,
       response=AccountAdminOut, auth="staff")
def get_account(req: Req, account_id: str) -> AccountAdminOut:
    return AccountAdminOut.model_validate(identity.get_account(account_id))


@route(bp, "/v1/admin/accounts/{account_id}", "PATCH", summary="Deactivate or reactivate an account (staff)",
       tags=TAGS, body=AccountAdminUpdate, response=AccountAdminOut, auth="staff")
def update_account(req: Req, account_id: str) -> AccountAdminOut:
    account = identity.set_account_active(account_id, req.body.is_active, by=req.tenant)
    return AccountAdminOut.model_validate(account)
