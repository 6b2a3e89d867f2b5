"""/v1/admin/credit-costs: the fixed credits of each operation (token and image prices are the models')."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.services import system_config

bp = Blueprint(__name__)
TAGS = ["admin: settings"]


class CreditCostPut(Body):
    display_name: str = Field(min_length=1, max_length=100)
    base_credits: int = Field(1, ge=0, le=100_000)
    is_active: bool = True
    description: str = Field("", max_length=2000)


class CreditCostOut(Out):
    operation_type: str
    display_name: str
    base_credits: int
    is_active: bool
    description: str
    updated_at: datetime


@route(bp, "/v1/admin/credit-costs", "GET", summary="List the credit cost of each operation",
       tags=TAGS, query=ListQuery, response=Page[CreditCostOut], auth="staff")
def list_credit_costs(req: Req) -> Page[CreditCostOut]:
    page = system_config.page_credit_costs(limit=req.query.limit, cursor=req.query.cursor)
    return Page[CreditCostOut](items=[CreditCostOut.model_validate(c) for c in page.items],
                               next_cursor=page.next_cursor)


@route(bp, "/v1/admin/credit-costs/{operation_type}", "PUT", summary="Set the credit cost of an operation",
       tags=TAGS, body=CreditCostPut, response=CreditCostOut, auth="staff")
def put_credit_cost(req: Req, operation_type: str) -> CreditCostOut:
    item = system_config.put_credit_cost(operation_type, **req.body.model_dump(), updated_by=req.tenant.user_id)
    return CreditCostOut.model_validate(item)


@route(bp, "/v1/admin/credit-costs/{operation_type}", "DELETE", summary="Delete an operation's credit cost",
       tags=TAGS, response=Deleted, auth="staff")
def delete_credit_cost(req: Req, operation_type: str) -> Deleted:
    system_config.delete_credit_cost(operation_type)
    return Deleted(id=operation_type)
