"""/v1/admin/strategies: reusable content strategies (e.g. "pillar and cluster") that staff curate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page, changes
from chalicelib.services import system_config

bp = Blueprint(__name__)
TAGS = ["admin: strategies"]

Slug = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$", description="Lower-case id: letters, digits, - and _")


class StrategyCreate(Body):
    strategy_id: str = Slug
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=5000)
    instructions: str = Field("", max_length=20_000)
    config: dict[str, Any] = Field(default_factory=dict)
    is_active: bool = True


class StrategyUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=5000)
    instructions: str | None = Field(None, max_length=20_000)
    config: dict[str, Any] | None = None
    is_active: bool | None = None


class StrategyOut(Out):
    strategy_id: str
    name: str
    description: str
    instructions: str
    config: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime


@route(bp, "/v1/admin/strategies", "GET", summary="List the global content strategies", tags=TAGS,
       query=ListQuery, response=Page[StrategyOut], auth="staff")
def list_strategies(req: Req) -> Page[StrategyOut]:
    page = system_config.page_strategies(limit=req.query.limit, cursor=req.query.cursor)
    return Page[StrategyOut](items=[StrategyOut.model_validate(s) for s in page.items],
                             next_cursor=page.next_cursor)


@route(bp, "/v1/admin/strategies", "POST", summary="Add a content strategy", tags=TAGS,
       body=StrategyCreate, response=StrategyOut, status=201, auth="staff")
def create_strategy(req: Req) -> StrategyOut:
    return StrategyOut.model_validate(system_config.create_strategy(**req.body.model_dump(),
                                                                    updated_by=req.tenant.user_id))


@route(bp, "/v1/admin/strategies/{strategy_id}", "GET", summary="Get a content strategy", tags=TAGS,
       response=StrategyOut, auth="staff")
def get_strategy(req: Req, strategy_id: str) -> StrategyOut:
    return StrategyOut.model_validate(system_config.get_strategy(strategy_id))


@route(bp, "/v1/admin/strategies/{strategy_id}", "PATCH", summary="Change a content strategy",
       tags=TAGS, body=StrategyUpdate, response=StrategyOut, auth="staff")
def update_strategy(req: Req, strategy_id: str) -> StrategyOut:
    item = system_config.update_strategy(strategy_id, changes(req.body, refuse_null=True),
                                         updated_by=req.tenant.user_id)
    return StrategyOut.model_validate(item)


@route(bp, "/v1/admin/strategies/{strategy_id}", "DELETE", summary="Delete a content strategy",
       tags=TAGS, response=Deleted, auth="staff")
def delete_strategy(req: Req, strategy_id: str) -> Deleted:
    system_config.delete_strategy(strategy_id)
    return Deleted(id=strategy_id)
