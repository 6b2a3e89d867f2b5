"""One error type per failure class of an AI call, whatever the provider.

Stage services catch ``AIError``; ``retryable`` says whether trying the same call later
can succeed (rate limits, outages, timeouts) or not (a bad key, a bad request, output
that stayed invalid after the repair attempt).
"""

from __future__ import annotations


class AIError(Exception):
    retryable = False
    code = "ai_error"

    def __init__(self, message: str, *, provider: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status


class AIAuthError(AIError):
    """The provider rejected the key (401/403), or the account there cannot pay."""

    code = "ai_auth"


class AIRateLimitError(AIError):
    code = "ai_rate_limited"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, retryable: bool = True,
                 **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after
        self.retryable = retryable  # a spent quota is a 429 too, and waiting will not help


class AIProviderDown(AIError):
    """5xx answers or no connection."""

    code = "ai_provider_down"
    retryable = True


class AITimeout(AIError):
    code = "ai_timeout"
    retryable = True


class AIBadOutputError(AIError):
    """The answer was not what was asked for (invalid JSON, wrong shape, a refusal)."""

    code = "ai_bad_output"


class AIInvalidRequest(AIError):
    """The provider refused the request itself (400/404/422): our input, not its health."""

    code = "ai_invalid_request"


class AINotConfigured(AIError):
    """No usable provider for this kind of call (and the offline one is not allowed here)."""

    code = "ai_not_configured"
