"""When an automation config runs next, in the site's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.services.automation.schedule import next_run


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_daily_runs_at_the_local_time_today_or_tomorrow():
    assert next_run(frequency="daily", run_time="09:30", time_zone="Europe/Paris",
                    after=at("2026-06-10T06:00")) == at("2026-06-10T07:30")  # CEST = UTC+2
    assert next_run(frequency="daily", run_time="09:30", time_zone="Europe/Paris",
                    after=at("2026-06-10T07:30")) == at("2026-06-11T07:30")  # strictly after


def test_weekly_runs_on_the_chosen_days_only():
    # 2026-06-10 is a Wednesday
    assert next_run(frequency="weekly", run_time="08:00", time_zone="UTC", days_of_week=["mon", "fri"],
                    after=at("2026-06-10T12:00")) == at("2026-06-12T08:00")
    with pytest.raises(ValueError):
        next_run(frequency="weekly", run_time="08:00", time_zone="UTC", days_of_week=[], after=at("2026-06-10T12:00"))


def test_monthly_on_a_day_the_month_lacks_runs_on_its_last_day():
    assert next_run(frequency="monthly", run_time="02:00", time_zone="UTC", day_of_month=31,
                    after=at("2026-02-01T00:00")) == at("2026-02-28T02:00")
    assert next_run(frequency="monthly", run_time="02:00", time_zone="UTC", day_of_month=31,
                    after=at("2026-02-28T03:00")) == at("2026-03-31T02:00")


def test_a_time_skipped_by_dst_runs_when_the_clocks_jump():
    # Europe/Paris: 2026-03-29 02:00 -> 03:00 local; 02:30 does not exist that day.
    got = next_run(frequency="daily", run_time="02:30", time_zone="Europe/Paris", after=at("2026-03-28T12:00"))
    assert got == at("2026-03-29T01:30")  # 03:30 CEST, half an hour after the jump, never skipped


def test_an_ambiguous_time_at_the_end_of_dst_runs_once():
    # Europe/Paris: 2026-10-25 03:00 -> 02:00 local; 02:30 happens twice: the first one counts.
    first = next_run(frequency="daily", run_time="02:30", time_zone="Europe/Paris", after=at("2026-10-24T12:00"))
    assert first == at("2026-10-25T00:30")
    assert next_run(frequency="daily", run_time="02:30", time_zone="Europe/Paris",
                    after=first) == at("2026-10-26T01:30")
