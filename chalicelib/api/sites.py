"""/v1/sites and /v1/sites/{site_id}/sectors; deleting them (202 and a deletion to poll)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from chalicelib.api.routing import Req, route, routes
from chalicelib.api.schemas import Body, ListQuery, Out, Page, changes
from chalicelib.auth.roles import Role
from chalicelib.models.deletions import sector_target, site_target
from chalicelib.services import deletion, generation, listings, sites

bp = Blueprint(__name__)
site_route = routes(bp, scope="site")
SITE_TAGS, SECTOR_TAGS = ["sites"], ["sectors"]
Status = Field(description="active; inactive (read only: nothing can be changed or started in it, its scheduled "
                           "content waits); deleting (a deletion was accepted: poll its deletion)")

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
    author_profile_id: str | None = Field(None, max_length=64, description="The site's author profile (account "
                                                                          "or global); null: the account's default")
    strategy_id: str | None = Field(None, max_length=64, description="A global content strategy (GET /v1/strategies)")
    post_types: dict[str, str] | None = Field(None, description="Content type -> WordPress post type the site "
                                                                "publishes it as (one its synced structure lists)")


class SiteOut(Out):
    site_id: str
    name: str
    domain: str
    industry_id: str | None
    time_zone: str
    is_active: bool
    author_profile_id: str | None = None
    strategy_id: str | None = None
    post_types: dict[str, str] = Field(default_factory=dict)
    status: Literal["active", "inactive", "deleting"] = Status
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
    author_profile_id: str | None = Field(None, max_length=64, description="Beats the site's; null: the site's")


class SectorOut(Out):
    sector_id: str
    site_id: str
    name: str
    description: str
    is_active: bool
    author_profile_id: str | None = None
    status: Literal["active", "inactive", "deleting"] = Status
    created_at: datetime
    updated_at: datetime


class DeletionOut(BaseModel):
    kind: Literal["site", "sector"]
    site_id: str
    sector_id: str | None
    status: Literal["stopping", "deleting", "completed"] = Field(
        description="stopping: accepted, nothing new starts; work already running ends within the grace period "
                    "(until sweep_after). deleting: its records are being deleted. completed: nothing of it is left "
                    "but this record (until expires_at) and its credit ledger entries")
    requested_at: datetime
    sweep_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    steps_done: int
    steps_total: int
    stalled: bool = Field(False, description="its worker died on every delivery several times: it waits; DELETE "
                                                   "again resumes it from where it stopped")
    current_step: str | None
    deleted: dict[str, int] = Field(description="records deleted so far, by table (and files, released slots)")
    poll: str = Field(description="where to follow it: GET this path")


class SectorDeleteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cascade: bool = Field(False, description="Delete the sector's keywords, clusters, ideas, tasks, content and images "
                                             "with it; without it a sector that has any is a 409 sector_not_empty")


@route(bp, "/v1/sites", "GET", summary="List the account's sites", tags=SITE_TAGS, query=ListQuery,
       response=Page[SiteOut])
def list_sites(req: Req) -> Any:
    return listings.sites(req.account_id, limit=req.query.limit, cursor=req.query.cursor)


@route(bp, "/v1/sites", "POST", summary="Create a site (counts against the plan)", tags=SITE_TAGS,
       body=SiteCreate, response=SiteOut, status=201, role=Role.admin,
       extra_responses={402: "plan_limit_reached: the plan's max_sites is reached"})
def create_site(req: Req) -> SiteOut:
    return SiteOut.model_validate(sites.create_site(req.account_id, **req.body.model_dump()))


@site_route("/v1/sites/{site_id}", "GET", summary="Get a site (status deleting while its deletion runs)",
            tags=SITE_TAGS, response=SiteOut, site_guard=None)
def get_site(req: Req, site_id: str) -> SiteOut:
    return SiteOut.model_validate(sites.get_site(req.account_id, site_id, include_deleting=True))


@site_route("/v1/sites/{site_id}", "PATCH", summary="Change a site (is_active=false: read only, its work waits)",
            tags=SITE_TAGS, body=SiteUpdate, response=SiteOut, role=Role.admin, site_guard="manage")
def update_site(req: Req, site_id: str) -> SiteOut:
    wanted = generation.check_site_changes(req.account_id, site_id, changes(
        req.body, nullable=("author_profile_id", "strategy_id")))
    return SiteOut.model_validate(sites.update_site(req.account_id, site_id, wanted))


@site_route("/v1/sites/{site_id}", "DELETE", summary="Delete a site and everything it owns (202: stopped at once, "
            "deleted in the background; poll GET .../deletion)", tags=SITE_TAGS, response=DeletionOut, status=202,
            role=Role.admin, site_guard=None)
def delete_site(req: Req, site_id: str) -> DeletionOut:
    return DeletionOut(**deletion.view(deletion.request_site_deletion(req.account_id, site_id,
                                                                      user_id=req.tenant.user_id)))


@site_route("/v1/sites/{site_id}/deletion", "GET", summary="Progress of the site's deletion (kept 30 days after it "
            "completed)", tags=SITE_TAGS, response=DeletionOut, site_guard=None)
def get_site_deletion(req: Req, site_id: str) -> DeletionOut:
    return DeletionOut(**deletion.view(deletion.get_deletion(req.account_id, site_target(site_id), "Site")))


@site_route("/v1/sites/{site_id}/sectors", "GET", summary="List a site's sectors", tags=SECTOR_TAGS,
            query=ListQuery, response=Page[SectorOut])
def list_sectors(req: Req, site_id: str) -> Any:
    return listings.sectors(req.account_id, site_id, limit=req.query.limit, cursor=req.query.cursor)


@site_route("/v1/sites/{site_id}/sectors", "POST", summary="Create a sector", tags=SECTOR_TAGS,
            body=SectorCreate, response=SectorOut, status=201, role=Role.admin)
def create_sector(req: Req, site_id: str) -> SectorOut:
    return SectorOut.model_validate(sites.create_sector(req.account_id, site_id, **req.body.model_dump()))


@site_route("/v1/sites/{site_id}/sectors/{sector_id}", "GET", summary="Get a sector (status deleting while its "
            "deletion runs)", tags=SECTOR_TAGS, response=SectorOut, site_guard=None)
def get_sector(req: Req, site_id: str, sector_id: str) -> SectorOut:
    sites.get_site(req.account_id, site_id)
    return SectorOut.model_validate(sites.get_sector(req.account_id, site_id, sector_id))


@site_route("/v1/sites/{site_id}/sectors/{sector_id}", "PATCH", summary="Change a sector (is_active=false: read "
            "only, its work waits)", tags=SECTOR_TAGS, body=SectorUpdate, response=SectorOut, role=Role.admin,
            site_guard="manage")
def update_sector(req: Req, site_id: str, sector_id: str) -> SectorOut:
    wanted = generation.check_sector_changes(req.account_id, changes(req.body, nullable=("author_profile_id",)))
    return SectorOut.model_validate(sites.update_sector(req.account_id, site_id, sector_id, wanted))


@site_route("/v1/sites/{site_id}/sectors/{sector_id}", "DELETE", summary="Delete a sector (?cascade=true: with its "
            "records; 202, deleted in the background)", tags=SECTOR_TAGS, query=SectorDeleteQuery, response=DeletionOut,
            status=202, role=Role.admin, site_guard=None,
            extra_responses={409: "sector_not_empty: it has records and cascade is not true; site_deleting"})
def delete_sector(req: Req, site_id: str, sector_id: str) -> DeletionOut:
    accepted = deletion.request_sector_deletion(req.account_id, site_id, sector_id, cascade=req.query.cascade,
                                                user_id=req.tenant.user_id)
    return DeletionOut(**deletion.view(accepted))


@site_route("/v1/sites/{site_id}/sectors/{sector_id}/deletion", "GET", summary="Progress of the sector's deletion",
            tags=SECTOR_TAGS, response=DeletionOut, site_guard=None)
def get_sector_deletion(req: Req, site_id: str, sector_id: str) -> DeletionOut:
    return DeletionOut(**deletion.view(deletion.get_deletion(req.account_id, sector_target(site_id, sector_id),
                                                             "Sector")))
