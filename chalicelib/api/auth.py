"""/v1/auth/* and /v1/me: registration, sign-in, token refresh, sign-out."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Email, Out
from chalicelib.services import identity
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
    refresh_token: str = Field(min_length=1, max_length=512)


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


def tokens_out(pair: identity.TokenPair) -> TokensOut:
    return TokensOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     token_type=pair.token_type, expires_in=pair.expires_in)


@route(bp, "/v1/auth/register", "POST", summary="Create an account and its owner", tags=TAGS,
       body=RegisterBody, response=RegisterOut, status=201, auth="none")
def register(req: Req) -> RegisterOut:
    b: RegisterBody = req.body
    account, user, pair = identity.register(account_name=b.account_name, email=b.email, password=b.password,
                                            first_name=b.first_name, last_name=b.last_name)
    return RegisterOut(account=AccountOut.model_validate(account), user=UserOut.model_validate(user),
                       tokens=tokens_out(pair))


@route(bp, "/v1/auth/login", "POST", summary="Sign in with e-mail and password", tags=TAGS,
       body=LoginBody, response=TokensOut, auth="none",
       extra_responses={401: "invalid_credentials: the e-mail or password is wrong"})
def login(req: Req) -> TokensOut:
    return tokens_out(identity.login(req.body.email, req.body.password))


@route(bp, "/v1/auth/refresh", "POST", summary="Exchange a refresh token for new tokens (rotation)",
       tags=TAGS, body=RefreshBody, response=TokensOut, auth="none",
       extra_responses={401: "The refresh token is invalid, expired, rotated or revoked"})
def refresh(req: Req) -> TokensOut:
    return tokens_out(identity.refresh(req.body.refresh_token))


@route(bp, "/v1/auth/logout", "POST", summary="End this session: its refresh and access tokens stop working",
       tags=TAGS, status=204)
def logout(req: Req) -> None:
    identity.logout(req.tenant)
    return None


@route(bp, "/v1/me", "GET", summary="The signed-in user, the account and its plan", tags=TAGS, response=MeOut)
def me(req: Req) -> MeOut:
    account = identity.get_account(req.account_id)
    user = identity.get_user(req.account_id, req.tenant.user_id)
    plan = get_plan(account.plan_id)
    return MeOut(user=UserOut.model_validate(user), account=AccountOut.model_validate(account),
                 plan=PlanSummary.model_validate(plan))
