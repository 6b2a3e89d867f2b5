"""/v1/sites/{site_id}/keywords, /clusters, /ideas, /seed-keywords; staff seed library.

Every site route is declared with ``scope="site"`` and the planner module: another account's
site is a 404, a switched-off planner a 403 module_disabled (api.routing). The records' CRUD
routes are generated (api.resources); imports, cluster membership and seeds are written here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.resources import BulkOut, Resource, bulk_out, site_resource
from chalicelib.api.routing import Req, route, routes
from chalicelib.api.schemas import Body, Deleted, Id, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.models.planner import IDEA_STATUSES, KEYWORD_STATUSES
from chalicelib.services import keyword_import, planner, sites

bp = Blueprint(__name__)
site_route = routes(bp, scope="site", module="planner")
KW_TAGS, CLUSTER_TAGS, IDEA_TAGS, SEED_TAGS = ["keywords"], ["clusters"], ["ideas"], ["seed keywords"]

KeywordStatus = Literal["pending", "clustered", "used", "archived"]
IdeaStatus = Literal["pending", "approved", "used", "archived"]
assert set(KeywordStatus.__args__) == set(KEYWORD_STATUSES) and set(IdeaStatus.__args__) == set(IDEA_STATUSES)

MAX_IMPORT_BODY = 5 * 1024 * 1024  # 10,000 rows with metrics and sector ids stay well under this


# --- keywords ---------------------------------------------------------------------------

class KeywordMetrics(Body):
    search_volume: int | None = Field(None, ge=0, le=keyword_import.MAX_SEARCH_VOLUME)
    difficulty: int | None = Field(None, ge=0, le=100)
    cpc: float | None = Field(None, ge=0, le=keyword_import.MAX_CPC)


class KeywordCreate(KeywordMetrics):
    keyword: str = Field(min_length=1, max_length=keyword_import.MAX_KEYWORD_LENGTH)
    sector_id: Id


class KeywordUpdate(KeywordMetrics):
    keyword: str | None = Field(None, min_length=1, max_length=keyword_import.MAX_KEYWORD_LENGTH)
    sector_id: Id | None = None
    status: KeywordStatus | None = Field(None, description="pending, used or archived; 'clustered' comes from "
                                                           "adding the keyword to a cluster")


class KeywordOut(Out):
    keyword_id: str
    site_id: str
    sector_id: str
    cluster_id: str | None
    keyword: str
    normalized: str
    search_volume: int | None
    difficulty: int | None
    cpc: float | None
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class KeywordListQuery(ListQuery):
    sector_id: Id | None = None
    status: KeywordStatus | None = None
    cluster_id: Id | None = None


class KeywordImportRow(BaseModel):
    keyword: str
    search_volume: int | None = None
    difficulty: int | None = None
    cpc: float | None = None
    sector_id: str | None = None


class KeywordImport(Body):
    sector_id: Id | None = Field(None, description="Sector of every row that does not name its own")
    keywords: list[Any] = Field(description=f"Up to {keyword_import.MAX_ROWS:,} rows: a keyword string or an "
                                            "object like KeywordImportRow. Invalid rows are rejected one by one.")


class CsvImportQuery(BaseModel):
    sector_id: Id | None = None


class ImportIssue(BaseModel):
    row: int
    line: int | None = None
    keyword: str
    reason: str


class ImportOut(BaseModel):
    total_rows: int
    created: int
    skipped_duplicates: int
    rejected: int
    rejected_rows: list[ImportIssue]
    duplicate_rows: list[ImportIssue]


def _import_out(result: keyword_import.ImportResult) -> ImportOut:
    return ImportOut(
        total_rows=result.total_rows, created=result.created, skipped_duplicates=result.skipped_duplicates,
        rejected=result.rejected,
        rejected_rows=[ImportIssue(**vars(r)) for r in result.rejected_rows],
        duplicate_rows=[ImportIssue(**vars(d)) for d in result.duplicate_rows])


class FromSeeds(Body):
    sector_id: Id
    limit: int = Field(100, ge=1, le=1000, description="Take the industry's top seeds by search volume")


site_resource(site_route, Resource(
    "keywords", planner.KEYWORD_RECORDS, out=KeywordOut, create=KeywordCreate, update=KeywordUpdate,
    query=KeywordListQuery, statuses=KeywordStatus, max_bulk=planner.MAX_BULK_KEYWORDS, tags=KW_TAGS,
    nullable=frozenset({"search_volume", "difficulty", "cpc"}), summaries={
        "list": "List keywords (newest first; filter by sector, status or cluster)",
        "create": "Add one keyword (409 duplicate_keyword if the sector has it)",
        "get": "Get a keyword",
        "update": "Change a keyword (text, sector, metrics, status)",
        "delete": "Delete a keyword",
        "bulk_status": "Change the status of many keywords",
        "bulk_delete": "Delete many keywords"}))

IMPORT_PATH = "/v1/sites/{site_id}/keywords/import"


@site_route(IMPORT_PATH, "POST", summary=f"Import up to {keyword_import.MAX_ROWS:,} keywords (JSON); "
            "duplicates are skipped, invalid rows rejected with their row number", tags=KW_TAGS,
            body=KeywordImport, max_body=MAX_IMPORT_BODY, response=ImportOut, role=Role.editor,
            rate_limit="keyword_imports",
            extra_responses={413: "More rows than an import takes"})
def import_keywords(req: Req, site_id: str) -> ImportOut:
    parsed = keyword_import.rows_from_json(req.body.keywords, req.body.sector_id)
    return _import_out(planner.import_keywords(req.account_id, site_id, parsed, created_by=req.tenant.user_id))


@site_route("/v1/sites/{site_id}/keywords/import.csv", "POST", summary="Import keywords from a CSV upload "
            "(header: keyword,search_volume,difficulty,cpc[,sector_id])", tags=KW_TAGS, query=CsvImportQuery,
            response=ImportOut, role=Role.editor, content_types=["text/csv", "text/plain", "application/vnd.ms-excel"],
            rate_limit="keyword_imports",
            extra_responses={413: "More rows than an import takes"})
def import_keywords_csv(req: Req, site_id: str) -> ImportOut:
    parsed = keyword_import.rows_from_csv(req.raw_body or b"", req.query.sector_id)
    return _import_out(planner.import_keywords(req.account_id, site_id, parsed, created_by=req.tenant.user_id))


@site_route("/v1/sites/{site_id}/keywords/from-seeds", "POST", summary="Add the site industry's seed keywords "
            "to a sector (same duplicate-free import)", tags=KW_TAGS, body=FromSeeds, response=ImportOut,
            role=Role.editor, rate_limit="keyword_imports")
def keywords_from_seeds(req: Req, site_id: str) -> ImportOut:
    result = planner.add_keywords_from_seeds(req.account_id, site_id, req.site.industry_id, req.body.sector_id,
                                             req.body.limit, created_by=req.tenant.user_id)
    return _import_out(result)


# --- clusters ---------------------------------------------------------------------------

class ClusterCreate(Body):
    sector_id: Id
    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=5000)


class ClusterUpdate(Body):
    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=5000)


class ClusterOut(Out):
    cluster_id: str
    site_id: str
    sector_id: str
    name: str
    description: str
    keyword_count: int
    idea_count: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ClusterListQuery(ListQuery):
    sector_id: Id | None = None
    without_ideas: bool | None = Field(None, description="true: only clusters that have no ideas yet")


class ClusterKeywords(Body):
    keyword_ids: list[Id] = Field(min_length=1, max_length=planner.MAX_BULK_KEYWORDS)


site_resource(site_route, Resource(
    "clusters", planner.CLUSTER_RECORDS, out=ClusterOut, create=ClusterCreate, update=ClusterUpdate,
    query=ClusterListQuery, tags=CLUSTER_TAGS, summaries={
        "list": "List clusters (newest first; by sector; without ideas)",
        "create": "Create a cluster",
        "get": "Get a cluster",
        "update": "Rename or describe a cluster",
        "delete": "Delete a cluster: its keywords return to pending, its ideas are kept without a cluster",
        "bulk_delete": "Delete many clusters (same cascade)"}))


@site_route("/v1/sites/{site_id}/clusters/{cluster_id}/keywords", "POST", summary="Add keywords to the cluster "
            "(pending -> clustered; keywords in another cluster move)", tags=CLUSTER_TAGS, body=ClusterKeywords,
            response=BulkOut, role=Role.editor)
def add_cluster_keywords(req: Req, site_id: str, cluster_id: str) -> BulkOut:
    return bulk_out(planner.assign_keywords(req.account_id, site_id, cluster_id, req.body.keyword_ids))


@site_route("/v1/sites/{site_id}/clusters/{cluster_id}/keywords/remove", "POST", summary="Take keywords out "
            "of the cluster (clustered -> pending)", tags=CLUSTER_TAGS, body=ClusterKeywords, response=BulkOut,
            role=Role.editor)
def remove_cluster_keywords(req: Req, site_id: str, cluster_id: str) -> BulkOut:
    return bulk_out(planner.remove_keywords(req.account_id, site_id, cluster_id, req.body.keyword_ids))


# --- ideas ------------------------------------------------------------------------------

class IdeaFields(Body):
    title: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=10000)
    content_type: str | None = Field(None, max_length=50, description="article, guide, listicle, ...")
    primary_keyword: str | None = Field(None, max_length=255)
    secondary_keywords: list[Annotated[str, Field(max_length=255)]] | None = Field(None, max_length=50)
    keyword_ids: list[Id] | None = Field(None, max_length=50)


class IdeaCreate(IdeaFields):
    title: str = Field(min_length=1, max_length=255)
    sector_id: Id | None = Field(None, description="Required unless cluster_id is given (then the cluster's)")
    cluster_id: Id | None = None


class IdeaUpdate(IdeaFields):
    status: IdeaStatus | None = None


class IdeaOut(Out):
    idea_id: str
    site_id: str
    sector_id: str
    cluster_id: str | None
    title: str
    description: str
    content_type: str
    primary_keyword: str
    secondary_keywords: list[str]
    keyword_ids: list[str]
    status: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class IdeaListQuery(ListQuery):
    sector_id: Id | None = None
    status: IdeaStatus | None = None
    cluster_id: Id | None = None


site_resource(site_route, Resource(
    "ideas", planner.IDEA_RECORDS, out=IdeaOut, create=IdeaCreate, update=IdeaUpdate, query=IdeaListQuery,
    statuses=IdeaStatus, tags=IDEA_TAGS, summaries={
        "list": "List content ideas (newest first; by sector, status, cluster)",
        "create": "Create a content idea",
        "get": "Get a content idea",
        "update": "Change a content idea (fields, status)",
        "delete": "Delete an idea: its tasks are kept without an idea",
        "bulk_status": "Change the status of many ideas",
        "bulk_delete": "Delete many ideas (same cascade)"}))


# --- seed keywords ----------------------------------------------------------------------

class SeedOut(Out):
    seed_id: str
    industry_id: str
    keyword: str
    search_volume: int | None
    difficulty: int | None
    cpc: float | None
    created_at: datetime


class SeedAdd(Body):
    keywords: list[Any] = Field(min_length=1, max_length=1000,
                                description="Keyword strings or {keyword, search_volume, difficulty, cpc}")


class SeedAddOut(BaseModel):
    created: int
    skipped_duplicates: int
    rejected: int
    rejected_rows: list[ImportIssue]


@site_route("/v1/sites/{site_id}/seed-keywords", "GET", summary="The site industry's seed keywords",
            tags=SEED_TAGS, query=ListQuery, response=Page[SeedOut])
def list_site_seeds(req: Req, site_id: str) -> Any:
    return planner.list_seeds(req.site.industry_id, limit=req.query.limit, cursor=req.query.cursor)


@route(bp, "/v1/admin/industries/{industry_id}/seed-keywords", "GET", summary="List an industry's seed "
       "keywords (staff)", tags=SEED_TAGS, query=ListQuery, response=Page[SeedOut], auth="staff")
def list_seeds(req: Req, industry_id: str) -> Any:
    sites.get_industry(industry_id)
    return planner.list_seeds(industry_id, limit=req.query.limit, cursor=req.query.cursor)


@route(bp, "/v1/admin/industries/{industry_id}/seed-keywords", "POST", summary="Add seed keywords to an "
       "industry (staff; duplicates skipped)", tags=SEED_TAGS, body=SeedAdd, response=SeedAddOut, status=201,
       auth="staff")
def add_seeds(req: Req, industry_id: str) -> SeedAddOut:
    return SeedAddOut.model_validate(planner.add_seeds(industry_id, req.body.keywords))


@route(bp, "/v1/admin/industries/{industry_id}/seed-keywords/{seed_id}", "DELETE", summary="Remove a seed "
       "keyword (staff)", tags=SEED_TAGS, response=Deleted, auth="staff")
def delete_seed(req: Req, industry_id: str, seed_id: str) -> Deleted:
    planner.delete_seed(industry_id, seed_id)
    return Deleted(id=seed_id)
