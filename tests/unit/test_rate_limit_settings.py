"""RATE_LIMITS, the deployment's per-account limits: defaults, overrides, off, and mistakes named."""

from __future__ import annotations

import pytest

from chalicelib.services.rate_limits import DEFAULT_LIMITS, Limit, RateLimitConfigError, parse


def test_unset_keeps_every_default():
    assert parse("") == DEFAULT_LIMITS


def test_a_bucket_is_overridden_or_turned_off_alone():
    limits = parse("jobs=5/10, automation_runs=off")
    assert limits["jobs"] == Limit(5, 10) and limits["automation_runs"] is None
    assert limits["keyword_imports"] == DEFAULT_LIMITS["keyword_imports"]


def test_off_turns_every_bucket_off():
    assert set(parse("OFF").values()) == {None}


@pytest.mark.parametrize("setting, says", [("job=5/10", "unknown bucket"), ("jobs=5", "<requests>/<seconds>"),
                                           ("jobs=0/10", "at least 1")])
def test_a_malformed_setting_names_the_mistake(setting, says):
    with pytest.raises(RateLimitConfigError, match=says):
        parse(setting)
