"""/v1/sites/{site_id}/jobs: start a generation stage on chosen items and follow it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from chalice import Blueprint
from pydantic import Field

from chalicelib.api.routing import Req, routes
from chalicelib.api.schemas import Body, Id, ListQuery, Out, Page
from chalicelib.auth.roles import Role
from chalicelib.registry import STAGE_NAMES
from chalicelib.services import listings
from chalicelib.services.pipeline import jobs
from chalicelib.services.pipeline.stages import get_stage

bp = Blueprint(__name__)
site_route = routes(bp, scope="site")
TAGS = ["jobs"]

Stage = Literal[STAGE_NAMES]  # type: ignore[valid-type]
Ids = list[Id]  # an empty or odd id never reaches DynamoDB as a key


class JobFilter(Body):
    sector_id: str | None = Field(None, max_length=64)
    status: str | None = Field(None, max_length=32, description="content status (image stages)")
    limit: int | None = Field(None, ge=1, le=2000)
    ideas_per_cluster: int | None = Field(None, ge=1, le=10)


class JobCreate(Body):
    stage: Stage
    item_ids: Ids | None = Field(None, min_length=1, max_length=1000,
                                 description="Ids of the stage's input records (keywords, clusters, ideas, "
                                             "tasks or content); or give a filter.")
    filter: JobFilter | None = None


class JobItemOut(Out):
    item_id: str
    status: str
    attempts: int
    error: str | None
    error_code: str | None
    credits: int
    result: dict[str, Any]
    finished_at: datetime | None


class JobOut(Out):
    job_id: str
    site_id: str
    stage: str
    status: str
    total: int
    done: int
    failed: int
    skipped: int
    credits_spent: int
    estimate: dict[str, int]
    created_at: datetime
    finished_at: datetime | None


class JobDetail(JobOut):
    failed_items: list[JobItemOut] = Field(description="Up to 50 failed items with their reasons.")


class ItemsQuery(ListQuery):
    status: Literal["queued", "running", "done", "failed", "skipped"] | None = None


class RetryBody(Body):
    item_ids: Ids | None = Field(None, min_length=1, max_length=1000)


class RetryOut(Out):
    requeued: list[str]


@site_route("/v1/sites/{site_id}/jobs", "POST", summary="Start a stage on chosen items (402 if credits are short)",
            tags=TAGS, body=JobCreate, response=JobOut, status=202, role=Role.editor, rate_limit="jobs",
            extra_responses={402: "The credit balance cannot cover the estimate (code insufficient_credits)",
                        409: "Other jobs already work on every item of the selection (code items_claimed; "
                             "details.held_by names them). Items some other job holds are skipped, with that reason."})
def create_job(req: Req, site_id: str) -> JobOut:
    body: JobCreate = req.body
    req.require_module(get_stage(body.stage).module)
    selection: dict[str, Any] = body.filter.model_dump(exclude_none=True) if body.filter else {}
    if body.item_ids:
        selection[get_stage(body.stage).ids_field] = body.item_ids
    job = jobs.create_job(req.account_id, site_id, body.stage, selection, user_id=req.tenant.user_id)
    return JobOut.model_validate(job)


@site_route("/v1/sites/{site_id}/jobs", "GET", summary="Jobs of a site, newest first", tags=TAGS, query=ListQuery,
            response=Page[JobOut])
def list_jobs(req: Req, site_id: str) -> Any:
    return listings.jobs(req.account_id, site_id, limit=req.query.limit, cursor=req.query.cursor)


@site_route("/v1/sites/{site_id}/jobs/{job_id}", "GET", summary="A job's status, progress and failed items",
            tags=TAGS, response=JobDetail)
def get_job(req: Req, site_id: str, job_id: str) -> JobDetail:
    job = jobs.get_job(req.account_id, site_id, job_id)
    failed = listings.failed_job_items(req.account_id, job_id) if job.failed else []
    return JobDetail(**JobOut.model_validate(job).model_dump(),
                     failed_items=[JobItemOut.model_validate(i) for i in failed])


@site_route("/v1/sites/{site_id}/jobs/{job_id}/items", "GET", summary="A job's items with their state",
            tags=TAGS, query=ItemsQuery, response=Page[JobItemOut])
def list_items(req: Req, site_id: str, job_id: str) -> Any:
    jobs.get_job(req.account_id, site_id, job_id)
    return listings.job_items(req.account_id, job_id, req.query.status, limit=req.query.limit,
                              cursor=req.query.cursor)


@site_route("/v1/sites/{site_id}/jobs/{job_id}/retry", "POST", summary="Queue failed items again",
            tags=TAGS, body=RetryBody, response=RetryOut, role=Role.editor)
def retry(req: Req, site_id: str, job_id: str) -> RetryOut:
    return RetryOut(requeued=jobs.retry_failed(req.account_id, site_id, job_id, req.body.item_ids))


@site_route("/v1/sites/{site_id}/jobs/{job_id}/cancel", "POST",
            summary="Cancel a running job (queued items are skipped)", tags=TAGS, response=JobOut, role=Role.editor)
def cancel(req: Req, site_id: str, job_id: str) -> JobOut:
    return JobOut.model_validate(jobs.cancel_job(req.account_id, site_id, job_id))
