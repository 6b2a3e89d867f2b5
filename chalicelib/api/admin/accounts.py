"""/v1/admin/accounts: platform staff find an account (by id or a user's e-mail), see its plan,
balances, sites and recent jobs, and deactivate (suspend) or reactivate it."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field, model_validator

from chalicelib.api.auth import AccountOut
from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Email, Id, Out
from chalicelib.services import account_overview, identity

bp = Blueprint(__name__)
TAGS = ["admin: accounts"]


class AccountAdminOut(AccountOut):
    """What the account's own members see, and when staff or the account last changed it."""

    updated_at: datetime


class AccountPlanSummary(Out):
    plan_id: str
    name: str
    idea_credits: int
    content_credits: int
    image_credits: int
    optimization_credits: int
    price_monthly_cents: int


class SiteSummary(Out):
    site_id: str
    name: str
    domain: str
    status: str
    created_at: datetime


class JobSummary(Out):
    job_id: str
    site_id: str
    stage: str
    status: str
    total: int
    done: int
    failed: int
    credits_spent: int
    created_at: datetime
    finished_at: datetime | None


class AccountOverviewOut(AccountAdminOut):
    owner_email: str | None
    subscription_id: str | None = None
    plan: AccountPlanSummary
    balances: dict[str, dict[str, int]] = Field(description="Per credit type: plan, pack and available")
    sites: list[SiteSummary] = Field(description=f"Up to {account_overview.MAX_SITES} sites")
    recent_jobs: list[JobSummary] = Field(description=f"The newest {account_overview.RECENT_JOBS} jobs of its "
                                                      f"first {account_overview.SITES_WITH_JOBS} sites")


class AccountSearch(Body):
    email: Email | None = Field(None, description="An e-mail of one of the account's users")
    account_id: Id | None = None

    @model_validator(mode="after")
    def _one(self) -> AccountSearch:
        if (self.email is None) == (self.account_id is None):
            raise ValueError("give either email or account_id")
        return self


class AccountSearchOut(Out):
    items: list[AccountAdminOut]


class AccountAdminUpdate(Body):
    is_active: bool = Field(description="false: nobody of the account signs in or calls the API (403 "
                                        "account_inactive) and no work of its sites runs; true: it all goes on")
    reason: str | None = Field(None, max_length=500, description="Why (kept in the account's audit log)")


@route(bp, "/v1/admin/account-lookup", "POST", summary="Find an account by its id or a user's e-mail (staff)",
       tags=TAGS, body=AccountSearch, response=AccountSearchOut, auth="staff")
def search_accounts(req: Req) -> AccountSearchOut:
    found = account_overview.find(email=req.body.email, account_id=req.body.account_id)
    return AccountSearchOut(items=[AccountAdminOut.model_validate(a) for a in found])


@route(bp, "/v1/admin/accounts/{account_id}", "GET", summary="An account: plan, balances, sites, recent jobs "
       "(staff)", tags=TAGS, response=AccountOverviewOut, auth="staff")
def get_account(req: Req, account_id: str) -> AccountOverviewOut:
    return AccountOverviewOut.model_validate(account_overview.overview(account_id).fields())


@route(bp, "/v1/admin/accounts/{account_id}", "PATCH", summary="Suspend or reactivate an account (staff)",
       tags=TAGS, body=AccountAdminUpdate, response=AccountAdminOut, auth="staff")
def update_account(req: Req, account_id: str) -> AccountAdminOut:
    account = identity.set_account_active(account_id, req.body.is_active, by=req.tenant, reason=req.body.reason)
    return AccountAdminOut.model_validate(account)
