"""Publishing time slots and the periods they count against, in the site's time zone.

Pure functions: no I/O. The scheduler walks candidate slots in time order and tries to
reserve each; a reservation is a transaction (publishing.reservations), so this module only
says which slots exist and which counters a slot would use.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Slot:
    at: datetime  # UTC
    local: datetime  # in the site's time zone

    @property
    def key(self) -> str:
        return self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def periods(self) -> tuple[str, str, str]:
        return periods_of(self.local.date())


def periods_of(local_day: date) -> tuple[str, str, str]:
    """Counter keys (day, ISO week, month) for a site-local date."""
    year, week, _ = local_day.isocalendar()
    return f"d#{local_day.isoformat()}", f"w#{year}-W{week:02d}", f"m#{local_day:%Y-%m}"


def parse_time_slot(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The aware local time, or None when it does not exist that day (a DST gap)."""
    candidate = datetime.combine(day, at, tzinfo=tz)
    round_trip = candidate.astimezone(UTC).astimezone(tz)
    if (round_trip.hour, round_trip.minute) != (at.hour, at.minute):
        return None
    return candidate


def iter_slots(*, after: datetime, time_zone: str, publish_days: list[str], time_slots: list[str],
               horizon_days: int = HORIZON_DAYS) -> Iterator[Slot]:
    """Every slot strictly after ``after``, in time order, up to the horizon."""
    tz = ZoneInfo(time_zone)
    days = {d.lower()[:3] for d in publish_days}
    times = sorted({parse_time_slot(t) for t in time_slots})
    if not days or not times:
        return
    start_day = after.astimezone(tz).date()
    for offset in range(horizon_days):
        day = start_day + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        for at in times:
            local = local_datetime(day, at, tz)
            if local is None:
                continue
            utc = local.astimezone(UTC)
            if utc > after:
                yield Slot(utc, local)


def slots_between(start: datetime, end: datetime, *, time_zone: str, publish_days: list[str],
                  time_slots: list[str]) -> list[Slot]:
    out = []
    for slot in iter_slots(after=start - timedelta(microseconds=1), time_zone=time_zone,
                           publish_days=publish_days, time_slots=time_slots):
        if slot.at > end:
            break
        out.append(slot)
    return out


def next_period_start(period: str, tz: ZoneInfo) -> datetime:
    """The first local midnight after the given counter period (used to skip full periods)."""
    kind, value = period.split("#", 1)
    if kind == "d":
        day = date.fromisoformat(value) + timedelta(days=1)
    elif kind == "w":
        year, week = value.split("-W")
        day = date.fromisocalendar(int(year), int(week), 1) + timedelta(days=7)
    else:
        year, month = (int(p) for p in value.split("-"))
        day = date(year + (month == 12), month % 12 + 1, 1)
    return datetime.combine(day, time(0, 0), tzinfo=tz)
