"""HTTP middleware: a request id on every response, Chalice's own errors in our shape, and the
CORS headers for an origin the deployment lists (api.cors)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.api import cors
from chalicelib.errors import error_body
from chalicelib.observability import logger, request_id_var

_CHALICE_CODES = {
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "BadRequestError": "bad_request",
    "BadRequest": "bad_request",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def request_context(request: Any, get_response: Callable[[Any], Response]) -> Response:
    context = getattr(request, "context", None) or {}
    request_id = context.get("requestId") or str(uuid.uuid4())
    token = request_id_var.set(request_id)
    logger.append_keys(request_id=request_id)
    try:
        response = get_response(request)
    finally:
        request_id_var.reset(token)
        logger.remove_keys(["request_id", "account_id"])
    body = response.body
    if isinstance(body, dict) and set(body) == {"Code", "Message"}:
        # Chalice answered by itself (415, 405, ...): keep the status, use our error shape.
        code = _CHALICE_CODES.get(body["Code"], "bad_request")
        response.body = json.dumps(error_body(code, body["Message"], None, request_id))
        response.headers["Content-Type"] = "application/json"
    response.headers.setdefault("X-Request-Id", request_id)
    response.headers.update(cors.response_headers(request.headers.get("origin")))
    return response
