"""/v1/auth/* and /v1/me: registration, sign-in, token refresh, sign-out.

Tokens travel two ways. Mobile and server clients read both from the JSON body and send the
refresh token back in the body. A browser keeps its access token in memory only and lets the
refresh token ride in an httpOnly, Secure, SameSite=Strict cookie scoped to ``/v1/auth``
(script on the page can never read it, another site can never send it), so register, login
and refresh also set that cookie, refresh falls back to it when the body has no token, and
logout clears it.
"""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib import config
from chalicelib.api.routing import Req, json_response, route
from chalicelib.api.schemas import Body, Email, Out
from chalicelib.errors import Unauthorized
from chalicelib.services import credentials, identity
from chalicelib.services.plans import get_plan

bp = Blueprint(__name__)
TAGS = ["auth"]

Password = Field(min_length=10, max_length=256, description="At least 10 characters.")


class RegisterBody(Body):
    account_name: str = Field(min_length=1, max_length=255)
    email: Email
    password: str = Password
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class LoginBody(Body):
    email: Email
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(Body):
    refresh_token: str | None = Field(
        None, min_length=1, max_length=512,
        description="Browsers leave it out: their seo_refresh cookie carries it.")


class TokensOut(Out):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(Out):
    user_id: str
    email: str
    first_name: str
    last_name: str
    role: str
    is_active: bool
    is_staff: bool
    created_at: datetime
    email_verified: bool = False


class PlanSummary(Out):
    plan_id: str
    name: str
    max_sites: int
    max_users: int


class AccountOut(Out):
    account_id: str
    name: str
    plan_id: str
    is_active: bool
    site_count: int
    user_count: int
    created_at: datetime


class RegisterOut(Out):
    account: AccountOut
    user: UserOut
    tokens: TokensOut


class MeOut(Out):
    user: UserOut
    account: AccountOut
    plan: PlanSummary


REFRESH_COOKIE = "seo_refresh"
REFRESH_COOKIE_PATH = "/v1/auth"
_COOKIE_FLAGS = f"Path={REFRESH_COOKIE_PATH}; HttpOnly; Secure; SameSite=Strict"


def refresh_cookie(refresh_token: str) -> str:
    return f"{REFRESH_COOKIE}={refresh_token}; Max-Age={config.refresh_token_ttl_seconds()}; {_COOKIE_FLAGS}"


def cleared_refresh_cookie() -> str:
    return f"{REFRESH_COOKIE}=; Max-Age=0; {_COOKIE_FLAGS}"


def cookie_value(cookie_header: str | None, name: str) -> str | None:
    """The first ``name`` cookie of a Cookie header (the most specific path comes first).

    Parsed by hand: other apps on the same host may set cookies that ``http.cookies``
    rejects, and one of those must not hide ours.
    """
    for part in (cookie_header or "").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key.strip() == name and value.strip():
            return value.strip().strip('"')
    return None


def with_tokens(body: Out, pair: identity.TokenPair, status: int) -> Response:
    # Token answers are never cached (RFC 6749 5.1), by a browser or anything in between.
    return json_response(body.model_dump(mode="json"), status,
                         {"Set-Cookie": refresh_cookie(pair.refresh_token), "Cache-Control": "no-store"})


def tokens_out(pair: identity.TokenPair) -> TokensOut:
    return TokensOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     token_type=pair.token_type, expires_in=pair.expires_in)


@route(bp, "/v1/auth/register", "POST", summary="Create an account and its owner", tags=TAGS,
       body=RegisterBody, response=RegisterOut, status=201, auth="none")
def register(req: Req) -> Response:
    b: RegisterBody = req.body
    account, user, pair = identity.register(account_name=b.account_name, email=b.email, password=b.password,
                                            first_name=b.first_name, last_name=b.last_name)
    credentials.send_verification(account.account_id, user.user_id)
    body = RegisterOut(account=AccountOut.model_validate(account), user=UserOut.model_validate(user),
                       tokens=tokens_out(pair))
    return with_tokens(body, pair, 201)


@route(bp, "/v1/auth/login", "POST", summary="Sign in with e-mail and password", tags=TAGS,
       body=LoginBody, response=TokensOut, auth="none",
       extra_responses={401: "invalid_credentials: the e-mail or password is wrong"})
def login(req: Req) -> Response:
    pair = identity.login(req.body.email, req.body.password, ip=req.source_ip)
    return with_tokens(tokens_out(pair), pair, 200)


@route(bp, "/v1/auth/refresh", "POST", summary="Exchange a refresh token for new tokens (rotation)",
       tags=TAGS, body=RefreshBody, response=TokensOut, auth="none",
       extra_responses={401: "The refresh token (body, else the seo_refresh cookie) is missing, invalid, "
                             "expired, rotated or revoked"})
def refresh(req: Req) -> Response:
    from_cookie = req.body.refresh_token is None
    token = cookie_value(req.header("cookie"), REFRESH_COOKIE) if from_cookie else req.body.refresh_token
    try:
        if not token:
            raise Unauthorized("No refresh token: send it in the body, or sign in again.",
                               code="refresh_token_missing")
        pair = identity.refresh(token)
    except Unauthorized as exc:
        if from_cookie:  # a cookie that no longer works is dropped, so the browser stops sending it
            exc.headers = {**exc.headers, "Set-Cookie": cleared_refresh_cookie()}
        raise
    return with_tokens(tokens_out(pair), pair, 200)


@route(bp, "/v1/auth/logout", "POST", summary="End this session: its refresh and access tokens stop working",
       tags=TAGS, status=204)
def logout(req: Req) -> Response:
    identity.logout(req.tenant)
    return Response(body="", status_code=204, headers={"Set-Cookie": cleared_refresh_cookie()})


@route(bp, "/v1/me", "GET", summary="The signed-in user, the account and its plan", tags=TAGS, response=MeOut)
def me(req: Req) -> MeOut:
    account, user = req.caller.account, req.caller.user  # read with the caller, this request
    plan = get_plan(account.plan_id)
    return MeOut(user=UserOut.model_validate(user), account=AccountOut.model_validate(account),
                 plan=PlanSummary.model_validate(plan))
