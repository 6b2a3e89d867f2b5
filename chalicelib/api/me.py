"""The signed-in user's own profile, password and address (/v1/me/*), and the public routes for
when they cannot sign in or have a link from an e-mail (/v1/auth/password-reset, verify-email)."""

from __future__ import annotations

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib.api.auth import TokensOut, UserOut, tokens_out, with_tokens
from chalicelib.api.routing import Req, json_response, route
from chalicelib.api.schemas import Body, Email, Out
from chalicelib.services import credentials, identity

bp = Blueprint(__name__)
TAGS = ["auth"]
LinkToken = Field(min_length=1, max_length=512, description="The token of the link the e-mail carried.")
NewPassword = Field(min_length=10, max_length=256, description="At least 10 characters.")
RESET_ANSWER = "If an account signs in with this address, we sent it a link to choose a new password."


class ProfileBody(Body):
    first_name: str | None = Field(None, max_length=150)
    last_name: str | None = Field(None, max_length=150)


class PasswordChangeBody(Body):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = NewPassword


class ResetRequestBody(Body):
    email: Email


class ResetBody(Body):
    token: str = LinkToken
    new_password: str = NewPassword


class TokenBody(Body):
    token: str = LinkToken


class MessageOut(Out):
    message: str


class VerifiedOut(Out):
    email: str
    email_verified: bool


@route(bp, "/v1/me", "PATCH", summary="Change your own names", tags=TAGS, body=ProfileBody, response=UserOut)
def update_profile(req: Req) -> UserOut:
    b: ProfileBody = req.body
    return UserOut.model_validate(identity.update_profile(req.tenant, first_name=b.first_name,
                                                          last_name=b.last_name))


@route(bp, "/v1/me/password", "POST",
       summary="Change your password: every other session ends; this one is replaced by the tokens returned",
       tags=TAGS, body=PasswordChangeBody, response=TokensOut,
       extra_responses={400: "wrong_password: the current password is wrong"})
def change_password(req: Req) -> Response:
    b: PasswordChangeBody = req.body
    pair = credentials.change_password(req.tenant, b.current_password, b.new_password)
    return with_tokens(tokens_out(pair), pair, 200)


@route(bp, "/v1/me/verify-email", "POST", summary="Mail yourself a new link that confirms your address",
       tags=TAGS, response=MessageOut, status=202, extra_responses={409: "already_verified"})
def send_verification(req: Req) -> MessageOut:
    credentials.send_verification(req.account_id, req.tenant.user_id)
    return MessageOut(message="We sent a link to your address; it works for 7 days.")


@route(bp, "/v1/auth/verify-email", "POST", summary="Confirm an e-mail address with the link's token",
       tags=TAGS, body=TokenBody, response=VerifiedOut, auth="none",
       extra_responses={400: "invalid_token: unknown, used or expired"})
def verify_email(req: Req) -> VerifiedOut:
    user = credentials.confirm_email(req.body.token)
    return VerifiedOut(email=user.email, email_verified=user.email_verified)


@route(bp, "/v1/auth/password-reset", "POST",
       summary="Ask for a password reset link (the answer is the same whether the address exists or not)",
       tags=TAGS, body=ResetRequestBody, response=MessageOut, status=202, auth="none")
def request_reset(req: Req) -> Response:
    credentials.request_reset(req.body.email)
    return json_response(MessageOut(message=RESET_ANSWER).model_dump(mode="json"), 202,
                         {"Cache-Control": "no-store"})


@route(bp, "/v1/auth/password-reset/confirm", "POST",
       summary="Choose a new password with a reset link's token; every session ends", tags=TAGS,
       body=ResetBody, status=204, auth="none",
       extra_responses={400: "invalid_token: unknown, used, expired or superseded"})
def reset_password(req: Req) -> Response:
    credentials.reset_password(req.body.token, req.body.new_password)
    return Response(body="", status_code=204)
