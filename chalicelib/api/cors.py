"""CORS for web clients served from another origin: only the origins the deployment lists.

``CORS_ALLOWED_ORIGINS`` (the template's ``CorsAllowedOrigins``) is a comma-separated list of exact
origins (``https://app.example.com``); empty, the default, allows no other origin: a browser page
elsewhere cannot read any answer. A listed origin gets ``Access-Control-Allow-Origin`` naming it on
every answer (``request_context`` adds it) and an answer to its preflight ``OPTIONS`` request; any
other origin's preflight is a 403 ``origin_not_allowed`` without those headers.

Every path of the API has an ``OPTIONS`` method (``register_preflights``, from the manifest), so API
Gateway passes preflights to the function, which is the only place that knows the list. No
credentials are allowed: the API authenticates with the ``Authorization`` header, and the refresh
cookie (SameSite=Strict) never travels cross-site anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from chalice import Chalice, Response

from chalicelib import config
from chalicelib.errors import error_body
from chalicelib.observability import current_request_id

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key"
EXPOSED_HEADERS = "X-Request-Id, Retry-After"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may reuse a preflight's answer


def allowed_origin(origin: str | None) -> str | None:
    """``origin`` when the deployment lists it, else None."""
    if not origin:
        return None
    return origin if origin.rstrip("/") in config.cors_allowed_origins() else None


def response_headers(origin: str | None) -> dict[str, str]:
    """Headers every answer to ``origin`` carries (none for an unlisted origin)."""
    headers: dict[str, str] = {}
    if config.cors_allowed_origins():
        headers["Vary"] = "Origin"  # the answer differs per origin: caches must not share it
    if allowed_origin(origin):
        headers.update({"Access-Control-Allow-Origin": origin.rstrip("/"),  # type: ignore[union-attr]
                        "Access-Control-Expose-Headers": EXPOSED_HEADERS})
    return headers


def _preflight(app: Chalice, methods: str) -> Callable[..., Response]:
    def preflight(**_path_params: str) -> Response:
        origin = app.current_request.headers.get("origin")
        if not allowed_origin(origin):
            body = error_body("origin_not_allowed", "This origin may not call the API from a browser; the "
                              "deployment's CORS_ALLOWED_ORIGINS does not list it.", None, current_request_id())
            return Response(body=json.dumps(body), status_code=403, headers={"Content-Type": "application/json"})
        return Response(body="", status_code=204, headers={
            "Access-Control-Allow-Methods": methods, "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE)})

    return preflight


def register_preflights(app: Chalice, routes: Iterable[dict[str, Any]]) -> None:
    """An ``OPTIONS`` route for every path of ``routes`` (the manifest's), answering preflights."""
    methods: dict[str, list[str]] = {}
    for route in routes:
        methods.setdefault(route["path"], []).append(route["method"])
    for n, (path, listed) in enumerate(methods.items()):
        view = _preflight(app, ", ".join([*listed, "OPTIONS"]))
        view.__name__ = view.__qualname__ = f"cors_preflight_{n}"
        view.__doc__ = "CORS preflight: answered for the origins the deployment lists."
        app.route(path, methods=["OPTIONS"], name=view.__name__)(view)
