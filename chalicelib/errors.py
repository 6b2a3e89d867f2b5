"""The error vocabulary of the product: a stable code, an HTTP status, a human message.

Every error leaves the API as ``{"error": {"code", "message", "details", "request_id"}}``.
Services raise these; handlers never build error responses by hand.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details if details is not None else {}
        self.headers = headers or {}


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str = "Sign in again: the access token is missing, invalid or expired.",
                 **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class PaymentRequired(ApiError):
    status, code = 402, "payment_required"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"

    def __init__(self, what: str = "Resource", **kw: Any) -> None:
        super().__init__(f"{what} not found.", **kw)


class Conflict(ApiError):
    status, code = 409, "conflict"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class UnprocessableEntity(ApiError):
    status, code = 422, "validation_error"


class TooManyRequests(ApiError):
    """429: the caller must wait ``retry_after`` seconds (sent as the ``Retry-After`` header)."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers = {**self.headers, "Retry-After": str(max(1, int(retry_after)))}


def error_body(code: str, message: str, details: Any = None, request_id: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {},
                      "request_id": request_id}}
