"""Publishing storage on moto and DynamoDB Local: limits and slots under 8 concurrent schedulers and
publishers, releases, moves, re-planning, the sharded global indexes of the tick."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.errors import ApiError
from chalicelib.models.publisher import PublishCounter, SlotClaim
from chalicelib.models.writer import DUE_SHARDS, READY_SHARDS, Content
from chalicelib.services import identity, sites, writer
from chalicelib.services.publishing import calendar, reservations, scheduling, slots, worker
from chalicelib.timeutil import utcnow
from infra.bench import moto_patch

moto_patch.apply()

TZ = "America/New_York"
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LIMITS = {"d": 2, "w": 3, "m": 5}


@pytest.fixture
def site(ddb, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(worker, "enqueue_publish", lambda a, s, c: sent.append(c))  # no SQS in this tier
    account, _, _ = identity.register(account_name="P", email=f"p-{ddb}-{random.random()}@example.com",
                                      password="x" * 12)
    site = sites.create_site(account.account_id, name="news", time_zone=TZ)
    sector = sites.create_sector(account.account_id, site.site_id, name="s").sector_id
    return account.account_id, site.site_id, sector, sent


def _approved(account_id: str, site_id: str, sector: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        c = writer.create_content(account_id, site_id, {"sector_id": sector, "title": f"article {i}"})
        writer.set_content_status(c, "approved")
        ids.append(c.content_id)
    return ids


def _set(account_id: str, site_id: str, **values) -> dict:
    return scheduling.update_settings(account_id, site_id, values)[1]


def check_consistency(account_id: str, site_id: str, limits: dict[str, int]) -> dict[str, int]:
    """Recount everything from the claims; every counter, slot and content must agree. Returns the overruns."""
    skey = f"{account_id}#{site_id}"
    claims = list(SlotClaim.query(skey, consistent_read=True))
    counters = {c.period: int(c.count) for c in PublishCounter.query(skey, consistent_read=True)}
    recount: Counter = Counter(p for c in claims for p in c.periods)
    for period in set(counters) | set(recount):
        assert counters.get(period, 0) == recount.get(period, 0), period
    overruns = {kind: sum(1 for p, n in counters.items() if p[0] == kind and n > limits[kind]) for kind in limits}
    per_content = Counter(c.content_id for c in claims)
    assert max(per_content.values(), default=0) <= 1, "a content holds two reservations"
    slot_times = Counter(c.slot[:20] for c in claims if "#" not in c.slot)
    assert max(slot_times.values(), default=0) <= 1, "two articles in one slot"
    by_id = {c.slot: c for c in claims}
    for item in Content.query(skey, consistent_read=True):
        if item.site_status == "scheduled":
            claim = by_id.get(item.publish_slot or "")
            assert claim is not None and claim.content_id == item.content_id, item.content_id
            assert claim.slot[:20] == reservations.slot_key(item.scheduled_publish_at)
        else:
            assert per_content.get(item.content_id, 0) == 0, item.content_id
    return {**overruns, "claims": len(claims)}


def test_eight_concurrent_publishers_never_pass_a_limit(site):
    account_id, site_id, sector, sent = site
    _set(account_id, site_id, daily_publish_limit=LIMITS["d"], weekly_publish_limit=LIMITS["w"],
         monthly_publish_limit=LIMITS["m"], publish_days=ALL_DAYS, publish_time_slots=["09:00", "13:00", "17:00"])
    ids = _approved(account_id, site_id, sector, 24)
    outcomes: Counter = Counter()
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)
    lock = threading.Lock()

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            barrier.wait()
            for _ in range(10):
                content_id = rng.choice(ids)
                op = rng.choice(["slot", "slot", "at", "now", "unschedule"])
                try:
                    if op == "slot":
                        done = scheduling.schedule_content(account_id, site_id, content_id)
                        result = "slotted" if done else "no_slot"
                    elif op == "at":
                        content = writer.get_content(account_id, site_id, content_id)
                        when = utcnow() + timedelta(days=rng.randint(0, 12), hours=rng.randint(1, 23))
                        reservations.schedule_at(content, when)
                        result = "chosen"
                    elif op == "now":
                        scheduling.publish_now(account_id, site_id, content_id)
                        result = "now"
                    else:
                        scheduling.unschedule(account_id, site_id, content_id)
                        result = "unscheduled"
                except ApiError as exc:
                    result = exc.code
                with lock:
                    outcomes[result] += 1
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert sum(outcomes.values()) == 80
    assert outcomes["slotted"] + outcomes["chosen"] + outcomes["now"] > 0, outcomes
    assert outcomes["publish_limit_reached"] + outcomes["no_slot"] > 0, outcomes  # the limits did bite
    result = check_consistency(account_id, site_id, LIMITS)
    assert (result["d"], result["w"], result["m"]) == (0, 0, 0), result
    assert result["claims"] <= 24
    assert len(sent) == outcomes["now"]
    print(f"8 publishers: {dict(outcomes)}; {result}")


def test_concurrent_slotting_of_the_same_content_schedules_it_once(site):
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, publish_days=ALL_DAYS)
    (content_id,) = _approved(account_id, site_id, sector, 1)
    results: list[object] = []
    barrier = threading.Barrier(8)

    def go() -> None:
        barrier.wait()
        try:
            results.append(scheduling.schedule_content(account_id, site_id, content_id))
        except ApiError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8
    result = check_consistency(account_id, site_id, {"d": 3, "w": 15, "m": 50})
    assert result["claims"] == 1


def test_slots_fill_in_order_and_full_periods_are_skipped(site):
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, daily_publish_limit=1, weekly_publish_limit=2, monthly_publish_limit=50,
         publish_days=ALL_DAYS, publish_time_slots=["10:00", "16:00"])
    ids = _approved(account_id, site_id, sector, 5)
    when = []
    for content_id in ids:
        content = scheduling.schedule_content(account_id, site_id, content_id)
        assert content is not None
        when.append(content.scheduled_publish_at)
    tz = ZoneInfo(TZ)
    local = [w.astimezone(tz) for w in when]
    assert when == sorted(when)
    assert len({d.date() for d in local}) == 5  # one a day
    weeks = Counter(d.isocalendar()[:2] for d in local)
    assert max(weeks.values()) <= 2
    assert check_consistency(account_id, site_id, {"d": 1, "w": 2, "m": 50})["claims"] == 5

    start = min(when) - timedelta(hours=1)
    cal = calendar.calendar(account_id, site_id, start, start + timedelta(days=20))
    assert sorted(e["content_id"] for e in cal["entries"]) == sorted(ids)
    assert sum(1 for s in cal["slots"] if s["state"] == "scheduled") == 5
    assert sum(u["used"] for u in cal["usage"] if u["kind"] == "day") == 5

    # released slots are given again; the counters follow
    scheduling.unschedule(account_id, site_id, ids[0])
    again = scheduling.schedule_content(account_id, site_id, ids[0])
    assert again.scheduled_publish_at == when[0]
    check_consistency(account_id, site_id, {"d": 1, "w": 2, "m": 50})


def test_replan_after_a_settings_change(site):
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, publish_days=ALL_DAYS, publish_time_slots=["08:00", "12:00", "20:00"])
    ids = _approved(account_id, site_id, sector, 6)
    for content_id in ids:
        scheduling.schedule_content(account_id, site_id, content_id)
    manual = writer.get_content(account_id, site_id, ids[-1])
    reservations.release(manual)
    chosen = (utcnow() + timedelta(days=3)).replace(minute=17, second=0, microsecond=0)
    reservations.schedule_at(writer.get_content(account_id, site_id, ids[-1]), chosen)

    plan = _set(account_id, site_id, daily_publish_limit=2, publish_time_slots=["07:45", "19:30"],
                publish_days=["mon", "wed", "fri"])
    assert plan["released"] == 5 and plan["rescheduled"] == 5 and plan["unslotted"] == 0
    tz = ZoneInfo(TZ)
    for content_id in ids[:-1]:
        c = writer.get_content(account_id, site_id, content_id)
        local = c.scheduled_publish_at.astimezone(tz)
        assert local.strftime("%a %H:%M")[:3].lower() in ("mon", "wed", "fri")
        assert local.strftime("%H:%M") in ("07:45", "19:30")
    assert [m["content_id"] for m in plan["moves"]] == ids[:-1]  # the order is kept
    assert writer.get_content(account_id, site_id, ids[-1]).scheduled_publish_at == chosen  # a person chose it
    check_consistency(account_id, site_id, {"d": 2, "w": 15, "m": 50})


def test_the_ticks_global_indexes(site):
    account_id, site_id, sector, _ = site
    ids = _approved(account_id, site_id, sector, 6)
    ready = {i.content_id for s in range(READY_SHARDS) for i in Content.ready_any_site.query(f"ready#{s}")}
    assert set(ids) <= ready
    scheduling.schedule_content(account_id, site_id, ids[0])
    ready = {i.content_id for s in range(READY_SHARDS) for i in Content.ready_any_site.query(f"ready#{s}")}
    assert ids[0] not in ready
    horizon = utcnow() + timedelta(days=30)
    due = {i.content_id for s in range(DUE_SHARDS) for i in Content.due.query(f"due#{s}",
                                                                               Content.scheduled_publish_at <= horizon)}
    assert due == {ids[0]}
    assert worker.enqueue_due.__name__  # the query itself runs in the API tier with SQS
    # a worker that claimed it and died stays findable through the due index while publishing
    content = writer.get_content(account_id, site_id, ids[0])
    content.update(actions=[Content.scheduled_publish_at.set(utcnow() - timedelta(minutes=1))])
    content = writer.get_content(account_id, site_id, ids[0])
    assert worker._claim_publish(content, utcnow()) is not None
    now = utcnow()
    items = [i for s in range(DUE_SHARDS) for i in Content.due.query(f"due#{s}", Content.scheduled_publish_at <= now)]
    assert [(i.content_id, i.site_status) for i in items] == [(ids[0], "publishing")]
    assert items[0].publish_lease_until > utcnow()


def test_slot_keys_sort_by_time():
    a = datetime(2026, 1, 1, 9, tzinfo=UTC)
    keys = [reservations.slot_key(a), reservations.manual_key(a, "x"), reservations.slot_key(a + timedelta(seconds=1))]
    assert keys == sorted(keys)
    assert slots.periods_of(a.date()) == ("d#2026-01-01", "w#2026-W01", "m#2026-01")


@pytest.mark.parametrize("operation", ["schedule_at", "publish_now", "unschedule"])
def test_a_reservation_released_and_taken_again_while_another_request_reads_it_leaves_one_claim(
        site, monkeypatch, operation):
    """Request A reads the scheduled content, then its claim; meanwhile B unschedules it (so A finds
    no claim) and C slots it again into the same first free slot (the content is again exactly as A
    read it). A's write must not go through as if the content held no claim: that left it with two
    claims (or, for unschedule, not published with a claim still counted)."""
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, publish_days=ALL_DAYS, publish_time_slots=["09:00"])
    (content_id,) = _approved(account_id, site_id, sector, 1)
    first = scheduling.schedule_content(account_id, site_id, content_id)
    original = reservations.claim_of
    interleaved: list[object] = []

    def claim_read_between_b_and_c(content):
        monkeypatch.setattr(reservations, "claim_of", original)  # B and C read claims undisturbed
        scheduling.unschedule(account_id, site_id, content_id)  # B
        claim = original(content)  # A's read: no claim any more
        again = scheduling.schedule_content(account_id, site_id, content_id)  # C: the same slot
        interleaved.append(again.scheduled_publish_at)
        return claim

    monkeypatch.setattr(reservations, "claim_of", claim_read_between_b_and_c)
    with pytest.raises(ApiError) as raised:
        if operation == "schedule_at":
            later = (utcnow() + timedelta(days=2, hours=3)).replace(second=0)
            reservations.schedule_at(writer.get_content(account_id, site_id, content_id), later)
        elif operation == "publish_now":
            scheduling.publish_now(account_id, site_id, content_id)
        else:
            scheduling.unschedule(account_id, site_id, content_id)
    assert raised.value.code == "concurrent_change"
    assert interleaved == [first.scheduled_publish_at]  # C took the very slot A had read
    result = check_consistency(account_id, site_id, {"d": 3, "w": 15, "m": 50})
    assert result["claims"] == 1
    content = writer.get_content(account_id, site_id, content_id)
    assert (content.site_status, content.scheduled_publish_at) == ("scheduled", first.scheduled_publish_at)


def test_a_claim_taken_again_with_other_periods_is_not_released_with_the_periods_read(site, monkeypatch):
    """A reads the content and its manual-time claim (counted on New York's days); meanwhile B
    unschedules it, the site moves to UTC and C schedules it at the same instant, which now falls
    on another day. A's release would delete C's claim but give back the days A read: one day
    counted with no claim, another with a claim and no count."""
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, publish_days=ALL_DAYS, publish_time_slots=["09:00"])
    first, other = _approved(account_id, site_id, sector, 2)
    at = (utcnow() + timedelta(days=3)).replace(hour=2, minute=30, second=0, microsecond=0)  # the evening before, NY
    for content_id in (first, other):  # two on that New York day: a wrong give-back would not go below zero
        reservations.schedule_at(writer.get_content(account_id, site_id, content_id), at)
    original = reservations.claim_of

    def claim_read_then_b_and_c(content):
        monkeypatch.setattr(reservations, "claim_of", original)
        claim = original(content)  # A's read: New York's day, week and month
        scheduling.unschedule(account_id, site_id, first)  # B
        sites.update_site(account_id, site_id, {"time_zone": "UTC"})
        reservations.schedule_at(writer.get_content(account_id, site_id, first), at)  # C: the same key
        return claim

    monkeypatch.setattr(reservations, "claim_of", claim_read_then_b_and_c)
    with pytest.raises(ApiError) as raised:
        scheduling.unschedule(account_id, site_id, first)
    assert raised.value.code == "concurrent_change"
    claims = {c.content_id: c for c in SlotClaim.query(f"{account_id}#{site_id}", consistent_read=True)}
    assert claims[first].periods != claims[other].periods  # C's claim counts UTC's day
    check_consistency(account_id, site_id, {"d": 3, "w": 15, "m": 50})


def test_a_claim_released_while_its_state_is_set_stays_released(site, monkeypatch):
    """Marking a claim (scheduled, failed, published) after it was released meanwhile must not write a
    bare claim back: it would hold the slot with no content and no counters."""
    account_id, site_id, sector, _ = site
    _set(account_id, site_id, publish_days=ALL_DAYS)
    (content_id,) = _approved(account_id, site_id, sector, 1)
    content = scheduling.schedule_content(account_id, site_id, content_id)
    original = reservations.claim_of

    def released_after_the_read(item):
        monkeypatch.setattr(reservations, "claim_of", original)
        claim = original(item)
        scheduling.unschedule(account_id, site_id, content_id)
        return claim

    monkeypatch.setattr(reservations, "claim_of", released_after_the_read)
    reservations.set_claim_state(content, "failed")
    assert list(SlotClaim.query(f"{account_id}#{site_id}", consistent_read=True)) == []
    assert check_consistency(account_id, site_id, {"d": 3, "w": 15, "m": 50})["claims"] == 0
