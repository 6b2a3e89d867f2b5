"""/v1/industries: the global catalogue; everyone reads, platform staff write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page, changes
from chalicelib.services import listings, sites

bp = Blueprint(__name__)
TAGS = ["industries"]


class IndustryCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=5000)


class IndustryUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=5000)


class IndustryOut(Out):
    industry_id: str
    name: str
    description: str
    created_at: datetime


@route(bp, "/v1/industries", "GET", summary="List industries", tags=TAGS, query=ListQuery,
       response=Page[IndustryOut])
def list_industries(req: Req) -> Any:
    return listings.industries(limit=req.query.limit, cursor=req.query.cursor)


@route(bp, "/v1/industries/{industry_id}", "GET", summary="Get an industry", tags=TAGS, response=IndustryOut)
def get_industry(req: Req, industry_id: str) -> IndustryOut:
    return IndustryOut.model_validate(sites.get_industry(industry_id))


@route(bp, "/v1/industries", "POST", summary="Create an industry (staff)", tags=TAGS, body=IndustryCreate,
       response=IndustryOut, status=201, auth="staff")
def create_industry(req: Req) -> IndustryOut:
    return IndustryOut.model_validate(sites.create_industry(**req.body.model_dump()))


@route(bp, "/v1/industries/{industry_id}", "PATCH", summary="Change an industry (staff)", tags=TAGS,
       body=IndustryUpdate, response=IndustryOut, auth="staff")
def update_industry(req: Req, industry_id: str) -> IndustryOut:
    return IndustryOut.model_validate(sites.update_industry(industry_id, changes(req.body)))


@route(bp, "/v1/industries/{industry_id}", "DELETE", summary="Delete an industry (staff)", tags=TAGS,
       response=Deleted, auth="staff")
def delete_industry(req: Req, industry_id: str) -> Deleted:
    sites.delete_industry(industry_id)
    return Deleted(id=industry_id)
