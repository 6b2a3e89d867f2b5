"""/v1/sites/{site_id}/content/{content_id}/links, /links/settings, /links/report (module="linker")."""

from __future__ import annotations

from datetime import datetime

from chalice import Blueprint
from pydantic import BaseModel, Field

from chalicelib.api.routing import Req, routes
from chalicelib.api.schemas import Body, Id, Out, changes
from chalicelib.auth.roles import Role
from chalicelib.services.linker import service

bp = Blueprint(__name__)
site_route = routes(bp, scope="site", module="linker")
TAGS = ["linker"]


class SuggestionOut(Out):
    suggestion_id: str
    source_id: str
    target_id: str
    target_title: str
    anchor: str
    relevance: float
    reason: str
    status: str
    href: str | None
    accepted_by: str | None
    accepted_at: datetime | None
    removed_reason: str | None


class SuggestionList(BaseModel):
    items: list[SuggestionOut]


class LinkSettingsIn(Body):
    max_links: int | None = Field(None, ge=1, le=service.MAX_LINKS_LIMIT,
                                  description="Links an article gets at most (its own accepted ones count)")
    auto_accept: int | None = Field(None, ge=0, le=service.MAX_LINKS_LIMIT,
                                    description="How many of the best suggestions are accepted without review "
                                                "(0: every one waits for a person)")


class LinkSettingsOut(Out):
    max_links: int
    auto_accept: int


class ReportRow(BaseModel):
    content_id: str
    title: str
    site_status: str
    inbound: int
    outbound: int


class BrokenLink(BaseModel):
    source_id: str
    target_id: str
    href: str | None
    reason: str
    expected: str | None = None


class ReportOut(BaseModel):
    articles: list[ReportRow]
    orphans: list[str]
    broken: list[BrokenLink]
    totals: dict[str, int]


def _list(items: list) -> SuggestionList:
    return SuggestionList(items=[SuggestionOut.model_validate(s) for s in items])


@site_route("/v1/sites/{site_id}/content/{content_id}/links/suggest", "POST", tags=TAGS, response=SuggestionList,
            role=Role.editor, summary="Suggest internal links from this article to the site's others (replaces the "
                                      "open suggestions; the site's auto_accept accepts the best)")
def suggest(req: Req, site_id: str, content_id: Id) -> SuggestionList:
    return _list(service.suggest(req.account_id, site_id, content_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/links", "GET", tags=TAGS, response=SuggestionList,
            summary="The article's link suggestions and accepted links, most relevant first")
def list_links(req: Req, site_id: str, content_id: Id) -> SuggestionList:
    return _list(service.list_suggestions(req.account_id, site_id, content_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/links/{target_id}/accept", "POST", tags=TAGS,
            response=SuggestionOut, role=Role.editor,
            summary="Accept a suggestion: the link goes into the article's body (once, however often retried)")
def accept(req: Req, site_id: str, content_id: Id, target_id: Id) -> SuggestionOut:
    found = service.get_suggestion(req.account_id, site_id, service.suggestion_id(content_id, target_id))
    return SuggestionOut.model_validate(service.accept(req.account_id, site_id, found.suggestion_id,
                                                       by=req.tenant.user_id))


@site_route("/v1/sites/{site_id}/content/{content_id}/links/{target_id}/dismiss", "POST", tags=TAGS,
            response=SuggestionOut, role=Role.editor, summary="Dismiss a suggestion (it is not suggested again)")
def dismiss(req: Req, site_id: str, content_id: Id, target_id: Id) -> SuggestionOut:
    return SuggestionOut.model_validate(service.dismiss(req.account_id, site_id,
                                                        service.suggestion_id(content_id, target_id)))


@site_route("/v1/sites/{site_id}/links/settings", "GET", tags=TAGS, response=LinkSettingsOut,
            summary="The site's linking rules (links per article, automatic acceptance)")
def get_settings(req: Req, site_id: str) -> LinkSettingsOut:
    return LinkSettingsOut.model_validate(service.get_settings(req.account_id, site_id))


@site_route("/v1/sites/{site_id}/links/settings", "PATCH", tags=TAGS, body=LinkSettingsIn, response=LinkSettingsOut,
            role=Role.admin, summary="Change the site's linking rules")
def update_settings(req: Req, site_id: str) -> LinkSettingsOut:
    return LinkSettingsOut.model_validate(service.update_settings(req.account_id, site_id,
                                                              changes(req.body, refuse_null=True)))


@site_route("/v1/sites/{site_id}/links/report", "GET", tags=TAGS, response=ReportOut,
            summary="Internal links per article (inbound, outbound), orphans (no inbound link), broken links")
def report(req: Req, site_id: str) -> ReportOut:
    return ReportOut.model_validate(service.report(req.account_id, site_id))
