"""Publishing: time slots inside the site's limits, and exactly-once publishes to WordPress.

Scheduling. Approved content gets the next free slot (publish days x time slots, in the
site's time zone) that the daily, weekly and monthly limits allow. A reservation is one
transaction: the slot's claim (one article per slot), +1 on the day, week and month
counters (each conditional on ``count < limit``) and the content's move to ``scheduled``
(conditional on it being approved and in the state it was read in). Moving a reservation
(a new time, or "publish now" for scheduled content) releases the old claim and its
counters in the same transaction. No race between schedulers, ticks or manual publishes
can pass a limit or fill a slot twice.

Publishing. A publish is claimed first (``scheduled -> publishing`` with a lease and an
attempt id, and a PublishingRecord written before any request). The WordPress post id is
stored as soon as WordPress returns it. A retry -- after any failure, including a crash
between WordPress's answer and our write -- first looks for the post it may have made
(the companion plugin's content-id meta, or the hidden marker in the post body) and
updates it instead of creating another; likewise each image it may have uploaded (by the
key each upload carries). A publish that cannot succeed leaves the content
``failed`` with the reason; it can be retried (it keeps its slot and counters).
"""

from __future__ import annotations

import random
import re
import secrets as pysecrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib import config, messages
from chalicelib.api.errors import ApiError, Conflict, NotFound, Unauthorized, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import Account, Sector, Site, site_key
from chalicelib.models.base import failed_positions, is_condition_failure
from chalicelib.models.publisher import (
    PublishCounter,
    PublishingRecord,
    PublishingSettings,
    SiteIntegration,
    SlotClaim,
    WebhookNonce,
    WebhookRoute,
)
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import transact_write
from chalicelib.models.writer import DUE_SHARDS, READY_SHARDS, Content, ContentImage
from chalicelib.observability import logger, metric
from chalicelib.services import slots as slotlib
from chalicelib.services.activity import Gates
from chalicelib.services.sites import get_site
from chalicelib.services.state_machines import state_condition, transition_ops
from chalicelib.services.writer import find_content, get_content
from chalicelib.timeutil import utcnow

LEAD_TIME = timedelta(minutes=2)  # never schedule into the next two minutes
PUBLISH_LEASE = timedelta(minutes=10)
LATE_TOLERANCE = timedelta(hours=1)  # published later than this after its slot: dated when it really went out
COUNTER_TTL_DAYS = 400
TX_CONFLICT_RETRIES = 8
MAX_CALENDAR_DAYS = 93
PERIOD_NAMES = {"d": "daily", "w": "weekly", "m": "monthly"}
PERIOD_KINDS = {"d": "day", "w": "week", "m": "month"}


def slot_key(at: datetime) -> str:
    """The range key of a slot claim: the UTC time, so claims sort by time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manual_key(at: datetime, content_id: str) -> str:
    """A time a person chose (or "now") that is not one of the site's slots: counted, no slot taken."""
    return f"{slot_key(at)}#manual#{content_id}"


# --- settings ----------------------------------------------------------------------------

def get_settings(account_id: str, site_id: str) -> PublishingSettings:
    try:
        return PublishingSettings.get(account_id, site_id)
    except PublishingSettings.DoesNotExist:
        return PublishingSettings(account_id, site_id)


def update_settings(account_id: str, site_id: str, changes: dict[str, Any]) -> tuple[PublishingSettings, dict]:
    """Save new settings, then re-plan everything scheduled and not yet due."""
    get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    for name, value in changes.items():
        setattr(settings, name, value)
    limits = _limits(settings)
    if not limits["d"] <= limits["w"] <= limits["m"]:
        raise UnprocessableEntity("Limits must satisfy daily <= weekly <= monthly.", code="inconsistent_limits",
                                  details={"daily": limits["d"], "weekly": limits["w"], "monthly": limits["m"]})
    settings.save()
    replanned = replan_site(account_id, site_id)
    return settings, replanned


def _limits(settings: PublishingSettings) -> dict[str, int]:
    return {"d": int(settings.daily_publish_limit), "w": int(settings.weekly_publish_limit),
            "m": int(settings.monthly_publish_limit)}


def _is_slot_time(local: datetime, settings: PublishingSettings) -> bool:
    days = {d.lower()[:3] for d in settings.publish_days or []}
    return (slotlib.WEEKDAYS[local.weekday()] in days and local.second == 0
            and local.strftime("%H:%M") in {t for t in settings.publish_time_slots or []})


# --- labelled transactions ----------------------------------------------------------------

@dataclass
class _Write:
    label: str
    kind: str  # check | delete | put | update
    item: Model
    condition: Condition | None = None
    actions: list[Action] = field(default_factory=list)


def _transact(writes: list[_Write]) -> set[str]:
    """Run the writes as one transaction; return the labels whose condition failed (empty: done).

    A cancellation that is only a conflict with another transaction in flight (DynamoDB
    answers TransactionConflict when two transactions touch one counter at once) is retried
    with jitter: it says nothing about the conditions.
    """
    # in PynamoDB's order, so the cancellation reasons' positions name the writes
    ordered = [w for kind in ("check", "delete", "put", "update") for w in writes if w.kind == kind]
    for attempt in range(TX_CONFLICT_RETRIES + 1):
        try:
            with transact_write() as tx:
                for w in ordered:
                    if w.kind == "check":
                        model = type(w.item)
                        tx.condition_check(model, getattr(w.item, model._hash_keyname),
                                           getattr(w.item, model._range_keyname), condition=w.condition)
                    elif w.kind == "delete":
                        tx.delete(w.item, condition=w.condition)
                    elif w.kind == "put":
                        tx.save(w.item, condition=w.condition)
                    else:
                        tx.update(w.item, actions=w.actions, condition=w.condition)
            return set()
        except TransactWriteError as exc:
            failed = {ordered[i].label for i in failed_positions(exc) if i < len(ordered)}
            if failed:
                return failed
            reasons = getattr(exc, "cancellation_reasons", None) or []
            if attempt < TX_CONFLICT_RETRIES and any(r is not None and r.code == "TransactionConflict"
                                                     for r in reasons):
                time.sleep(random.uniform(0.005, 0.01 * 2 ** attempt))
                continue
            raise
    raise RuntimeError("unreachable")


def _count(skey: str, period: str, delta: int, limit: int | None = None, *, label: str) -> _Write:
    counter = PublishCounter(skey, period)
    now = utcnow()
    actions = [PublishCounter.count.add(delta), PublishCounter.updated_at.set(now),
               PublishCounter.created_at.set(PublishCounter.created_at | now)]
    if delta > 0:
        if limit is None or limit < delta:
            raise ValueError("a limit below the increment allows nothing; check it before writing")
        expires = int((now + timedelta(days=COUNTER_TTL_DAYS)).timestamp())
        actions.append(PublishCounter.expires_epoch.set(expires))
        condition = PublishCounter.count.does_not_exist() | (PublishCounter.count <= limit - delta)
    else:
        condition = PublishCounter.count >= -delta
    return _Write(label, "update", counter, condition, actions)


