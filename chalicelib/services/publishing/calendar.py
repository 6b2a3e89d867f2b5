"""The publishing calendar: the slot grid of the current settings, every reservation, each period's usage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.errors import UnprocessableEntity
from chalicelib.models.accounts import site_key
from chalicelib.models.publisher import SlotClaim
from chalicelib.services.publishing import slots
from chalicelib.services.publishing.reservations import counts, slot_key
from chalicelib.services.publishing.settings import PERIOD_KINDS, get_settings, limits
from chalicelib.services.sites import get_site

MAX_CALENDAR_DAYS = 93


def calendar(account_id: str, site_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The slot grid of the current settings, every reservation in the range, and each period's usage."""
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    tz = ZoneInfo(site.time_zone)
    skey = site_key(account_id, site_id)
    claims = list(SlotClaim.query(skey, SlotClaim.slot.between(slot_key(start), slot_key(end) + "~")))
    in_slots = {c.slot: c for c in claims if "#" not in c.slot}
    grid = []
    for slot in slots.slots_between(start, end, time_zone=site.time_zone, publish_days=list(settings.publish_days),
                                    time_slots=list(settings.publish_time_slots)):
        claim = in_slots.get(slot.key)
        grid.append({"at": slot.at, "local_time": slot.local.isoformat(), "state": claim.state if claim else "free",
                     "content_id": claim.content_id if claim else None, "title": claim.title if claim else None})
    grid_keys = {g["at"] for g in grid}
    entries = []
    for claim in claims:
        at = datetime.strptime(claim.slot[:20], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        entries.append({"at": at, "local_time": at.astimezone(tz).isoformat(), "content_id": claim.content_id,
                        "title": claim.title, "state": claim.state, "manual": bool(claim.manual),
                        "in_slot": at in grid_keys and "#" not in claim.slot, "periods": list(claim.periods)})
    first, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    periods = sorted({p for d in days for p in slots.periods_of(d)})
    used = counts(skey, periods)
    allowed = limits(settings)
    usage = [{"period": p, "kind": PERIOD_KINDS[p[0]], "used": used.get(p, 0), "limit": allowed[p[0]],
              "remaining": max(0, allowed[p[0]] - used.get(p, 0))} for p in periods]
    return {"time_zone": site.time_zone, "from": start, "to": end, "slots": grid, "entries": entries,
            "usage": usage}


def calendar_range(start_text: str, end_text: str | None, time_zone: str) -> tuple[datetime, datetime]:
    """Parse ?from=&to= (ISO dates or date-times; a date is a whole day in the site's time zone)."""
    tz = ZoneInfo(time_zone)

    def parse(text: str, *, end_of_day: bool) -> datetime:
        text = text.strip().replace(" ", "+")  # an unencoded "+01:00" arrives as " 01:00"
        try:
            if len(text) <= 10:
                day = date.fromisoformat(text)
                value = datetime.combine(day + timedelta(days=1) if end_of_day else day, datetime.min.time(),
                                         tzinfo=tz)
                return value - timedelta(seconds=1) if end_of_day else value
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UnprocessableEntity(f"{text!r} is not an ISO date or date-time.", code="invalid_date") from None
        return value if value.tzinfo else value.replace(tzinfo=tz)

    start = parse(start_text, end_of_day=False)
    end = parse(end_text, end_of_day=True) if end_text else start + timedelta(days=7) - timedelta(seconds=1)
    if end < start:
        raise UnprocessableEntity("'to' is before 'from'.", code="invalid_range")
    if end - start > timedelta(days=MAX_CALENDAR_DAYS):
        raise UnprocessableEntity(f"The calendar covers at most {MAX_CALENDAR_DAYS} days per request.",
                                  code="range_too_large", details={"max_days": MAX_CALENDAR_DAYS})
    return start.astimezone(UTC), end.astimezone(UTC)
