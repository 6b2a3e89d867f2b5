"""Rate-limit counters on both backends: the conditional count never passes its limit."""

from __future__ import annotations

import threading

import pytest

from chalicelib import timeutil
from chalicelib.errors import TooManyRequests
from chalicelib.models.limits import RateCounter, counter_key
from chalicelib.services import rate_limits


def test_requests_count_up_to_the_limit_then_are_refused_with_the_seconds_left(ddb):
    for _ in range(3):
        rate_limits.check("acct-1", "jobs", 3, 600)
    with pytest.raises(TooManyRequests) as refused:
        rate_limits.check("acct-1", "jobs", 3, 600)
    assert 1 <= refused.value.retry_after <= 600
    assert refused.value.headers["Retry-After"] == str(refused.value.retry_after)
    assert rate_limits.used("acct-1", "jobs", 600) == 3  # the refused request was not counted


def test_accounts_and_buckets_count_apart(ddb):
    rate_limits.check("acct-1", "jobs", 1, 600)
    rate_limits.check("acct-2", "jobs", 1, 600)
    rate_limits.check("acct-1", "keyword_imports", 1, 600)
    with pytest.raises(TooManyRequests):
        rate_limits.check("acct-1", "jobs", 1, 600)


def test_a_new_window_starts_from_zero_and_old_counters_expire_by_ttl(ddb):
    rate_limits.check("acct-1", "jobs", 1, 60)
    with pytest.raises(TooManyRequests) as refused:
        rate_limits.check("acct-1", "jobs", 1, 60)
    timeutil.advance(refused.value.retry_after)
    try:
        rate_limits.check("acct-1", "jobs", 1, 60)
        counters = list(RateCounter.query(counter_key("acct-1", "jobs")))
    finally:
        timeutil.reset()
    assert [c.count for c in counters] == [1, 1]
    for counter in counters:  # each expires one window after its own window ended
        assert counter.expires_epoch == counter.window + 120


def test_concurrent_requests_never_pass_the_limit_together(ddb):
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        try:
            rate_limits.check("acct-1", "jobs", 5, 600)
            result = "ok"
        except TooManyRequests:
            result = "429"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=one) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 5 and outcomes.count("429") == 7
    assert rate_limits.used("acct-1", "jobs", 600) == 5