def counts(skey: str, periods: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(periods))
    out = dict.fromkeys(wanted, 0)
    if wanted:
        for counter in PublishCounter.batch_get([(skey, p) for p in wanted]):
            out[counter.period] = int(counter.count or 0)
    return out


# --- reservations ------------------------------------------------------------------------

# A content's claims are created only in the transaction that points its publish_slot at them,
# so each transaction that moves a reservation holds on to what it read: the same publish_slot
# (not among Content.STATE_ATTRS), the same claim there -- or still none. Content state alone
# is not enough: between a read and its transaction the content can be released and slotted
# again into the same slot, and then looks exactly as it was read.

def _same_slot(content: Content) -> Condition:
    """The content still points at the claim it was read with."""
    if content.publish_slot:
        return Content.publish_slot == content.publish_slot
    return Content.publish_slot.does_not_exist()


def _still_held(claim: SlotClaim, content: Content) -> Condition:
    """The claim read is still there as read: this content's, holding these periods (the counters it gives back)."""
    return (SlotClaim.content_id == content.content_id) & (SlotClaim.periods == list(claim.periods))


def _still_no_claim(content: Content, *, label: str) -> _Write:
    """The content points at a slot where no claim of it was found: none may have appeared since."""
    return _Write(label, "check", SlotClaim(content.site_key, content.publish_slot),
                  SlotClaim.content_id.does_not_exist() | (SlotClaim.content_id != content.content_id))


def _reserve(content: Content, settings: PublishingSettings, *, key: str, at: datetime, periods: list[str],
             manual: bool, old_claim: SlotClaim | None = None) -> str:
    """One transaction: [release old_claim], claim the slot, count it, schedule the content.

    Returns "ok", "slot_taken", "d" / "w" / "m" (that limit is reached) or "content_changed".
    Periods the old claim already counts are not counted twice (a move within a week
    changes neither the week's nor the month's counter).
    """
    limits = _limits(settings)
    held = set(old_claim.periods) if old_claim is not None else set()
    for period in periods:
        if period not in held and limits[period[0]] <= 0:
            return period[0]
    skey = content.site_key
    writes: list[_Write] = []
    if old_claim is not None:
        writes.append(_Write("old_claim", "delete", old_claim, _still_held(old_claim, content)))
        for period in old_claim.periods:
            if period not in periods:
                writes.append(_count(skey, period, -1, label=f"old:{period}"))
    elif content.publish_slot and content.publish_slot != key:  # at key itself the put's condition checks it
        writes.append(_still_no_claim(content, label="old_claim"))
    writes.append(_Write("slot", "put", SlotClaim(skey, key, content_id=content.content_id, title=content.title[:200],
                                                  periods=periods, manual=manual),
                         SlotClaim.slot.does_not_exist()))
    for period in periods:
        if period not in held:
            writes.append(_count(skey, period, +1, limits[period[0]], label=period[0]))
    actions, condition = transition_ops(
        content, {"site_status": "scheduled", "scheduled_publish_at": at},
        extra_actions=[Content.site_status_updated_at.set(utcnow()), Content.publish_slot.set(key),
                       Content.publish_error.remove()])
    writes.append(_Write("content", "update", content,
                         condition & (Content.status == "approved") & _same_slot(content), actions))
    failed = _transact(writes)
    if not failed:
        return "ok"
    if "content" in failed or "old_claim" in failed:
        return "content_changed"
    if "slot" in failed:
        return "slot_taken"
    for kind in ("d", "w", "m"):
        if kind in failed:
            return kind
    return "content_changed"  # an old counter would go below zero: the claim changed under us


def _limit_error(outcome: str) -> ApiError:
    if outcome in PERIOD_NAMES:
        name = PERIOD_NAMES[outcome]
        return Conflict(f"The site's {name} publishing limit is reached for that time; pick another time, "
                        "or raise the limit in the publishing settings.", code="publish_limit_reached",
                        details={"limit": name})
    if outcome == "slot_taken":
        return Conflict("Another article already has this time slot.", code="slot_taken")
    return Conflict("The content changed while it was being scheduled; reload it and try again.",
                    code="concurrent_change")


class _Usage:
    """Counter values read once per period (a hint to skip full periods; the transaction decides)."""

    def __init__(self, skey: str) -> None:
        self.skey = skey
        self.known: dict[str, int] = {}

    def __call__(self, periods: Iterable[str]) -> dict[str, int]:
        missing = [p for p in periods if p not in self.known]
        if missing:
            self.known.update(counts(self.skey, missing))
        return {p: self.known[p] for p in periods}


def _taken_slots(skey: str, after: datetime, *, max_items: int = 2000) -> set[str]:
    taken: set[str] = set()
    for claim in SlotClaim.query(skey, SlotClaim.slot > slot_key(after), limit=max_items):
        if "#" not in claim.slot:
            taken.add(claim.slot)
    return taken


def _next_slot(content: Content, settings: PublishingSettings, site: Site, *, after: datetime) -> datetime | None:
    """Reserve the first free slot after ``after`` that every limit allows; None within the horizon."""
    limits = _limits(settings)
    if min(limits.values()) <= 0 or not settings.publish_days or not settings.publish_time_slots:
        return None
    tz = ZoneInfo(site.time_zone)
    skey = content.site_key
    taken = _taken_slots(skey, after)
    usage = _Usage(skey)
    full: set[str] = set()
    while True:
        jumped = False
        for slot in slotlib.iter_slots(after=after, time_zone=site.time_zone, publish_days=list(settings.publish_days),
                                       time_slots=list(settings.publish_time_slots)):
            if slot.key in taken:
                continue
            periods = list(slot.periods)
            used = usage(periods)
            blocked = next((p for p in periods if p in full or used[p] >= limits[p[0]]), None)
            if blocked is None:
                outcome = _reserve(content, settings, key=slot.key, at=slot.at, periods=periods, manual=False)
                if outcome == "ok":
                    return slot.at
                if outcome == "slot_taken":
                    taken.add(slot.key)
                    continue
                if outcome == "content_changed":
                    raise _limit_error(outcome)
                blocked = next(p for p in periods if p[0] == outcome)
            # Jump past the whole full period instead of trying each of its slots.
            full.add(blocked)
            after = slotlib.next_period_start(blocked, tz).astimezone(UTC) - timedelta(microseconds=1)
            jumped = True
            break
        if not jumped:
            return None


