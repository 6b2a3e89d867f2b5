"""/v1/users: the users of the caller's account."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.auth import UserOut
from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Email, ListQuery, Page
from chalicelib.auth.roles import Role
from chalicelib.services import identity, listings

bp = Blueprint(__name__)
TAGS = ["users"]


class CreateUserBody(Body):
    email: Email
    password: str = Field(min_length=10, max_length=256)
    role: Role = Role.editor
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class UpdateUserBody(Body):
    role: Role


@route(bp, "/v1/users", "GET", summary="List the account's users", tags=TAGS, query=ListQuery,
       response=Page[UserOut])
def list_users(req: Req) -> Any:
    return listings.users(req.account_id, limit=req.query.limit, cursor=req.query.cursor)


@route(bp, "/v1/users", "POST", summary="Create a user in the account (counts against the plan)",
       tags=TAGS, body=CreateUserBody, response=UserOut, status=201, role=Role.admin,
       extra_responses={402: "plan_limit_reached: the plan's max_users is reached"})
def create_user(req: Req) -> UserOut:
    b: CreateUserBody = req.body
    user = identity.create_user(req.tenant, email=b.email, password=b.password, role=b.role,
                                first_name=b.first_name, last_name=b.last_name)
    return UserOut.model_validate(user)


@route(bp, "/v1/users/{user_id}", "GET", summary="Get a user", tags=TAGS, response=UserOut)
def get_user(req: Req, user_id: str) -> UserOut:
    return UserOut.model_validate(identity.get_user(req.account_id, user_id))


@route(bp, "/v1/users/{user_id}", "PATCH", summary="Change a user's role", tags=TAGS,
       body=UpdateUserBody, response=UserOut, role=Role.admin)
def update_user(req: Req, user_id: str) -> UserOut:
    return UserOut.model_validate(identity.change_role(req.tenant, user_id, req.body.role))


@route(bp, "/v1/users/{user_id}/deactivate", "POST", summary="Deactivate a user (ends their sessions)",
       tags=TAGS, response=UserOut, role=Role.admin)
def deactivate_user(req: Req, user_id: str) -> UserOut:
    return UserOut.model_validate(identity.deactivate_user(req.tenant, user_id))
