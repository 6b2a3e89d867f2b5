"""/v1/admin/accounts/{account_id}/credits: staff grant or deduct an account's credits, with a reason."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from chalice import Blueprint
from pydantic import Field, field_validator

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Out
from chalicelib.ids import new_id
from chalicelib.services import credit_adjustments, credits

bp = Blueprint(__name__)
TAGS = ["admin: accounts"]
CreditType = Literal["idea", "content", "image", "optimization"]


class AdjustmentIn(Body):
    credit_type: CreditType
    amount: int = Field(ge=-1_000_000, le=1_000_000, description="Credits to add (> 0) or take (< 0); not 0")
    reason: str = Field(min_length=3, max_length=500, description="Kept in the ledger and the audit log")
    bucket: Literal["plan", "pack"] = Field("pack", description="Where a grant goes: pack credits never expire, "
                                                                "plan credits end with the plan period")

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: int) -> int:
        if value == 0:
            raise ValueError("the amount cannot be 0")
        return value


class AdjustmentOut(Out):
    applied: bool = Field(description="false: this Idempotency-Key was applied before; nothing changed")
    entry_key: str
    credit_type: str
    delta: int
    plan_delta: int
    pack_delta: int
    note: str | None
    created_at: datetime
    balances: dict[str, dict[str, int]]


@route(bp, "/v1/admin/accounts/{account_id}/credits", "POST", summary="Grant or deduct an account's credits "
       "(a ledger entry and an audit entry; send an Idempotency-Key to retry safely) (staff)", tags=TAGS,
       body=AdjustmentIn, response=AdjustmentOut, auth="staff",
       extra_responses={409: "insufficient_credits: a deduction larger than the balance"})
def adjust_credits(req: Req, account_id: str) -> AdjustmentOut:
    b: AdjustmentIn = req.body
    result = credit_adjustments.adjust(account_id, credit_type=b.credit_type, amount=b.amount, reason=b.reason,
                                       by=req.tenant, key=req.idempotency_key() or new_id(), bucket=b.bucket)
    e = result.entry
    return AdjustmentOut(applied=result.applied, entry_key=e.entry_key, credit_type=e.credit_type,
                         delta=int(e.delta), plan_delta=int(e.plan_delta), pack_delta=int(e.pack_delta),
                         note=e.note, created_at=e.created_at, balances=credits.balances(account_id))
