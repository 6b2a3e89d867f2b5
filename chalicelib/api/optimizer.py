"""/v1/sites/{site_id}/content/optimize and an article's /revisions (module="optimizer")."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.jobs import JobOut
from chalicelib.api.routing import Req, routes
from chalicelib.api.schemas import Body, Id, Out
from chalicelib.auth.roles import Role
from chalicelib.services.optimizer import service

bp = Blueprint(__name__)
site_route = routes(bp, scope="site", module="optimizer")
TAGS = ["optimizer"]


class OptimizeIn(Body):
    content_ids: list[Id] = Field(min_length=1, max_length=500, description="The articles to optimize")


class RevisionOut(Out):
    revision_id: str
    content_id: str
    reason: str
    job_id: str | None
    title: str
    meta_title: str
    meta_description: str
    score_before: int | None
    score_after: int | None
    diff: str
    status: str
    created_at: datetime


class RevisionList(BaseModel):
    items: list[RevisionOut]


class RestoreOut(BaseModel):
    restored: str
    score: int


def _revision_out(r) -> RevisionOut:
    out = RevisionOut.model_validate(r)
    return out.model_copy(update={"revision_id": r.revision_id.split("#", 1)[1]})


@site_route("/v1/sites/{site_id}/content/optimize", "POST", tags=TAGS, body=OptimizeIn, response=JobOut, status=202,
            role=Role.editor, summary="Optimize chosen articles: the AI mends each one's weakest score factors; a "
                                      "result is kept only if it scores higher (optimization credits)",
            extra_responses={402: "The credit balance cannot cover the estimate (code insufficient_credits)"})
def optimize(req: Req, site_id: str) -> JobOut:
    return JobOut.model_validate(service.start(req.account_id, site_id, req.body.content_ids,
                                               user_id=req.tenant.user_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/revisions", "GET", tags=TAGS, response=RevisionList,
            summary="The article's earlier versions (before each optimisation or restore), newest first")
def list_revisions(req: Req, site_id: str, content_id: Id) -> RevisionList:
    return RevisionList(items=[_revision_out(r) for r in service.list_revisions(req.account_id, site_id,
                                                                                content_id)])


@site_route("/v1/sites/{site_id}/content/{content_id}/revisions/{revision_id}/restore", "POST", tags=TAGS,
            response=RestoreOut, role=Role.editor,
            summary="Put an earlier version back (the current one is kept as a revision)")
def restore(req: Req, site_id: str, content_id: Id, revision_id: Id) -> RestoreOut:
    return RestoreOut.model_validate(service.restore(req.account_id, site_id, content_id, revision_id))