def schedule_content(account_id: str, site_id: str, content_id: str, *, not_before: datetime | None = None,
                     settings: PublishingSettings | None = None, site: Site | None = None,
                     gates: Gates | None = None) -> Content | None:
    """Give approved, unscheduled content the next free slot. None: no slot within the horizon.

    Content that is already scheduled is returned as it is (a repeated request changes nothing).
    """
    site = site or get_site(account_id, site_id)
    settings = settings or get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    if content.status != "approved":
        raise Conflict("Only approved content can be scheduled; approve it first.", code="content_not_approved",
                       details={"current_status": content.status})
    if content.site_status == "scheduled":
        return content
    gate = (gates or Gates()).sector(account_id, site_id, content.sector_id)
    if not gate.open:  # slotting it would take a slot it cannot use until its sector is back
        raise Conflict(gate.message, code=gate.code or "sector_inactive")
    if content.site_status != "not_published":
        raise Conflict(f"This content is {content.site_status}; only content that is not published can be given "
                       "a slot.", code="content_not_schedulable", details={"site_status": content.site_status})
    now = utcnow()
    after = max(now + LEAD_TIME, not_before or now)
    try:
        if _next_slot(content, settings, site, after=after) is None:
            return None
    except Conflict:
        content.refresh(consistent_read=True)
        if content.site_status == "scheduled":
            return content  # a concurrent request slotted it: same outcome
        raise
    content.refresh()
    return content


def schedule_at(content: Content, at: datetime, *, settings: PublishingSettings | None = None,
                site: Site | None = None) -> Content:
    """A time a person chose: it counts against that day's, week's and month's limits.

    At one of the site's slot times it takes that slot; at any other time it takes no slot.
    Scheduled (or failed) content moves: its old reservation is released in the same write.
    """
    if content.status != "approved":
        raise Conflict("Only approved content can be scheduled; approve it first.", code="content_not_approved",
                       details={"current_status": content.status})
    if content.site_status not in ("not_published", "scheduled", "failed"):
        raise Conflict(f"This content is {content.site_status}; it cannot be scheduled now.",
                       code="content_not_schedulable", details={"site_status": content.site_status})
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    if at <= utcnow():
        raise UnprocessableEntity("The publish time must be in the future; use publish now for now.",
                                  code="schedule_in_past")
    site = site or get_site(content.account_id, content.site_id)
    settings = settings or get_settings(content.account_id, content.site_id)
    local = at.astimezone(ZoneInfo(site.time_zone))
    in_slot = _is_slot_time(local, settings)
    key = slot_key(at) if in_slot else manual_key(at, content.content_id)
    old_claim = _claim_of(content) if content.site_status in ("scheduled", "failed") else None
    if old_claim is not None and old_claim.slot == key:
        return content  # already exactly there
    outcome = _reserve(content, settings, key=key, at=at, periods=list(slotlib.periods_of(local.date())),
                       manual=not in_slot, old_claim=old_claim)
    if outcome != "ok":
        raise _limit_error(outcome)
    content.refresh()
    return content


def release(content: Content) -> None:
    """Unschedule: free the slot and its three counters, back to not_published."""
    if content.site_status not in ("scheduled", "failed"):
        raise Conflict("Only scheduled (or failed) content can be unscheduled.", code="content_not_scheduled",
                       details={"site_status": content.site_status})
    claim = _claim_of(content)
    actions, condition = transition_ops(
        content, {"site_status": "not_published", "scheduled_publish_at": None},
        extra_actions=[Content.site_status_updated_at.set(utcnow()), Content.publish_slot.remove(),
                       Content.publish_lease_until.remove()])
    writes = [_Write("content", "update", content, condition & _same_slot(content), actions)]
    if claim is not None:
        writes.append(_Write("claim", "delete", claim, _still_held(claim, content)))
        writes += [_count(content.site_key, period, -1, label=period) for period in claim.periods]
    elif content.publish_slot:
        writes.append(_still_no_claim(content, label="claim"))
    if _transact(writes):
        raise Conflict("The content changed meanwhile (it may be publishing now); reload it.",
                       code="concurrent_change")


def release_for_deletion(content: Content) -> bool:
    """A content of a sector being deleted gives back its slot and counters, unless it was published
    (then the slot was used: the post stays in WordPress and the limits count it). Idempotent."""
    claim = _claim_of(content)
    if claim is None or claim.state == "published" or content.site_status == "published":
        return False
    writes = [_Write("claim", "delete", claim, _still_held(claim, content))]
    writes += [_count(content.site_key, period, -1, label=period) for period in claim.periods]
    return not _transact(writes)


def _claim_of(content: Content) -> SlotClaim | None:
    keys = [content.publish_slot] if content.publish_slot else []
    if not keys and content.scheduled_publish_at is not None:  # written before publish_slot existed
        keys = [slot_key(content.scheduled_publish_at), manual_key(content.scheduled_publish_at, content.content_id)]
    for key in keys:
        try:
            claim = SlotClaim.get(content.site_key, key, consistent_read=True)
        except SlotClaim.DoesNotExist:
            continue
        if claim.content_id == content.content_id:
            return claim
    return None


def unschedule(account_id: str, site_id: str, content_id: str) -> Content:
    content = get_content(account_id, site_id, content_id)
    if content.site_status == "not_published":
        return content
    release(content)
    content.refresh()
    return content


def publish_now(account_id: str, site_id: str, content_id: str) -> Content:
    """Publish at once, outside the time slots but inside today's, this week's and this month's limits.

    Scheduled content gives up its slot in the same write; if a limit is reached it keeps it.
    """
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    content = get_content(account_id, site_id, content_id)
    if content.site_status == "failed":
        return retry_publish(account_id, site_id, content_id)
    if content.status != "approved" or content.site_status not in ("not_published", "scheduled"):
        raise Conflict("Only approved content that is not published can be published now.",
                       code="content_not_publishable",
                       details={"status": content.status, "site_status": content.site_status})
    now = utcnow().replace(microsecond=0)
    key = manual_key(now, content_id)
    old_claim = _claim_of(content) if content.site_status == "scheduled" else None
    if old_claim is None or old_claim.slot != key:
        periods = list(slotlib.periods_of(now.astimezone(ZoneInfo(site.time_zone)).date()))
        outcome = _reserve(content, settings, key=key, at=now, periods=periods, manual=True, old_claim=old_claim)
        if outcome != "ok":
            raise _limit_error(outcome)
    content.refresh()
    enqueue_publish(account_id, site_id, content_id)
    return content


