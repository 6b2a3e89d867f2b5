"""Per-account limits on the expensive routes: at most ``limit`` requests per fixed window.

One conditional UpdateItem per request on the counter ``account_id#bucket`` of the current window
(models.limits.RateCounter): it adds one only while the count is under the limit, so concurrent
requests can never pass the limit together, and a refused request costs no count. The answer past
the limit is a 429 ``rate_limited`` with ``Retry-After``: the seconds until the window ends.

The limits are deployment settings (``RATE_LIMITS``, the template's ``RateLimits`` parameter):
``jobs=120/60,keyword_imports=60/60`` is 120 job creations and 60 imports per account per minute;
``off`` turns them off. Routes name their bucket (``route(..., rate_limit="jobs")``). API Gateway's
stage throttling bounds the whole API; these bound one account's use of its costly routes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib import config
from chalicelib.errors import TooManyRequests
from chalicelib.models.conditions import conditional
from chalicelib.models.limits import RateCounter, counter_key
from chalicelib.timeutil import utcnow


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: int


# What each bucket covers, and its default: generous for a person or a script doing real work,
# a wall for a loop (each request of these buckets writes thousands of records or starts AI work).
BUCKETS: dict[str, str] = {
    "jobs": "POST /v1/sites/{site_id}/jobs (start a stage)",
    "keyword_imports": "POST /v1/sites/{site_id}/keywords/import, import.csv and from-seeds",
    "automation_runs": "POST /v1/sites/{site_id}/automation/runs (start a run now)",
}
DEFAULT_LIMITS: dict[str, Limit] = {
    "jobs": Limit(120, 60),
    "keyword_imports": Limit(60, 60),
    "automation_runs": Limit(20, 60),
}


class RateLimitConfigError(ValueError):
    """``RATE_LIMITS`` is malformed; the message says where."""


def parse(setting: str) -> dict[str, Limit | None]:
    """``RATE_LIMITS`` read into a limit per bucket (None: that bucket is not limited)."""
    limits: dict[str, Limit | None] = dict(DEFAULT_LIMITS)
    if setting.lower() == "off":
        return dict.fromkeys(limits)
    for part in filter(None, (p.strip() for p in setting.split(","))):
        bucket, _, value = part.partition("=")
        bucket, value = bucket.strip(), value.strip()
        if bucket not in BUCKETS:
            raise RateLimitConfigError(f"RATE_LIMITS: unknown bucket {bucket!r} (known: {', '.join(BUCKETS)})")
        if value.lower() == "off":
            limits[bucket] = None
            continue
        count, _, seconds = value.partition("/")
        try:
            limit = Limit(int(count), int(seconds))
        except ValueError:
            raise RateLimitConfigError(f"RATE_LIMITS: {part!r} is not <bucket>=<requests>/<seconds>") from None
        if limit.count < 1 or limit.window_seconds < 1:
            raise RateLimitConfigError(f"RATE_LIMITS: {part!r} needs at least 1 request per 1 second")
        limits[bucket] = limit
    return limits


def limit_of(bucket: str) -> Limit | None:
    if bucket not in BUCKETS:
        raise KeyError(bucket)
    return parse(config.rate_limits())[bucket]


def enforce(account_id: str, bucket: str) -> None:
    """Count one request of ``account_id`` to ``bucket`` against its configured limit (429 past it)."""
    limit = limit_of(bucket)
    if limit is not None:
        check(account_id, bucket, limit.count, limit.window_seconds)


def check(account_id: str, bucket: str, limit: int, window_seconds: int) -> None:
    """Count one request; raise ``TooManyRequests`` (with ``retry_after``) when the window is full."""
    now = utcnow().timestamp()
    window = int(now // window_seconds) * window_seconds
    ends = window + window_seconds
    counter = RateCounter(counter_key(account_id, bucket), window)
    with conditional() as write:
        counter.update(actions=[RateCounter.count.add(1), RateCounter.expires_epoch.set(ends + window_seconds)],
                       condition=RateCounter.count.does_not_exist() | (RateCounter.count < limit))
    if not write.held:
        retry_after = max(1, math.ceil(ends - now))
        raise TooManyRequests(
            f"Too many requests of this kind ({limit} per {window_seconds} s for an account); "
            f"try again in {retry_after} seconds.",
            retry_after=retry_after, details={"bucket": bucket, "limit": limit, "window_seconds": window_seconds})


def used(account_id: str, bucket: str, window_seconds: int) -> int:
    """Requests counted in the current window (0 before the first)."""
    window = int(utcnow().timestamp() // window_seconds) * window_seconds
    try:
        return int(RateCounter.get(counter_key(account_id, bucket), window, consistent_read=True).count)
    except RateCounter.DoesNotExist:
        return 0
