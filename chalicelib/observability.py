"""Logger, request context and metrics shared by every handler."""

from __future__ import annotations

import contextvars

from aws_lambda_powertools import Logger

logger = Logger(service="seo-content-engine")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()