def replan_site(account_id: str, site_id: str) -> dict[str, Any]:
    """After a settings change: release what waits for a slot in the future, then slot it again, in order.

    Left alone: manual times (a person chose them), content due within the lead time, and
    anything that started publishing meanwhile.
    """
    settings = get_settings(account_id, site_id)
    site = get_site(account_id, site_id)
    horizon = utcnow() + LEAD_TIME
    released: list[tuple[datetime, str]] = []
    for summary in Content.by_site_status.query(join_key(site_key(account_id, site_id), "scheduled")):
        if summary.publish_slot and "#manual#" in summary.publish_slot:
            continue
        if summary.scheduled_publish_at is None or summary.scheduled_publish_at <= horizon:
            continue
        try:
            content = get_content(account_id, site_id, summary.content_id)
            release(content)
        except (Conflict, NotFound):
            continue
        released.append((summary.scheduled_publish_at, summary.content_id))
    moves: list[dict[str, Any]] = []
    for before, content_id in sorted(released):
        try:
            content = schedule_content(account_id, site_id, content_id, settings=settings, site=site)
        except (Conflict, NotFound):
            content = None
        moves.append({"content_id": content_id, "from": before,
                      "to": content.scheduled_publish_at if content is not None else None})
    return {"released": len(released), "rescheduled": sum(1 for m in moves if m["to"] is not None),
            "unslotted": sum(1 for m in moves if m["to"] is None), "moves": moves}


# --- automatic slotting: the approval hook and the tick -----------------------------------

def auto_publishes(account_id: str, site_id: str) -> bool:
    """Approved content of this site is slotted automatically: auto publish is on and WordPress is connected.

    Without a connection there is nowhere to publish to, so nothing is slotted automatically
    (a person can still schedule by hand).
    """
    if not get_settings(account_id, site_id).auto_publish_enabled:
        return False
    try:
        return bool(_integration(account_id, site_id).is_active)
    except NotFound:
        return False


def on_content_approved(content: Content) -> None:
    """Best effort: give newly approved content a slot right away (the tick catches what this misses)."""
    try:
        if auto_publishes(content.account_id, content.site_id):
            schedule_content(content.account_id, content.site_id, content.content_id)
    except Exception as exc:  # noqa: BLE001 - approving must not fail because slotting did
        logger.warning("auto scheduling failed", extra={"content_id": content.content_id, "error": str(exc)[:300]})


def schedule_ready(account_id: str, site_id: str, content_ids: list[str] | None = None, *,
                   gates: Gates | None = None) -> dict[str, int]:
    """Slot the site's approved, unscheduled content, oldest first (auto publish sites only)."""
    gates = gates or Gates()
    if not gates.site(account_id, site_id).open or not auto_publishes(account_id, site_id):
        return {"scheduled": 0, "unslotted": 0, "skipped": len(content_ids or [])}
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    if content_ids is None:
        content_ids = [c.content_id for c in Content.ready_to_schedule.query(site_key(account_id, site_id),
                                                                             limit=200)]
    scheduled = unslotted = 0
    for content_id in sorted(content_ids):
        try:
            if schedule_content(account_id, site_id, content_id, settings=settings, site=site, gates=gates) is None:
                unslotted += 1
                break  # no slot for this one means none for the rest either
            scheduled += 1
        except (Conflict, NotFound):
            continue
    return {"scheduled": scheduled, "unslotted": unslotted, "skipped": 0}


def schedule_ready_everywhere(*, per_shard: int = 1000) -> dict[str, int]:
    """The tick's first half: approved, unscheduled content of every site, from the sharded global index."""
    by_site: dict[tuple[str, str], list[str]] = {}
    for shard in range(READY_SHARDS):
        for item in Content.ready_any_site.query(f"ready#{shard}", limit=per_shard):
            by_site.setdefault((item.account_id, item.site_id), []).append(item.content_id)
    totals = {"sites": len(by_site), "scheduled": 0, "unslotted": 0, "skipped": 0, "errors": 0}
    gates = Gates()
    for (account_id, site_id), content_ids in by_site.items():
        try:
            done = schedule_ready(account_id, site_id, content_ids, gates=gates)
        except Exception as exc:  # noqa: BLE001 - one broken site must not stop the others
            totals["errors"] += 1
            logger.warning("slotting a site failed", extra={"site_id": site_id, "error": str(exc)[:300]})
            continue
        for name, value in done.items():
            totals[name] += value
    return totals


def tick(now: datetime | None = None) -> dict[str, Any]:
    """The publishing schedule: slot approved content everywhere, then queue what is due."""
    slotted = schedule_ready_everywhere()
    sent = enqueue_due(now)
    return {"slotted": slotted, "enqueued": sent}


# --- the calendar ------------------------------------------------------------------------

