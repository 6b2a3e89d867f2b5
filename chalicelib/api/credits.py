"""/v1/credits: balances, usage (debits) and the full ledger of the caller's account."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field, model_validator

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import ListQuery, Out, Page
from chalicelib.models.billing import CREDIT_TYPES
from chalicelib.services import credits, listings
from chalicelib.services.sites import get_site

bp = Blueprint(__name__)
TAGS = ["credits"]


class CreditTypeBalance(Out):
    plan: int = Field(description="Credits of the current plan period (expire at its end).")
    pack: int = Field(description="Purchased credits (never expire).")
    available: int


class BalanceOut(Out):
    balances: dict[str, CreditTypeBalance]
    plan_id: str | None
    period_start: datetime | None
    period_end: datetime | None


class LedgerQuery(ListQuery):
    from_: datetime | None = Field(None, alias="from", description="ISO time, inclusive")
    to: datetime | None = Field(None, description="ISO time, inclusive")
    site_id: str | None = Field(None, max_length=64)
    operation: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _range(self) -> LedgerQuery:
        if self.from_ and self.to and self.from_ > self.to:
            raise ValueError("'from' must not be after 'to'")
        return self


class LedgerEntryOut(Out):
    entry_key: str
    kind: str
    credit_type: str
    delta: int
    plan_delta: int
    pack_delta: int
    operation: str
    site_id: str | None
    job_id: str | None
    related_object_id: str | None
    model: str | None
    provider: str | None
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    images: int
    note: str | None
    created_at: datetime


class LedgerPage(Page[LedgerEntryOut]):
    totals: dict[str, int] = Field(description="Sum of the deltas on this page, per credit type.")


@route(bp, "/v1/credits", "GET", summary="Credit balances of the account", tags=TAGS, response=BalanceOut)
def get_credits(req: Req) -> BalanceOut:
    bal = credits.get_balance(req.account_id)
    return BalanceOut(balances={t: CreditTypeBalance(**v) for t, v in credits.balances(req.account_id).items()},
                      plan_id=bal.plan_id, period_start=bal.period_start, period_end=bal.period_end)


def _ledger_page(req: Req, kinds: set[str] | None) -> LedgerPage:
    q: LedgerQuery = req.query
    if q.site_id:
        get_site(req.account_id, q.site_id)  # another account's site: 404
    page = listings.ledger(req.account_id, kinds=kinds, start=q.from_, end=q.to, site_id=q.site_id,
                           operation=q.operation, limit=q.limit, cursor=q.cursor)
    items = [LedgerEntryOut.model_validate(e) for e in page.items]
    totals = dict.fromkeys(CREDIT_TYPES, 0)
    for e in items:
        totals[e.credit_type] += e.delta
    return LedgerPage(items=items, next_cursor=page.next_cursor, totals=totals)


@route(bp, "/v1/credits/usage", "GET", summary="What was spent: debits by time, site and operation, newest first",
       tags=TAGS, query=LedgerQuery, response=LedgerPage)
def get_usage(req: Req) -> LedgerPage:
    return _ledger_page(req, {"debit"})


@route(bp, "/v1/credits/ledger", "GET", summary="Every grant, debit, expiry and refund, newest first",
       tags=TAGS, query=LedgerQuery, response=LedgerPage)
def get_ledger(req: Req) -> LedgerPage:
    return _ledger_page(req, None)
