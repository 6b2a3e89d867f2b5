"""/v1/openapi.json, /v1/docs (works offline: no CDN) and /v1/health."""

from __future__ import annotations

from pathlib import Path

from chalice import Blueprint, Response

from chalicelib.api.openapi import build_openapi
from chalicelib.api.routing import Req, json_response, route
from chalicelib.api.schemas import Out

bp = Blueprint(__name__)
TAGS = ["meta"]
_DOCS = Path(__file__).with_name("static") / "docs.html"
# The page loads nothing from elsewhere (it works offline) and calls only this API: the browser holds it
# to that, so a page that fetched a CDN asset or sent the token to another origin would break visibly.
DOCS_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class HealthOut(Out):
    status: str


@route(bp, "/v1/health", "GET", summary="Liveness check", tags=TAGS, response=HealthOut, auth="none")
def health(req: Req) -> HealthOut:
    return HealthOut(status="ok")


@route(bp, "/v1/openapi.json", "GET", summary="This API's OpenAPI 3.1 document", tags=TAGS, auth="none")
def openapi(req: Req) -> Response:
    return json_response(build_openapi())


@route(bp, "/v1/docs", "GET", summary="Human-readable API reference", tags=TAGS, auth="none")
def docs(req: Req) -> Response:
    return Response(body=_DOCS.read_text(encoding="utf-8"), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": DOCS_CSP,
                             "Cache-Control": "no-cache"})