def calendar(account_id: str, site_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    """The slot grid of the current settings, every reservation in the range, and each period's usage."""
    site = get_site(account_id, site_id)
    settings = get_settings(account_id, site_id)
    tz = ZoneInfo(site.time_zone)
    skey = site_key(account_id, site_id)
    claims = list(SlotClaim.query(skey, SlotClaim.slot.between(slot_key(start), slot_key(end) + "~")))
    in_slots = {c.slot: c for c in claims if "#" not in c.slot}
    grid = []
    for slot in slotlib.slots_between(start, end, time_zone=site.time_zone, publish_days=list(settings.publish_days),
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
    periods = sorted({p for d in days for p in slotlib.periods_of(d)})
    used = counts(skey, periods)
    limits = _limits(settings)
    usage = [{"period": p, "kind": PERIOD_KINDS[p[0]], "used": used.get(p, 0), "limit": limits[p[0]],
              "remaining": max(0, limits[p[0]] - used.get(p, 0))} for p in periods]
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


# --- the publish queue -------------------------------------------------------------------

def enqueue_publish(account_id: str, site_id: str, content_id: str) -> None:
    messages.send("publish_content", [{"account_id": account_id, "site_id": site_id, "content_id": content_id}])


def enqueue_due(now: datetime | None = None, *, per_shard: int = 500) -> int:
    """Queue a publish for every item that is due, across all sites: scheduled ones whose time
    has come, and ones whose publishing worker died (lease expired)."""
    now = now or utcnow()
    due: list[dict[str, str]] = []
    gates = Gates()
    for shard in range(DUE_SHARDS):
        for item in Content.due.query(f"due#{shard}", Content.scheduled_publish_at <= now, limit=per_shard):
            if item.site_status == "publishing" and item.publish_lease_until and item.publish_lease_until > now:
                continue  # a worker is on it
            if not gates.sector(item.account_id, item.site_id, item.sector_id).open:
                continue  # deactivated: it waits (due again when active); being deleted: it goes
            due.append({"account_id": item.account_id, "site_id": item.site_id, "content_id": item.content_id})
    return messages.send("publish_content", due)


class PublishRetryable(Exception):
    """A transient failure (WordPress down, rate limited): SQS delivers the message again."""


def parse_message(body: str) -> dict[str, str]:
    data = messages.parse(body, ("account_id", "site_id", "content_id"))
    return {k: data[k] for k in ("account_id", "site_id", "content_id")}


# --- the publish worker ------------------------------------------------------------------

def _integration(account_id: str, site_id: str) -> SiteIntegration:
    try:
        return SiteIntegration.get(site_key(account_id, site_id), "wordpress")
    except SiteIntegration.DoesNotExist:
        raise NotFound("WordPress connection") from None


def wordpress_client(integration: SiteIntegration) -> Any:
    from chalicelib.integrations.wordpress import WordPressClient
    from chalicelib.services import secrets

    password = secrets.decrypt(integration.app_password_enc, _secret_context(integration.account_id,
                                                                             integration.site_id))
    return WordPressClient(integration.external_site_url, integration.username, password)


def _secret_context(account_id: str, site_id: str) -> dict[str, str]:
    return {"account_id": account_id, "site_id": site_id, "purpose": "wordpress"}


def _outcome(name: str) -> None:
    metric("PublishOutcome", 1, "Count", outcome=name)


def process_publish(message: dict[str, str], *, receive_count: int, max_receives: int) -> str:
    """Publish one content item. Returns the outcome; raises PublishRetryable to be delivered again.

    Outcomes: created / updated / recovered (published), failed, missing, duplicate (already
    published), not_scheduled, not_due, in_progress (another worker holds the lease), superseded.
    Anything unexpected propagates and leaves the lease: like a crash, the retry that comes
    after the lease expired takes over and finds the post if there is one.
    """
    from chalicelib.integrations.wordpress import WPError

    account_id, site_id, content_id = message["account_id"], message["site_id"], message["content_id"]
    content = find_content(account_id, site_id, content_id, with_body=True)
    if content is None:
        return "missing"
    gate = Gates().sector(account_id, site_id, content.sector_id)
    if not gate.open:
        # Deactivated: left as it is, not failed (the tick queues it again once active);
        # being deleted: dropped, the deletion removes it.
        return "site_gone" if gate.gone else "held"
    now = utcnow()
    if content.site_status == "published":
        return "duplicate"
    if content.site_status not in ("scheduled", "publishing"):
        return "not_scheduled"
    if content.site_status == "scheduled" and content.scheduled_publish_at and content.scheduled_publish_at > now:
        return "not_due"
    if content.site_status == "publishing" and content.publish_lease_until and content.publish_lease_until > now:
        return "in_progress"
    attempt_id = _claim_publish(content, now)
    if attempt_id is None:
        return "in_progress"
    if attempt_id == HELD:
        return "held"
    record = PublishingRecord(join_key(account_id, content_id), attempt_id, account_id=account_id, site_id=site_id,
                              content_id=content_id)
    record.save()
    try:
        post, action = _publish_to_wordpress(content)
    except PublishHeld as exc:
        _give_back(content, attempt_id, str(exc), record, error=False)
        return "held"
    except (WPError, ApiError) as exc:
        reason = _reason(exc)
        if isinstance(exc, WPError) and exc.retryable and receive_count < max_receives:
            _give_back(content, attempt_id, reason, record)
            _outcome("rescheduled")
            raise PublishRetryable(reason) from exc
        if not _fail(content, attempt_id, reason, record):
            return "superseded"
        _outcome("failed")
        return "failed"
    if not _succeed(content, attempt_id, post, action, record):
        return "superseded"
    _outcome("published")
    return action


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _held(attempt_id: str) -> Condition:
    return (Content.site_status == "publishing") & (Content.publish_attempt_id == attempt_id)


HELD = "held"


class PublishHeld(Exception):
    """The site (or its sector, or account) stopped while this publish was being prepared."""


def _open_conditions(tx: Any, content: Content) -> None:
    """Condition checks: the account, the site and the content's sector may publish now.

    In the claim's transaction, so no publish starts once a deletion or a deactivation is written.
    """
    tx.condition_check(Account, content.account_id, condition=Account.is_active == True)  # noqa: E712
    tx.condition_check(Site, content.account_id, content.site_id,
                       condition=(Site.is_active == True) & Site.deleting_since.does_not_exist())  # noqa: E712
    tx.condition_check(Sector, content.site_key, content.sector_id,
                       condition=(Sector.is_active == True) & Sector.deleting_since.does_not_exist())  # noqa: E712


def _claim_publish(content: Content, now: datetime) -> str | None:
    """scheduled -> publishing (or take over an expired lease). None: someone else has it;
    ``HELD``: the account, site or sector may not publish now."""
    attempt_id = new_id()
    lease = [Content.publish_lease_until.set(now + PUBLISH_LEASE), Content.publish_attempt_id.set(attempt_id)]
    previous = content.publish_attempt_id if content.site_status == "publishing" else None
    if content.site_status == "publishing":
        actions = [*lease, Content.updated_at.set(now)]
        condition = state_condition(content) & (Content.publish_lease_until.does_not_exist()
                                                | (Content.publish_lease_until <= now))
        if previous:
            condition = condition & (Content.publish_attempt_id == previous)
    else:
        actions, condition = transition_ops(content, {"site_status": "publishing"},
                                            extra_actions=[*lease, Content.site_status_updated_at.set(now)])
    try:
        with transact_write() as tx:
            _open_conditions(tx, content)
            tx.update(content, actions=actions, condition=condition)
    except TransactWriteError as exc:
        failed = failed_positions(exc)
        if failed & {0, 1, 2}:  # the condition checks come first
            return HELD
        if failed:
            return None
        raise
    if previous:
        _close_record(content, previous, "failed", "The worker stopped before it finished (its lease expired); "
                                                   "the next attempt took over.")
    return attempt_id


def _close_record(content: Content, attempt_id: str, status: str, error: str) -> None:
    try:
        PublishingRecord(join_key(content.account_id, content.content_id), attempt_id).update(
            actions=[PublishingRecord.status.set(status), PublishingRecord.error.set(error[:1000])],
            condition=PublishingRecord.status == "pending")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _publish_to_wordpress(content: Content) -> tuple[Any, str]:
    from chalicelib.integrations.wordpress import WPObjectNotFound

    integration = _integration(content.account_id, content.site_id)
    if not integration.is_active:
        raise UnprocessableEntity("The site's WordPress connection is switched off.", code="integration_inactive")
    with wordpress_client(integration) as wp:
        images = list(ContentImage.by_content.query(join_key(content.site_key, content.content_id)))
        featured_id, inline = _upload_images(wp, content, images)
        body = _body_with_images(content.body_html, inline)
        terms = _terms(wp, content)
        gate = Gates().sector(content.account_id, content.site_id, content.sector_id)
        if not gate.open:  # stopped while the images went up: no post now
            raise PublishHeld(gate.message)
        now = utcnow()
        when = content.scheduled_publish_at
        if when is None or when > now or now - when > LATE_TOLERANCE:
            when = now  # never "future" (it is due); long overdue (the site was down): the real time
        fields: dict[str, Any] = dict(
            title=content.title, content=body, excerpt=content.excerpt or None, status="publish", date_gmt=when,
            categories=terms.categories, tags=terms.tags, featured_media=featured_id,
            seo_title=content.meta_title or None, seo_description=content.meta_description or None)
        stored = content.external_id
        if stored:
            try:
                return wp.update_post(int(stored), content_id=content.content_id, **fields), "updated"
            except WPObjectNotFound:
                logger.info("stored post is gone; looking for another", extra={"post_id": stored})
        found = wp.find_post_by_content_id(content.content_id, include_trash=True)
        if found is not None:
            _remember_post(content, str(found.id), replacing=stored)
            return wp.update_post(found.id, content_id=content.content_id, **fields), "recovered"
        post = wp.create_post(content_id=content.content_id, **fields)
        _remember_post(content, str(post.id), replacing=stored)
        return post, "created"


def _remember_post(content: Content, post_id: str, *, replacing: str | None = None) -> None:
    """Store the post id the moment it exists, so no retry can create a second post."""
    condition = Content.external_id.does_not_exist() | (Content.external_id == post_id)
    if replacing:
        condition = condition | (Content.external_id == replacing)
    content.update(actions=[Content.external_id.set(post_id)], condition=condition)


def _upload_images(wp: Any, content: Content,
                   images: list[ContentImage]) -> tuple[int | None, list[tuple[int, str, str]]]:
    featured: int | None = None
    inline: list[tuple[int, str, str]] = []
    for image in images:
        if image.status != "generated" or not (image.storage_key or image.external_media_id):
            continue
        if not image.external_media_id:
            _upload_image(wp, content, image)
        if image.is_featured and featured is None:
            featured = int(image.external_media_id)
        else:
            inline.append((int(image.position), image.external_media_url or "", image.alt_text or ""))
    return featured, sorted(inline)


def _upload_image(wp: Any, content: Content, image: ContentImage) -> None:
    """Put the image in the media library once, whatever failed on the way.

    The upload carries a key (the image id and a digest of its bytes) that WordPress stores
    with the attachment; the key is written here before the upload is sent. A later attempt
    that finds its key already written may have uploaded the file already (the answer was lost,
    or the worker died before storing the id): it looks the attachment up by that key and
    uploads only if there is none. The media id is stored right after either.
    """
    from chalicelib.integrations.wordpress import media_key
    from chalicelib.services import media

    data, mime = media.read(image.storage_key)
    key = media_key(image.image_id, data)
    found = wp.find_media_by_key(key) if image.external_media_key == key else None
    if found is not None:
        if image.alt_text and found.alt_text != image.alt_text:  # the attempt died before WordPress set it
            found = wp.update_media(found.id, alt_text=image.alt_text)
        uploaded = found
    else:
        if image.external_media_key != key:
            image.update(actions=[ContentImage.external_media_key.set(key)])
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(mime, "png")
        uploaded = wp.upload_media(data, f"{content.content_id}-{int(image.position)}.{extension}", mime,
                                   alt_text=image.alt_text or None, caption=image.caption or None, media_key=key)
    image.update(actions=[ContentImage.external_media_id.set(str(uploaded.id)),
                          ContentImage.external_media_url.set(uploaded.url)])


def _body_with_images(body: str, inline: list[tuple[int, str, str]]) -> str:
    """Put in-article image n right after the n-th section heading (<h2>), or at the end."""
    from html import escape

    if not inline:
        return body
    parts = body.split("<h2")  # parts[n] (n >= 1) starts inside the n-th heading
    tail = ""
    for position, url, alt in inline:
        if not url:
            continue
        figure = f'<figure class="wp-block-image"><img src="{escape(url)}" alt="{escape(alt)}"/></figure>'
        index = max(position, 1)
        if index < len(parts) and "</h2>" in parts[index]:
            head, sep, rest = parts[index].partition("</h2>")
            parts[index] = head + sep + figure + rest
        else:
            tail += figure
    return "<h2".join(parts) + tail


def _terms(wp: Any, content: Content) -> Any:
    from chalicelib.services.sites import get_sector

    categories: list[str] = []
    try:
        categories.append(get_sector(content.account_id, content.site_id, content.sector_id).name)
    except NotFound:
        pass
    tags = [k for k in (content.keywords or []) if k.strip()][:8]
    return wp.ensure_terms(categories=categories, tags=tags)


def _set_claim_state(content: Content, state: str) -> None:
    claim = _claim_of(content)
    if claim is None:
        return
    try:  # conditional: an update of a claim released meanwhile would write a bare one back, blocking its slot
        claim.update(actions=[SlotClaim.state.set(state), SlotClaim.updated_at.set(utcnow())],
                     condition=SlotClaim.content_id == content.content_id)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _succeed(content: Content, attempt_id: str, post: Any, action: str, record: PublishingRecord) -> bool:
    now = utcnow()
    changes = {"site_status": "published"}
    if content.status == "approved":
        changes["status"] = "published"
    extra = [Content.external_id.set(str(post.id)), Content.external_url.set(post.link),
             Content.site_status_updated_at.set(now), Content.publish_lease_until.remove(),
             Content.publish_error.remove()]
    if post.modified_gmt is not None:
        # our own change comes back as an "updated" webhook: this makes it recognisably stale
        extra.append(Content.external_modified_at.set(post.modified_gmt))
    actions, _ = transition_ops(content, changes, check=False, extra_actions=extra)
    try:
        content.update(actions=actions, condition=_held(attempt_id))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        _close_record(content, attempt_id, "failed", "Another attempt took over before this one finished.")
        return False
    record.update(actions=[PublishingRecord.status.set("published"), PublishingRecord.external_id.set(str(post.id)),
                           PublishingRecord.external_url.set(post.link), PublishingRecord.action.set(action),
                           PublishingRecord.published_at.set(now)])
    _set_claim_state(content, "published")
    logger.info("published", extra={"content_id": content.content_id, "action": action, "post_id": post.id})
    return True


def _give_back(content: Content, attempt_id: str, reason: str, record: PublishingRecord, *,
               error: bool = True) -> None:
    """A transient failure (or a hold): back to scheduled (due now) so a later delivery can claim it."""
    note = Content.publish_error.set(reason[:1000]) if error else Content.publish_error.remove()
    actions, _ = transition_ops(content, {"site_status": "scheduled"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), note])
    try:
        content.update(actions=actions, condition=_held(attempt_id))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
    status, text = ("failed", f"will retry: {reason}") if error else ("held", reason)
    record.update(actions=[PublishingRecord.status.set(status), PublishingRecord.error.set(text[:1000])])


def _fail(content: Content, attempt_id: str, reason: str, record: PublishingRecord) -> bool:
    actions, _ = transition_ops(content, {"site_status": "failed"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason[:1000]),
        Content.site_status_updated_at.set(utcnow())])
    try:
        content.update(actions=actions, condition=_held(attempt_id))
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        _close_record(content, attempt_id, "failed", "Another attempt took over before this one finished.")
        return False
    record.update(actions=[PublishingRecord.status.set("failed"), PublishingRecord.error.set(reason[:1000])])
    _set_claim_state(content, "failed")
    logger.warning("publish failed", extra={"content_id": content.content_id, "reason": reason[:300]})
    return True


