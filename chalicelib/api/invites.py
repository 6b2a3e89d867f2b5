"""/v1/users/invites (every member sees them, as they see the users; admins manage them) and
/v1/auth/invites/* (the invited person, before they have an account: the link's token is the only
credential, sent in the body, never in a URL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib.api.auth import TokensOut, UserOut, tokens_out, with_tokens
from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Email, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.services import invites

bp = Blueprint(__name__)
TAGS = ["users"]
LinkToken = Field(min_length=1, max_length=512, description="The token of the link the e-mail carried.")


class InviteBody(Body):
    email: Email
    role: Role = Role.editor
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class InviteOut(Out):
    invite_id: str
    email: str
    role: str
    first_name: str
    last_name: str
    status: str = Field(description="pending, accepted, revoked or expired")
    expires_at: datetime
    invited_by: str
    sends: int
    accepted_user_id: str | None = None
    created_at: datetime


class TokenBody(Body):
    token: str = LinkToken


class AcceptBody(Body):
    token: str = LinkToken
    password: str = Field(min_length=10, max_length=256, description="At least 10 characters.")
    first_name: str | None = Field(None, max_length=150, description="Left out: the name the invite gave.")
    last_name: str | None = Field(None, max_length=150)


class PreviewOut(Out):
    email: str
    account_name: str
    role: str
    first_name: str
    last_name: str
    invited_by: str
    expires_at: datetime


class AcceptOut(Out):
    user: UserOut
    tokens: TokensOut


def invite_out(invite: Any) -> InviteOut:
    return InviteOut(invite_id=invite.invite_id, email=invite.email, role=invite.role, first_name=invite.first_name,
                     last_name=invite.last_name, status=invites.status_of(invite),
                     expires_at=invites.expires_at(invite), invited_by=invite.invited_by, sends=int(invite.sends),
                     accepted_user_id=invite.accepted_user_id, created_at=invite.created_at)


@route(bp, "/v1/users/invites", "POST", summary="Invite someone by e-mail (holds a seat of the plan until it ends)",
       tags=TAGS, body=InviteBody, response=InviteOut, status=201, role=Role.admin,
       extra_responses={402: "plan_limit_reached: users and pending invites fill the plan's max_users",
                        409: "email_taken or invite_pending"})
def create_invite(req: Req) -> InviteOut:
    b: InviteBody = req.body
    return invite_out(invites.create(req.tenant, email=b.email, role=b.role, first_name=b.first_name,
                                     last_name=b.last_name))


@route(bp, "/v1/users/invites", "GET", summary="List the account's invites, newest first", tags=TAGS,
       query=ListQuery, response=Page[InviteOut])
def list_invites(req: Req) -> Page[InviteOut]:
    page = invites.list_page(req.account_id, limit=req.query.limit, cursor=req.query.cursor)
    return Page[InviteOut](items=[invite_out(i) for i in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/users/invites/{invite_id}", "GET", summary="Get an invite", tags=TAGS, response=InviteOut)
def get_invite(req: Req, invite_id: str) -> InviteOut:
    return invite_out(invites.get(req.account_id, invite_id))


@route(bp, "/v1/users/invites/{invite_id}/resend", "POST",
       summary="Mail the invite again with a new link (the old link stops working)", tags=TAGS,
       response=InviteOut, role=Role.admin, extra_responses={409: "invite_not_pending"})
def resend_invite(req: Req, invite_id: str) -> InviteOut:
    return invite_out(invites.resend(req.tenant, invite_id))


@route(bp, "/v1/users/invites/{invite_id}/revoke", "POST",
       summary="Revoke an invite: its link stops working and its seat is free", tags=TAGS, response=InviteOut,
       role=Role.admin, extra_responses={409: "invite_not_pending: accepted already"})
def revoke_invite(req: Req, invite_id: str) -> InviteOut:
    return invite_out(invites.revoke(req.tenant, invite_id))


@route(bp, "/v1/auth/invites/preview", "POST", summary="What an invitation link invites to", tags=["auth"],
       body=TokenBody, response=PreviewOut, auth="none",
       extra_responses={400: "invalid_token: unknown, used, revoked or expired"})
def preview_invite(req: Req) -> PreviewOut:
    return PreviewOut.model_validate(invites.preview(req.body.token))


@route(bp, "/v1/auth/invites/accept", "POST",
       summary="Accept an invitation: choose the password (and name), join the account, sign in",
       tags=["auth"], body=AcceptBody, response=AcceptOut, status=201, auth="none",
       extra_responses={400: "invalid_token: unknown, used, revoked or expired",
                        409: "email_taken: the address signed up meanwhile"})
def accept_invite(req: Req) -> Response:
    b: AcceptBody = req.body
    _, user, pair = invites.accept(b.token, password=b.password, first_name=b.first_name, last_name=b.last_name)
    return with_tokens(AcceptOut(user=UserOut.model_validate(user), tokens=tokens_out(pair)), pair, 201)
