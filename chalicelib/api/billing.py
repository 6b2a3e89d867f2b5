"""Billing: plans and credit packs (public list, staff management), the account's billing state,
Stripe Checkout and the customer portal, and the account's credit periods."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import BeforeValidator, Field, model_validator

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, ListQuery, Out, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.models.billing import CREDIT_TYPES
from chalicelib.services import billing, credits, listings, plans

bp = Blueprint(__name__)
TAGS, ADMIN_TAGS = ["billing"], ["admin: billing"]

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Lower-case id: letters, digits, - and _")
PRICE_PATTERN = r"^price_[A-Za-z0-9]{1,200}$"
Credits = Field(None, ge=0, le=10_000_000)
Cents = Field(None, ge=0, le=100_000_000, description="Integer cents")
# "Can it be bought": read from the Stripe price id of the record (its presence, never its value).
Buyable = Annotated[bool, BeforeValidator(bool)]


# --- plans -------------------------------------------------------------------------------------

class PlanOut(Out):
    plan_id: str
    name: str
    description: str
    idea_credits: int
    content_credits: int
    image_credits: int
    optimization_credits: int
    max_sites: int
    max_users: int
    price_monthly_cents: int
    price_yearly_cents: int
    currency: str
    rollover: bool = Field(description="Unused plan credits roll over to the next period (else they expire).")
    buyable_monthly: Buyable = Field(validation_alias="stripe_price_monthly")
    buyable_yearly: Buyable = Field(validation_alias="stripe_price_yearly")


class PlanAdminOut(PlanOut):
    is_active: bool
    is_internal: bool
    stripe_price_monthly: str | None
    stripe_price_yearly: str | None
    sort_order: int
    updated_by: str | None


class PlanFields(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    idea_credits: int | None = Credits
    content_credits: int | None = Credits
    image_credits: int | None = Credits
    optimization_credits: int | None = Credits
    max_sites: int | None = Field(None, ge=0, le=100_000)
    max_users: int | None = Field(None, ge=1, le=100_000)
    price_monthly_cents: int | None = Cents
    price_yearly_cents: int | None = Cents
    currency: str | None = Field(None, pattern=r"^[a-z]{3}$")
    rollover: bool | None = None
    is_active: bool | None = None
    is_internal: bool | None = None
    stripe_price_monthly: str | None = Field(None, pattern=PRICE_PATTERN)
    stripe_price_yearly: str | None = Field(None, pattern=PRICE_PATTERN)
    sort_order: int | None = Field(None, ge=0, le=10_000)


class PlanCreate(PlanFields):
    plan_id: str = Slug
    name: str = Field(min_length=1, max_length=100)


@route(bp, "/v1/plans", "GET", summary="The plans on offer (public: no sign-in needed)", tags=TAGS,
       response=Page[PlanOut], auth="none")
def list_public_plans(req: Req) -> Any:
    return {"items": plans.public_plans()}


@route(bp, "/v1/admin/plans", "GET", summary="Every plan, internal and inactive ones included",
       tags=ADMIN_TAGS, response=Page[PlanAdminOut], auth="staff")
def list_all_plans(req: Req) -> Any:
    return {"items": plans.all_plans()}


@route(bp, "/v1/admin/plans", "POST", summary="Create a plan", tags=ADMIN_TAGS, body=PlanCreate,
       response=PlanAdminOut, status=201, auth="staff")
def create_plan(req: Req) -> Any:
    fields = {k: v for k, v in req.body.model_dump().items() if v is not None}
    return plans.create_plan(fields, updated_by=req.tenant.user_id)


@route(bp, "/v1/admin/plans/{plan_id}", "PATCH",
       summary="Change a plan (existing subscribers' limits follow; credits from their next period)",
       tags=ADMIN_TAGS, body=PlanFields, response=PlanAdminOut, auth="staff")
def update_plan(req: Req, plan_id: str) -> Any:
    fields = changes(req.body, nullable={"stripe_price_monthly", "stripe_price_yearly"}, refuse_null=True)
    return plans.update_plan(plan_id, fields, updated_by=req.tenant.user_id)


# --- credit packs ------------------------------------------------------------------------------

class PackOut(Out):
    pack_id: str
    name: str
    description: str
    idea_credits: int
    content_credits: int
    image_credits: int
    optimization_credits: int
    price_cents: int
    currency: str
    buyable: Buyable = Field(validation_alias="stripe_price_id")


class PackAdminOut(PackOut):
    is_active: bool
    stripe_price_id: str | None
    sort_order: int
    updated_by: str | None


class PackFields(Body):
    name: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    idea_credits: int | None = Credits
    content_credits: int | None = Credits
    image_credits: int | None = Credits
    optimization_credits: int | None = Credits
    price_cents: int | None = Cents
    currency: str | None = Field(None, pattern=r"^[a-z]{3}$")
    stripe_price_id: str | None = Field(None, pattern=PRICE_PATTERN)
    is_active: bool | None = None
    sort_order: int | None = Field(None, ge=0, le=10_000)


class PackCreate(PackFields):
    pack_id: str = Slug
    name: str = Field(min_length=1, max_length=100)


@route(bp, "/v1/credit-packs", "GET", summary="The credit packs on sale (public; their credits never expire)",
       tags=TAGS, response=Page[PackOut], auth="none")
def list_public_packs(req: Req) -> Any:
    return {"items": plans.public_packs()}


@route(bp, "/v1/admin/credit-packs", "GET", summary="Every credit pack, inactive ones included",
       tags=ADMIN_TAGS, response=Page[PackAdminOut], auth="staff")
def list_all_packs(req: Req) -> Any:
    return {"items": plans.all_packs()}


@route(bp, "/v1/admin/credit-packs", "POST", summary="Create a credit pack", tags=ADMIN_TAGS, body=PackCreate,
       response=PackAdminOut, status=201, auth="staff")
def create_pack(req: Req) -> Any:
    fields = {k: v for k, v in req.body.model_dump().items() if v is not None}
    return plans.create_pack(fields, updated_by=req.tenant.user_id)


@route(bp, "/v1/admin/credit-packs/{pack_id}", "PATCH", summary="Change a credit pack (sales made stay as sold)",
       tags=ADMIN_TAGS, body=PackFields, response=PackAdminOut, auth="staff")
def update_pack(req: Req, pack_id: str) -> Any:
    fields = changes(req.body, nullable={"stripe_price_id"}, refuse_null=True)
    return plans.update_pack(pack_id, fields, updated_by=req.tenant.user_id)


# --- the account's billing ---------------------------------------------------------------------

class SubscriptionOut(Out):
    subscription_id: str
    status: str
    plan_id: str | None
    interval: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None


class LimitOut(Out):
    used: int
    max: int


class BillingOut(Out):
    plan_id: str
    plan_name: str
    subscription: SubscriptionOut | None
    past_due: bool = Field(description="A plan invoice is unpaid: generation is refused until it is paid.")
    unpaid_invoices: list[str]
    has_billing_account: bool
    limits: dict[str, LimitOut]
    over_limit: list[str] = Field(description="Limits exceeded after a downgrade: what exists stays, "
                                              "nothing more can be added until back under the limit.")
    period_start: datetime | None
    period_end: datetime | None
    period_plan_id: str | None


class CheckoutBody(Body):
    kind: Literal["plan", "pack"]
    plan_id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")
    interval: Literal["month", "year"] = "month"
    pack_id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$")

    @model_validator(mode="after")
    def _one_thing(self) -> CheckoutBody:
        if self.kind == "plan" and (not self.plan_id or self.pack_id):
            raise ValueError("a plan checkout takes plan_id (and interval), not pack_id")
        if self.kind == "pack" and (not self.pack_id or self.plan_id):
            raise ValueError("a pack checkout takes pack_id, not plan_id")
        return self


class CheckoutOut(Out):
    url: str = Field(description="Stripe Checkout's page: send the customer there.")
    session_id: str


class PortalOut(Out):
    url: str = Field(description="Stripe's customer portal: payment method, invoices, plan changes, cancelling.")


@route(bp, "/v1/billing", "GET", summary="The account's plan, subscription, payment state and limits",
       tags=TAGS, response=BillingOut)
def get_billing(req: Req) -> BillingOut:
    return BillingOut.model_validate(billing.status(req.account_id))


@route(bp, "/v1/billing/checkout", "POST",
       summary="Start a Stripe Checkout for a plan subscription or a credit pack; returns its URL",
       tags=TAGS, body=CheckoutBody, response=CheckoutOut, role=Role.admin,
       extra_responses={409: "subscription_exists: change plans in the portal",
                        422: "price_not_configured", 503: "billing_unavailable"})
def create_checkout(req: Req) -> CheckoutOut:
    b: CheckoutBody = req.body
    return CheckoutOut(**billing.checkout(req.tenant, kind=b.kind, plan_id=b.plan_id, interval=b.interval,
                                          pack_id=b.pack_id, request_key=req.idempotency_key()))


@route(bp, "/v1/billing/portal", "POST", summary="A Stripe customer-portal URL for the account",
       tags=TAGS, response=PortalOut, role=Role.admin,
       extra_responses={409: "no_billing_account", 503: "billing_unavailable"})
def create_portal(req: Req) -> PortalOut:
    return PortalOut(**billing.portal(req.tenant, request_key=req.idempotency_key()))


# --- credit periods ----------------------------------------------------------------------------

class PeriodOut(Out):
    period_key: str
    plan_id: str
    rollover: bool
    period_start: datetime
    period_end: datetime
    source: str
    source_id: str | None
    status: str = Field(description="current, closed, or superseded (paid late: its credits went to "
                                    "the period named by superseded_by)")
    granted: dict[str, int]
    rolled_over_in: dict[str, int]
    added: dict[str, int] = Field(description="Upgrade top-ups and late invoices during the period.")
    used: dict[str, int] | None = Field(description="Plan credits used (so far, for the current period).")
    closing: dict[str, int] | None
    expired: dict[str, int] | None
    rolled_over_out: dict[str, int] | None
    superseded_by: str | None
    closed_at: datetime | None


def _amounts(value: Any) -> dict[str, int] | None:
    return value.as_dict() if value is not None else None


def _period_out(p: Any, plan_left: dict[str, int]) -> PeriodOut:
    granted, rolled, added = _amounts(p.granted), _amounts(p.rolled_over_in), _amounts(p.added) or {}
    left = _amounts(p.closing) if p.status == "closed" else plan_left if p.status == "current" else None
    used = None if left is None else {t: granted[t] + rolled[t] + added.get(t, 0) - left[t] for t in CREDIT_TYPES}
    return PeriodOut(period_key=p.period_key, plan_id=p.plan_id, rollover=p.rollover, period_start=p.period_start,
                     period_end=p.period_end, source=p.source, source_id=p.source_id, status=p.status,
                     granted=granted, rolled_over_in=rolled, added=added or dict.fromkeys(CREDIT_TYPES, 0), used=used,
                     closing=_amounts(p.closing), expired=_amounts(p.expired),
                     rolled_over_out=_amounts(p.rolled_over_out), superseded_by=p.superseded_by,
                     closed_at=p.closed_at)


@route(bp, "/v1/credits/periods", "GET", summary="Plan periods, newest first: granted, rolled over, used, expired",
       tags=["credits"], query=ListQuery, response=Page[PeriodOut])
def list_periods(req: Req) -> Any:
    q: ListQuery = req.query
    bal = credits.get_balance(req.account_id)
    plan_left = {t: int(getattr(bal, f"{t}_plan") or 0) for t in CREDIT_TYPES}
    page = listings.credit_periods(req.account_id, limit=q.limit, cursor=q.cursor)
    return {"items": [_period_out(p, plan_left) for p in page.items], "next_cursor": page.next_cursor}