class PublishInProgress(Exception):
    """Another worker holds the publish with a live lease: deliver the dead letter again later."""


WORKER_DIED = "worker_died"


def fail_dead_letter(message: dict[str, str], *, deliveries: int) -> str:
    """Account for a dead letter of the publish queue: its worker died on every delivery.

    Content left ``publishing`` with an expired lease is failed with its reason (``worker_died:
    ...``), keeps its slot, and comes back through POST .../publish/retry. Content in any other
    state needs nothing (scheduled content is queued again by the tick when due); content
    another worker holds raises PublishInProgress. Safe to run twice.
    """
    account_id, site_id, content_id = message["account_id"], message["site_id"], message["content_id"]
    content = find_content(account_id, site_id, content_id)
    if content is None:
        return "missing"
    if content.site_status != "publishing":
        return "not_publishing"
    now = utcnow()
    if content.publish_lease_until is not None and content.publish_lease_until > now:
        raise PublishInProgress(f"content {content_id} is held by a publishing worker")
    attempt_id = content.publish_attempt_id
    reason = (f"{WORKER_DIED}: the publishing worker stopped on each of its {deliveries} deliveries (it timed out "
              f"or crashed) before it recorded an outcome. Check WordPress for a post, then retry: "
              f"POST /v1/sites/{site_id}/content/{content_id}/publish/retry.")
    actions, _ = transition_ops(content, {"site_status": "failed"}, check=False, extra_actions=[
        Content.publish_lease_until.remove(), Content.publish_error.set(reason),
        Content.site_status_updated_at.set(now)])
    if attempt_id:
        held = _held(attempt_id)
    else:
        held = (Content.site_status == "publishing") & Content.publish_attempt_id.does_not_exist()
    expired = Content.publish_lease_until.does_not_exist() | (Content.publish_lease_until <= now)
    try:
        content.update(actions=actions, condition=held & expired)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        content.refresh(consistent_read=True)
        if content.site_status == "publishing":
            raise PublishInProgress(f"content {content_id} was claimed again meanwhile") from None
        return "not_publishing"
    if attempt_id:
        _close_record(content, attempt_id, "failed", reason)
    _set_claim_state(content, "failed")
    logger.warning("dead letter: publish failed", extra={"content_id": content_id})
    return "failed"


