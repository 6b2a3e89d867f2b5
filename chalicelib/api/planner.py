"""/v1/sites/{site_id}/keywords, /clusters, /ideas, /seed-keywords; staff seed library.

Every site route first checks the site is the caller's (404 otherwise), and is declared
with module="planner" so a switched-off planner answers 403 module_disabled.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.routing import ROUTES, Req, route
from chalicelib.api.schemas import Body, Deleted, ListQuery, Out, Page
from chalicelib.api.site_scoped import MAX_BULK, BulkIds, BulkOut, Id, bulk_out, changes, require_site
from chalicelib.auth.roles import Role
from chalicelib.errors import BadRequest, PayloadTooLarge, UnprocessableEntity
from chalicelib.models.pages import paginate
from chalicelib.models.planner import IDEA_STATUSES, KEYWORD_STATUSES, SeedKeyword, seed_scope
from chalicelib.services import keyword_import, planner, records, sites

bp = Blueprint(__name__)
KW_TAGS, CLUSTER_TAGS, IDEA_TAGS, SEED_TAGS = ["keywords"], ["clusters"], ["ideas"], ["seed keywords"]
MODULE = "planner"

KeywordStatus = Literal["pending", "clustered", "used", "archived"]
IdeaStatus = Literal["pending", "approved", "used", "archived"]
assert set(KeywordStatus.__args__) == set(KEYWORD_STATUSES) and set(IdeaStatus.__args__) == set(IDEA_STATUSES)

MAX_IMPORT_BODY = 5 * 1024 * 1024  # 10,000 rows with metrics and sector ids stay well under this


def _document_body(path: str, method: str, model: type[BaseModel]) -> None:
    """Show a body in the OpenAPI document for a route that parses its own (larger) body."""
    for spec in ROUTES:
        if spec.path == path and spec.method == method:
            spec.body = model


def _large_json(req: Req, model: type[BaseModel], max_bytes: int) -> Any:
    raw = req.raw_body or b""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes // (1024 * 1024)} MiB.")
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except UnicodeDecodeError:
        raise BadRequest("The body is not valid UTF-8.", code="invalid_encoding") from None  # as every route
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise UnprocessableEntity("The body must be a JSON object.")
    return model.model_validate(data)


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


class BulkKeywordStatus(Body):
    ids: list[Id] = Field(min_length=1, max_length=planner.MAX_BULK_KEYWORDS)
    status: KeywordStatus


class BulkKeywordIds(Body):
    ids: list[Id] = Field(min_length=1, max_length=planner.MAX_BULK_KEYWORDS)


class FromSeeds(Body):
    sector_id: Id
    limit: int = Field(100, ge=1, le=1000, description="Take the industry's top seeds by search volume")


def _keyword_page(page: Any) -> Page[KeywordOut]:
    return Page[KeywordOut](items=[KeywordOut.model_validate(k) for k in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/keywords", "GET", summary="List keywords (newest first; filter by sector, status "
       "or cluster)", tags=KW_TAGS, query=KeywordListQuery, response=Page[KeywordOut], module=MODULE)
def list_keywords(req: Req, site_id: str) -> Page[KeywordOut]:
    require_site(req, site_id)
    q = req.query
    page = records.list_page(planner.KEYWORDS, req.account_id, site_id,
                             {"sector_id": q.sector_id, "status": q.status, "cluster_id": q.cluster_id},
                             limit=q.limit, cursor=q.cursor)
    return _keyword_page(page)


@route(bp, "/v1/sites/{site_id}/keywords", "POST", summary="Add one keyword (409 duplicate_keyword if the "
       "sector has it)", tags=KW_TAGS, body=KeywordCreate, response=KeywordOut, status=201, role=Role.editor,
       module=MODULE)
def create_keyword(req: Req, site_id: str) -> KeywordOut:
    require_site(req, site_id)
    kw = planner.create_keyword(req.account_id, site_id, req.body.model_dump(), created_by=req.tenant.user_id)
    return KeywordOut.model_validate(kw)


@route(bp, "/v1/sites/{site_id}/keywords/{keyword_id}", "GET", summary="Get a keyword", tags=KW_TAGS,
       response=KeywordOut, module=MODULE)
def get_keyword(req: Req, site_id: str, keyword_id: str) -> KeywordOut:
    require_site(req, site_id)
    return KeywordOut.model_validate(planner.get_keyword(req.account_id, site_id, keyword_id))


@route(bp, "/v1/sites/{site_id}/keywords/{keyword_id}", "PATCH", summary="Change a keyword (text, sector, "
       "metrics, status)", tags=KW_TAGS, body=KeywordUpdate, response=KeywordOut, role=Role.editor, module=MODULE)
def update_keyword(req: Req, site_id: str, keyword_id: str) -> KeywordOut:
    require_site(req, site_id)
    fields = changes(req.body, {"search_volume", "difficulty", "cpc"})
    return KeywordOut.model_validate(planner.update_keyword(req.account_id, site_id, keyword_id, fields))


@route(bp, "/v1/sites/{site_id}/keywords/{keyword_id}", "DELETE", summary="Delete a keyword", tags=KW_TAGS,
       response=Deleted, role=Role.editor, module=MODULE)
def delete_keyword(req: Req, site_id: str, keyword_id: str) -> Deleted:
    require_site(req, site_id)
    planner.delete_keyword(req.account_id, site_id, keyword_id)
    return Deleted(id=keyword_id)


IMPORT_PATH = "/v1/sites/{site_id}/keywords/import"


@route(bp, IMPORT_PATH, "POST", summary=f"Import up to {keyword_import.MAX_ROWS:,} keywords (JSON); "
       "duplicates are skipped, invalid rows rejected with their row number", tags=KW_TAGS, response=ImportOut,
       role=Role.editor, module=MODULE, extra_responses={413: "More rows than an import takes"})
def import_keywords(req: Req, site_id: str) -> ImportOut:
    require_site(req, site_id)
    body = _large_json(req, KeywordImport, MAX_IMPORT_BODY)
    parsed = keyword_import.rows_from_json(body.keywords, body.sector_id)
    return _import_out(planner.import_keywords(req.account_id, site_id, parsed, created_by=req.tenant.user_id))


_document_body(IMPORT_PATH, "POST", KeywordImport)


@route(bp, "/v1/sites/{site_id}/keywords/import.csv", "POST", summary="Import keywords from a CSV upload "
       "(header: keyword,search_volume,difficulty,cpc[,sector_id])", tags=KW_TAGS, query=CsvImportQuery,
       response=ImportOut, role=Role.editor, module=MODULE,
       content_types=["text/csv", "text/plain", "application/vnd.ms-excel"],
       extra_responses={413: "More rows than an import takes"})
def import_keywords_csv(req: Req, site_id: str) -> ImportOut:
    require_site(req, site_id)
    parsed = keyword_import.rows_from_csv(req.raw_body or b"", req.query.sector_id)
    return _import_out(planner.import_keywords(req.account_id, site_id, parsed, created_by=req.tenant.user_id))


@route(bp, "/v1/sites/{site_id}/keywords/from-seeds", "POST", summary="Add the site industry's seed keywords "
       "to a sector (same duplicate-free import)", tags=KW_TAGS, body=FromSeeds, response=ImportOut,
       role=Role.editor, module=MODULE)
def keywords_from_seeds(req: Req, site_id: str) -> ImportOut:
    site = require_site(req, site_id)
    result = planner.add_keywords_from_seeds(req.account_id, site_id, site.industry_id, req.body.sector_id,
                                             req.body.limit, created_by=req.tenant.user_id)
    return _import_out(result)


@route(bp, "/v1/sites/{site_id}/keywords/bulk-status", "POST", summary="Change the status of many keywords",
       tags=KW_TAGS, body=BulkKeywordStatus, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_keyword_status(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    return bulk_out(planner.bulk_keyword_status(req.account_id, site_id, req.body.ids, req.body.status))


@route(bp, "/v1/sites/{site_id}/keywords/bulk-delete", "POST", summary="Delete many keywords", tags=KW_TAGS,
       body=BulkKeywordIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_keywords(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    return bulk_out(planner.bulk_delete_keywords(req.account_id, site_id, req.body.ids))


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


@route(bp, "/v1/sites/{site_id}/clusters", "GET", summary="List clusters (newest first; by sector; without "
       "ideas)", tags=CLUSTER_TAGS, query=ClusterListQuery, response=Page[ClusterOut], module=MODULE)
def list_clusters(req: Req, site_id: str) -> Page[ClusterOut]:
    require_site(req, site_id)
    q = req.query
    if q.without_ideas is False:
        raise UnprocessableEntity("without_ideas takes only 'true'; leave it out for every cluster.",
                                  code="unsupported_filter")
    page = records.list_page(planner.CLUSTERS, req.account_id, site_id,
                             {"sector_id": q.sector_id, "without_ideas": True if q.without_ideas else None},
                             limit=q.limit, cursor=q.cursor)
    return Page[ClusterOut](items=[ClusterOut.model_validate(c) for c in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/clusters", "POST", summary="Create a cluster", tags=CLUSTER_TAGS,
       body=ClusterCreate, response=ClusterOut, status=201, role=Role.editor, module=MODULE)
def create_cluster(req: Req, site_id: str) -> ClusterOut:
    require_site(req, site_id)
    cluster = planner.create_cluster(req.account_id, site_id, **req.body.model_dump(), created_by=req.tenant.user_id)
    return ClusterOut.model_validate(cluster)


@route(bp, "/v1/sites/{site_id}/clusters/{cluster_id}", "GET", summary="Get a cluster", tags=CLUSTER_TAGS,
       response=ClusterOut, module=MODULE)
def get_cluster(req: Req, site_id: str, cluster_id: str) -> ClusterOut:
    require_site(req, site_id)
    return ClusterOut.model_validate(planner.get_cluster(req.account_id, site_id, cluster_id))


@route(bp, "/v1/sites/{site_id}/clusters/{cluster_id}", "PATCH", summary="Rename or describe a cluster",
       tags=CLUSTER_TAGS, body=ClusterUpdate, response=ClusterOut, role=Role.editor, module=MODULE)
def update_cluster(req: Req, site_id: str, cluster_id: str) -> ClusterOut:
    require_site(req, site_id)
    return ClusterOut.model_validate(planner.update_cluster(req.account_id, site_id, cluster_id, changes(req.body)))


@route(bp, "/v1/sites/{site_id}/clusters/{cluster_id}", "DELETE", summary="Delete a cluster: its keywords "
       "return to pending, its ideas are kept without a cluster", tags=CLUSTER_TAGS, response=Deleted,
       role=Role.editor, module=MODULE)
def delete_cluster(req: Req, site_id: str, cluster_id: str) -> Deleted:
    require_site(req, site_id)
    planner.delete_cluster(req.account_id, site_id, cluster_id)
    return Deleted(id=cluster_id)


@route(bp, "/v1/sites/{site_id}/clusters/bulk-delete", "POST", summary="Delete many clusters (same cascade)",
       tags=CLUSTER_TAGS, body=BulkIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_clusters(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(planner.CLUSTERS, req.account_id, site_id, req.body.ids,
                                lambda c: planner.delete_cluster(req.account_id, site_id, c.cluster_id))
    return bulk_out(outcome)


@route(bp, "/v1/sites/{site_id}/clusters/{cluster_id}/keywords", "POST", summary="Add keywords to the cluster "
       "(pending -> clustered; keywords in another cluster move)", tags=CLUSTER_TAGS, body=ClusterKeywords,
       response=BulkOut, role=Role.editor, module=MODULE)
def add_cluster_keywords(req: Req, site_id: str, cluster_id: str) -> BulkOut:
    require_site(req, site_id)
    return bulk_out(planner.assign_keywords(req.account_id, site_id, cluster_id, req.body.keyword_ids))


@route(bp, "/v1/sites/{site_id}/clusters/{cluster_id}/keywords/remove", "POST", summary="Take keywords out of "
       "the cluster (clustered -> pending)", tags=CLUSTER_TAGS, body=ClusterKeywords, response=BulkOut,
       role=Role.editor, module=MODULE)
def remove_cluster_keywords(req: Req, site_id: str, cluster_id: str) -> BulkOut:
    require_site(req, site_id)
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


class BulkIdeaStatus(Body):
    ids: list[Id] = Field(min_length=1, max_length=MAX_BULK)
    status: IdeaStatus


@route(bp, "/v1/sites/{site_id}/ideas", "GET", summary="List content ideas (newest first; by sector, status, "
       "cluster)", tags=IDEA_TAGS, query=IdeaListQuery, response=Page[IdeaOut], module=MODULE)
def list_ideas(req: Req, site_id: str) -> Page[IdeaOut]:
    require_site(req, site_id)
    q = req.query
    page = records.list_page(planner.IDEAS, req.account_id, site_id,
                             {"sector_id": q.sector_id, "status": q.status, "cluster_id": q.cluster_id},
                             limit=q.limit, cursor=q.cursor)
    return Page[IdeaOut](items=[IdeaOut.model_validate(i) for i in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/ideas", "POST", summary="Create a content idea", tags=IDEA_TAGS, body=IdeaCreate,
       response=IdeaOut, status=201, role=Role.editor, module=MODULE)
def create_idea(req: Req, site_id: str) -> IdeaOut:
    require_site(req, site_id)
    idea = planner.create_idea(req.account_id, site_id, req.body.model_dump(), created_by=req.tenant.user_id)
    return IdeaOut.model_validate(idea)


@route(bp, "/v1/sites/{site_id}/ideas/{idea_id}", "GET", summary="Get a content idea", tags=IDEA_TAGS,
       response=IdeaOut, module=MODULE)
def get_idea(req: Req, site_id: str, idea_id: str) -> IdeaOut:
    require_site(req, site_id)
    return IdeaOut.model_validate(planner.get_idea(req.account_id, site_id, idea_id))


@route(bp, "/v1/sites/{site_id}/ideas/{idea_id}", "PATCH", summary="Change a content idea (fields, status)",
       tags=IDEA_TAGS, body=IdeaUpdate, response=IdeaOut, role=Role.editor, module=MODULE)
def update_idea(req: Req, site_id: str, idea_id: str) -> IdeaOut:
    require_site(req, site_id)
    return IdeaOut.model_validate(planner.update_idea(req.account_id, site_id, idea_id, changes(req.body)))


@route(bp, "/v1/sites/{site_id}/ideas/{idea_id}", "DELETE", summary="Delete an idea: its tasks are kept "
       "without an idea", tags=IDEA_TAGS, response=Deleted, role=Role.editor, module=MODULE)
def delete_idea(req: Req, site_id: str, idea_id: str) -> Deleted:
    require_site(req, site_id)
    planner.delete_idea(req.account_id, site_id, idea_id)
    return Deleted(id=idea_id)


@route(bp, "/v1/sites/{site_id}/ideas/bulk-status", "POST", summary="Change the status of many ideas",
       tags=IDEA_TAGS, body=BulkIdeaStatus, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_idea_status(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(planner.IDEAS, req.account_id, site_id, req.body.ids,
                                lambda i: planner.set_idea_status(i, req.body.status))
    return bulk_out(outcome)


@route(bp, "/v1/sites/{site_id}/ideas/bulk-delete", "POST", summary="Delete many ideas (same cascade)",
       tags=IDEA_TAGS, body=BulkIds, response=BulkOut, role=Role.editor, module=MODULE)
def bulk_delete_ideas(req: Req, site_id: str) -> BulkOut:
    require_site(req, site_id)
    outcome = records.bulk_each(planner.IDEAS, req.account_id, site_id, req.body.ids,
                                lambda i: planner.delete_idea(req.account_id, site_id, i.idea_id))
    return bulk_out(outcome)


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


def _seed_page(industry_id: str, q: ListQuery) -> Page[SeedOut]:
    page = paginate(lambda **kw: SeedKeyword.query(seed_scope(industry_id), **kw),
                    scope=f"seeds:{industry_id}", limit=q.limit, cursor=q.cursor)
    return Page[SeedOut](items=[SeedOut.model_validate(s) for s in page.items], next_cursor=page.next_cursor)


@route(bp, "/v1/sites/{site_id}/seed-keywords", "GET", summary="The site industry's seed keywords",
       tags=SEED_TAGS, query=ListQuery, response=Page[SeedOut], module=MODULE)
def list_site_seeds(req: Req, site_id: str) -> Page[SeedOut]:
    site = require_site(req, site_id)
    if not site.industry_id:
        return Page[SeedOut](items=[], next_cursor=None)
    return _seed_page(site.industry_id, req.query)


@route(bp, "/v1/admin/industries/{industry_id}/seed-keywords", "GET", summary="List an industry's seed "
       "keywords (staff)", tags=SEED_TAGS, query=ListQuery, response=Page[SeedOut], auth="staff")
def list_seeds(req: Req, industry_id: str) -> Page[SeedOut]:
    sites.get_industry(industry_id)
    return _seed_page(industry_id, req.query)


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
