"""Retries with exponential backoff for provider calls: the same rule for every provider.

Retried: rate limits (honouring Retry-After), 5xx, lost connections, timeouts. Not
retried: auth failures, bad requests, bad output. A Retry-After longer than we are willing
to wait inside one invocation ends the call at once with the error, so the queue can
redeliver the message later instead of a Lambda sleeping through its timeout.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from chalicelib import config
from chalicelib.ai.errors import AIError, AIRateLimitError
from chalicelib.observability import logger

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 20.0
    max_retry_after: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    @classmethod
    def from_config(cls) -> RetryPolicy:
        return cls(attempts=config.ai_max_attempts(), base_delay=config.ai_retry_base_delay())

    def delay(self, attempt: int, error: AIError) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up now."""
        if isinstance(error, AIRateLimitError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)  # jitter: workers that failed together spread out


def with_retries(call: Callable[[], T], policy: RetryPolicy, *, provider: str, operation: str) -> T:
    attempt = 1
    while True:
        try:
            return call()
        except AIError as exc:
            delay = policy.delay(attempt, exc) if exc.retryable and attempt < policy.attempts else None
            if delay is None:
                raise
            logger.warning("AI call failed; retrying", extra={
                "provider": provider, "operation": operation, "error": exc.code, "status": exc.status,
                "attempt": attempt, "delay_seconds": round(delay, 2)})
            policy.sleep(delay)
            attempt += 1