def retry_publish(account_id: str, site_id: str, content_id: str) -> Content:
    """A failed publish goes again now; it keeps the slot (and the counters) it had."""
    content = get_content(account_id, site_id, content_id)
    if content.site_status != "failed":
        raise Conflict("Only a failed publish can be retried.", code="illegal_transition",
                       details={"attribute": "site_status", "current_status": content.site_status,
                                "allowed": ["failed"]})
    changes: dict[str, Any] = {"site_status": "scheduled"}
    if content.scheduled_publish_at is None or content.scheduled_publish_at > utcnow():
        changes["scheduled_publish_at"] = utcnow().replace(microsecond=0)
    actions, condition = transition_ops(content, changes, extra_actions=[
        Content.site_status_updated_at.set(utcnow())])
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict("The content changed meanwhile; reload it.", code="concurrent_change") from None
        raise
    _set_claim_state(content, "scheduled")
    enqueue_publish(account_id, site_id, content_id)
    return content


def attempts(account_id: str, site_id: str, content_id: str) -> list[PublishingRecord]:
    get_content(account_id, site_id, content_id)  # 404 unless it is this site's content
    return list(PublishingRecord.query(join_key(account_id, content_id), scan_index_forward=False, limit=100))


# --- connecting a site -------------------------------------------------------------------

WP_ERROR_CODES = {
    "WPBlockedURL": ("wordpress_url_not_allowed", "This address is not allowed (private or local network)."),
    "WPNotFound": ("wordpress_not_found", "No WordPress site answers at this URL; check the address."),
    "WPNotWordPress": ("wordpress_not_detected", "The site at this URL does not look like WordPress."),
    "WPRestDisabled": ("wordpress_rest_disabled", "The WordPress REST API is disabled on this site."),
    "WPAuthHeaderStripped": ("wordpress_auth_header_stripped",
                             "The web server strips the Authorization header before WordPress sees it."),
    "WPForbidden": ("wordpress_forbidden", "This WordPress user may not do this."),
    "WPAuthError": ("wordpress_auth_failed", "WordPress refused the username or application password."),
    "WPUnavailable": ("wordpress_unavailable", "The WordPress site did not answer in time; try again."),
}


def wp_api_error(exc: Exception) -> ApiError:
    for cls in type(exc).__mro__:
        if cls.__name__ in WP_ERROR_CODES:
            code, headline = WP_ERROR_CODES[cls.__name__]
            return UnprocessableEntity(f"{headline} ({exc})", code=code)
    return UnprocessableEntity(f"WordPress answered with an error: {exc}", code="wordpress_error")


def connect_wordpress(account_id: str, site_id: str, *, url: str, username: str, app_password: str,
                      name: str = "") -> SiteIntegration:
    """Test the connection, sync the structure, set up the companion plugin's webhooks, store it."""
    from chalicelib.integrations.wordpress import WordPressClient, WPError
    from chalicelib.services import secrets

    get_site(account_id, site_id)
    url = url.strip()
    if not re.match(r"^https?://[^\s/?#]+(/\S*)?$", url, re.IGNORECASE):
        raise UnprocessableEntity("Give the site's address starting with https:// (or http://).",
                                  code="wordpress_url_invalid", details=[{"field": "url", "message": "not a URL"}])
    webhook_secret = pysecrets.token_urlsafe(32)
    webhooks = False
    try:
        with WordPressClient(url, username, app_password) as wp:
            info = wp.check_connection()
            if not info.can_publish:
                raise UnprocessableEntity("This WordPress user cannot publish posts; use an Editor or Administrator.",
                                          code="wordpress_forbidden")
            structure = wp.sync_structure()
            companion = info.companion
            if companion is not None and config.public_api_url():
                try:
                    wp.configure_companion(product_url=config.public_api_url(), site_id=site_id,
                                           secret=webhook_secret)
                    webhooks = True
                except WPError as exc:  # the connection still works; webhooks will not
                    logger.warning("companion plugin not configured", extra={"error": str(exc)[:300]})
    except WPError as exc:
        raise wp_api_error(exc) from None
    except ValueError as exc:  # the client refuses an empty or malformed URL
        raise UnprocessableEntity(str(exc), code="wordpress_url_invalid") from None
    context = _secret_context(account_id, site_id)
    now = utcnow()
    integration = SiteIntegration(
        site_key(account_id, site_id), "wordpress", account_id=account_id, site_id=site_id,
        name=name or info.name or url, external_site_url=url.strip().rstrip("/"), username=username,
        app_password_enc=secrets.encrypt(app_password, context), app_password_hint=secrets.hint(app_password),
        webhook_secret_enc=secrets.encrypt(webhook_secret, context) if webhooks else None,
        connection_status="connected", sync_status="completed", last_sync_at=now, structure_updated_at=now,
        plugin_active=companion is not None, seo_fields=list(companion.seo_meta) if companion else [],
        config_json={"site_name": info.name, "home": info.home, "timezone": info.timezone_string,
                     "gmt_offset": info.gmt_offset, "wordpress_user": info.user.slug,
                     "can_upload": info.can_upload, "can_manage_terms": info.can_manage_terms,
                     "companion_version": companion.version if companion else None,
                     "seo_plugins": list(companion.seo_plugins) if companion else [], "webhooks": webhooks},
        **_structure_fields(structure))
    integration.save()
    if webhooks:
        WebhookRoute(site_id, account_id=account_id, secret_enc=integration.webhook_secret_enc).save()
    else:
        _delete_webhook_route(account_id, site_id)
    return integration


