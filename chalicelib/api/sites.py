"""/v1/sites and /v1/sites/{site_id}/sectors."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.pagination import paginate
from chalicelib.api.routing import Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.models.accounts import Sector, Site, site_key
from chalicelib.services import sites

bp = Blueprint(__name__)
SITE_TAGS, SECTOR_TAGS = ["sites"], ["sectors"]

Domain = Field("", max_length=255, pattern=r"^$|^[A-Za-z0-9.-]+(:\d+)?$",
               description="Host name of the WordPress site, e.g. blog.example.com")


class SiteCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    domain: str = Domain
    industry_id: str | None = Field(None, max_length=64)
    time_zone: str = Field("UTC", max_length=64, description="IANA time zone, e.g. Europe/Berlin")
    is_active: bool = True


class SiteUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    domain: str | None = Domain
    industry_id: str | None = Field(None, max_length=64)
    time_zone: str | None = Field(None, max_length=64)
    is_active: bool | None = None


class SiteOut(Out):
    site_id: str
    name: str
    domain: str
    industry_id: str | None
    time_zone: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class SectorCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=5000)
    is_active: bool = True


class SectorUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=5000)
    is_active: bool | None = None


class SectorOut(Out):
    sector_id: str
    site_id: str
    name: str
    description: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


def _changes(body: Body) -> dict:
    return body.model_dump(exclude_unset=True, exclude_none=True)


@route(bp, "/v1/sites", "GET", summary="List the account's sites", tags=SITE_TAGS, query=ListQuery,
       response=Page[SiteOut])
def list_sites(req: Req) -> Page[SiteOut]:
    page = paginate(lambda **kw: Site.query(req.account_id, **kw), scope=f"sites:{req.account_id}",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[SiteOut](items=[SiteOut.model_validate(s) for s in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites", "POST", summary="Create a site (counts against the plan)", tags=SITE_TAGS,
       body=SiteCreate, response=SiteOut, status=201, role=Role.admin,
       extra_responses={402: "plan_limit_reached: the plan's max_sites is reached"})
def create_site(req: Req) -> SiteOut:
    return SiteOut.model_validate(sites.create_site(req.account_id, **req.body.model_dump()))


@route(bp, "/v1/sites/{site_id}", "GET", summary="Get a site", tags=SITE_TAGS, response=SiteOut)
def get_site(req: Req, site_id: str) -> SiteOut:
    return SiteOut.model_validate(sites.get_site(req.account_id, site_id))


@route(bp, "/v1/sites/{site_id}", "PATCH", summary="Change a site", tags=SITE_TAGS, body=SiteUpdate,
       response=SiteOut, role=Role.admin)
def update_site(req: Req, site_id: str) -> SiteOut:
    return SiteOut.model_validate(sites.update_site(req.account_id, site_id, _changes(req.body)))


@route(bp, "/v1/sites/{site_id}", "DELETE", summary="Delete a site and its sectors", tags=SITE_TAGS,
       response=Deleted, role=Role.admin)
def delete_site(req: Req, site_id: str) -> Deleted:
    sites.delete_site(req.account_id, site_id)
    return Deleted(id=site_id)


@route(bp, "/v1/sites/{site_id}/sectors", "GET", summary="List a site's sectors", tags=SECTOR_TAGS,
       query=ListQuery, response=Page[SectorOut])
def list_sectors(req: Req, site_id: str) -> Page[SectorOut]:
    sites.get_site(req.account_id, site_id)
    key = site_key(req.account_id, site_id)
    page = paginate(lambda **kw: Sector.query(key, **kw), scope=f"sectors:{key}",
                    limit=req.query.limit, cursor=req.query.cursor)
    return Page[SectorOut](items=[SectorOut.model_validate(s) for s in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/sectors", "POST", summary="Create a sector", tags=SECTOR_TAGS,
       body=SectorCreate, response=SectorOut, status=201, role=Role.admin)
def create_sector(req: Req, site_id: str) -> SectorOut:
    return SectorOut.model_validate(sites.create_sector(req.account_id, site_id, **req.body.model_dump()))


@route(bp, "/v1/sites/{site_id}/sectors/{sector_id}", "GET", summary="Get a sector", tags=SECTOR_TAGS,
       response=SectorOut)
def get_sector(req: Req, site_id: str, sector_id: str) -> SectorOut:
    return SectorOut.model_validate(sites.get_sector(req.account_id, site_id, sector_id))


@route(bp, "/v1/sites/{site_id}/sectors/{sector_id}", "PATCH", summary="Change a sector", tags=SECTOR_TAGS,
       body=SectorUpdate, response=SectorOut, role=Role.admin)
def update_sector(req: Req, site_id: str, sector_id: str) -> SectorOut:
    return SectorOut.model_validate(sites.update_sector(req.account_id, site_id, sector_id, _changes(req.body)))


@route(bp, "/v1/sites/{site_id}/sectors/{sector_id}", "DELETE", summary="Delete a sector", tags=SECTOR_TAGS,
       response=Deleted, role=Role.admin)
def delete_sector(req: Req, site_id: str, sector_id: str) -> Deleted:
    sites.delete_sector(req.account_id, site_id, sector_id)
    return Deleted(id=sector_id)
