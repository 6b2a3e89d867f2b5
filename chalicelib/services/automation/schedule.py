"""When an automation config runs next: daily, weekly on chosen days, or monthly, at a local time.

Pure functions. Times are wall-clock times in the site's time zone; a time that a DST
change skips runs just after the jump, an ambiguous one at its first occurrence, so a run
is never skipped nor doubled by a clock change.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``day at`` in ``zone``.

    fold=0: an ambiguous wall time (clocks going back) is its first occurrence; a wall time
    inside a gap (clocks going forward) is read with the offset before the jump, i.e. it runs
    as long after the jump as it was meant to be after the hour (02:30 -> 03:30).
    """
    return datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(UTC)


def _runs_on(day: date, frequency: str, days_of_week: list[str], day_of_month: int) -> bool:
    if frequency == "daily":
        return True
    if frequency == "weekly":
        return DAYS[day.weekday()] in days_of_week
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(day_of_month, last)


def next_run(*, frequency: str, run_time: str, time_zone: str, after: datetime,
             days_of_week: list[str] | None = None, day_of_month: int = 1) -> datetime:
    """The first run instant strictly after ``after`` (UTC)."""
    zone = ZoneInfo(time_zone)
    at = parse_time(run_time)
    days = list(days_of_week or [])
    if frequency == "weekly" and not days:
        raise ValueError("a weekly schedule needs at least one day")
    day = after.astimezone(zone).date()
    for _ in range(400):  # at most a year and a bit: every schedule has a day in it
        if _runs_on(day, frequency, days, day_of_month):
            instant = _local_instant(day, at, zone)
            if instant > after:
                return instant
        day += timedelta(days=1)
    raise ValueError("no run day within a year")  # unreachable for valid input