def _structure_fields(structure: Any) -> dict[str, Any]:
    def plain(items: Any) -> list[dict[str, Any]]:
        out = []
        for item in items or []:
            data = item.__dict__ if hasattr(item, "__dict__") else dict(item)
            out.append({k: v for k, v in data.items() if isinstance(v, str | int | float | bool) or v is None})
        return out

    return {"categories": plain(structure.categories)[:500], "tags": plain(structure.tags)[:500],
            "authors": plain(structure.authors)[:200], "post_types": plain(structure.post_types)[:50]}


def sync_integration(account_id: str, site_id: str) -> SiteIntegration:
    from chalicelib.integrations.wordpress import WPError

    integration = get_integration(account_id, site_id)
    try:
        with wordpress_client(integration) as wp:
            structure = wp.sync_structure()
    except WPError as exc:
        integration.update(actions=[SiteIntegration.sync_status.set("error"),
                                    SiteIntegration.sync_error.set(str(exc)[:1000]),
                                    SiteIntegration.connection_status.set("error")])
        raise wp_api_error(exc) from None
    fields = _structure_fields(structure)
    now = utcnow()
    integration.update(actions=[getattr(SiteIntegration, k).set(v) for k, v in fields.items()] + [
        SiteIntegration.sync_status.set("completed"), SiteIntegration.sync_error.remove(),
        SiteIntegration.connection_status.set("connected"), SiteIntegration.last_sync_at.set(now),
        SiteIntegration.structure_updated_at.set(now), SiteIntegration.updated_at.set(now)])
    return integration


def get_integration(account_id: str, site_id: str) -> SiteIntegration:
    get_site(account_id, site_id)
    return _integration(account_id, site_id)


def delete_integration(account_id: str, site_id: str) -> None:
    integration = get_integration(account_id, site_id)
    integration.delete()
    _delete_webhook_route(account_id, site_id)


def _delete_webhook_route(account_id: str, site_id: str) -> None:
    from pynamodb.exceptions import DeleteError

    try:
        WebhookRoute(site_id).delete(condition=WebhookRoute.account_id == account_id)
    except DeleteError as exc:
        if not is_condition_failure(exc):
            raise


# --- webhooks from WordPress -------------------------------------------------------------

class _NonceGuard:
    """ReplayGuard on DynamoDB: a conditional put per nonce, kept (TTL) past the tolerance window."""

    def claim(self, site_id: str, nonce: str, expires_at: Any) -> bool:
        expires = int(expires_at.timestamp() if hasattr(expires_at, "timestamp") else expires_at)
        try:
            WebhookNonce(f"wordpress#{site_id}", nonce, expires_epoch=expires).save(
                condition=WebhookNonce.nonce.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True


def handle_wordpress_webhook(site_id: str, raw_body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """Verify a companion-plugin webhook (raw body, before parsing), then mirror the post's state.

    Any verification failure is the same 401, so a caller learns nothing about which check failed.
    """
    from chalicelib.integrations.wordpress_webhooks import WebhookVerificationError, verify_webhook
    from chalicelib.services import secrets

    rejected = Unauthorized("The webhook signature is missing, invalid or stale.", code="invalid_signature",
                            headers={})
    try:
        route = WebhookRoute.get(site_id)
    except WebhookRoute.DoesNotExist:
        raise rejected from None
    if Gates().site(route.account_id, site_id).gone:
        raise rejected  # the site is being deleted: nothing of it is written any more (not even a nonce)
    secret = secrets.decrypt(route.secret_enc, _secret_context(route.account_id, site_id))
    try:
        event = verify_webhook(raw_body, headers, secret=secret, site_id=site_id, replay_guard=_NonceGuard())
    except WebhookVerificationError as exc:
        logger.info("wordpress webhook rejected", extra={"reason": exc.reason, "site_id": site_id})
        raise rejected from None
    if event.event == "ping":
        return {"handled": True, "event": "ping"}
    content = find_content(route.account_id, site_id, event.content_id)
    if content is None:
        return {"handled": False, "event": event.event, "reason": "unknown content"}
    result = {"event": event.event, "content_id": content.content_id}
    if content.external_id and str(event.post_id) != str(content.external_id):
        return {**result, "handled": False, "reason": "another post"}
    seen = content.external_modified_at
    if event.event == "updated" and event.modified_gmt and seen and event.modified_gmt <= seen:
        return {**result, "handled": False, "reason": "stale"}
    if content.site_status in ("publishing", "scheduled"):
        return {**result, "handled": False, "reason": f"content is {content.site_status}"}
    changes: dict[str, Any] = {}
    extra = [Content.site_status_updated_at.set(utcnow())]
    if event.modified_gmt:
        extra.append(Content.external_modified_at.set(event.modified_gmt))
    if event.event in ("trashed", "deleted") or event.status not in ("publish", "future", ""):
        changes = {"site_status": "not_published", "scheduled_publish_at": None}
        extra += [Content.publish_slot.remove(),
                  Content.publish_error.set(f"The post was {event.event} in WordPress (status {event.status}).")]
        if event.event == "deleted":
            extra += [Content.external_id.remove(), Content.external_url.remove()]
    elif event.status == "publish":
        changes = {"site_status": "published"}
        if event.link:
            extra.append(Content.external_url.set(event.link))
        extra.append(Content.external_id.set(str(event.post_id)))
    if not changes:
        return {**result, "handled": False, "reason": f"status {event.status}"}
    actions, condition = transition_ops(content, changes, check=False, extra_actions=extra)
    try:
        content.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return {**result, "handled": False, "reason": "content changed meanwhile"}
        raise
    return {**result, "handled": True, "site_status": changes["site_status"]}
