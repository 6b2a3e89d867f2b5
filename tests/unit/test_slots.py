from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from chalicelib.services.publishing import slots

DEFAULT = dict(publish_days=["mon", "tue", "wed", "thu", "fri"], time_slots=["09:00", "14:00", "18:00"])


def test_slots_follow_days_and_times_in_the_site_time_zone():
    after = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # Friday, 13:00 in Berlin
    got = [s.local.strftime("%a %H:%M") for s, _ in zip(
        slots.iter_slots(after=after, time_zone="Europe/Berlin", **DEFAULT), range(4), strict=False)]
    assert got == ["Fri 14:00", "Fri 18:00", "Mon 09:00", "Mon 14:00"]
    first = next(slots.iter_slots(after=after, time_zone="Europe/Berlin", **DEFAULT))
    assert first.at == datetime(2026, 11, 27, 13, 0, tzinfo=UTC)


def test_periods_are_site_local():
    after = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)  # already 2027-01-01 in Tokyo
    slot = next(slots.iter_slots(after=after, time_zone="Asia/Tokyo", publish_days=["fri"], time_slots=["09:00"]))
    assert slot.periods == ("d#2027-01-01", "w#2026-W53", "m#2027-01")


def test_a_slot_in_a_dst_gap_is_skipped():
    # 2027-03-28 02:30 does not exist in Berlin (clocks jump from 02:00 to 03:00)
    after = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    got = [s.local.strftime("%Y-%m-%d %H:%M") for s, _ in zip(
        slots.iter_slots(after=after, time_zone="Europe/Berlin", publish_days=["sun"], time_slots=["02:30"]),
        range(2), strict=False)]
    assert got == ["2027-04-04 02:30", "2027-04-11 02:30"]


def test_no_days_or_no_times_means_no_slots():
    after = datetime(2026, 1, 1, tzinfo=UTC)
    assert list(slots.iter_slots(after=after, time_zone="UTC", publish_days=[], time_slots=["09:00"])) == []
    assert list(slots.iter_slots(after=after, time_zone="UTC", publish_days=["mon"], time_slots=[])) == []


def test_next_period_start():
    tz = ZoneInfo("UTC")
    assert slots.next_period_start("d#2026-11-30", tz).date().isoformat() == "2026-12-01"
    assert slots.next_period_start("w#2026-W48", tz).date().isoformat() == "2026-11-30"
    assert slots.next_period_start("m#2026-12", tz).date().isoformat() == "2027-01-01"


def test_slots_between():
    start = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # Monday
    end = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert len(slots.slots_between(start, end, time_zone="UTC", **DEFAULT)) == 15
