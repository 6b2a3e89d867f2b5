"""Reservations: a content's publishing time, counted against the site's limits, in one transaction.

Approved content gets the next free slot (publish days x time slots, in the site's time
zone) that the daily, weekly and monthly limits allow. A reservation is one transaction:
the slot's claim (one article per slot), +1 on the day, week and month counters (each
conditional on ``count < limit``) and the content's move to ``scheduled`` (conditional on it
being approved and in the state it was read in). Moving a reservation (a new time, or
"publish now" for scheduled content) releases the old claim and its counters in the same
transaction. No race between schedulers, ticks or manual publishes can pass a limit or fill
a slot twice. A time a person chose that is not one of the site's slots takes no slot but
counts all the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from chalicelib.errors import ApiError, Conflict, UnprocessableEntity
from chalicelib.models.accounts import Site
from chalicelib.models.conditions import conditional
from chalicelib.models.publisher import PublishCounter, PublishingSettings, SlotClaim
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.models.writer import Content
from chalicelib.services.activity import Gates
from chalicelib.services.publishing import slots
from chalicelib.services.publishing.settings import PERIOD_NAMES, get_settings, is_slot_time, limits
from chalicelib.services.sites import get_site
from chalicelib.services.state_machines import transition_ops
from chalicelib.timeutil import utcnow

LEAD_TIME = timedelta(minutes=2)  # never schedule into the next two minutes
COUNTER_TTL_DAYS = 400


def slot_key(at: datetime) -> str:
    """The range key of a slot claim: the UTC time, so claims sort by time."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manual_key(at: datetime, content_id: str) -> str:
    """A time a person chose (or "now") that is not one of the site's slots: counted, no slot taken."""
    return f"{slot_key(at)}#manual#{content_id}"


# --- the period counters -------------------------------------------------------------------------

def _count(tx: Transaction, skey: str, period: str, delta: int, limit: int | None = None, *, label: str) -> None:
    """Add ``delta`` to a period's counter in ``tx``: up to ``limit``, or down to zero."""
    now = utcnow()
    actions: list[Action] = [PublishCounter.count.add(delta),
                             PublishCounter.created_at.set(PublishCounter.created_at | now)]
    if delta > 0:
        if limit is None or limit < delta:
            raise ValueError("a limit below the increment allows nothing; check it before writing")
        expires = int((now + timedelta(days=COUNTER_TTL_DAYS)).timestamp())
        actions.append(PublishCounter.expires_epoch.set(expires))
        condition = PublishCounter.count.does_not_exist() | (PublishCounter.count <= limit - delta)
    else:
        condition = PublishCounter.count >= -delta
    tx.update(PublishCounter(skey, period), actions, condition=condition, label=label)


def counts(skey: str, periods: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(periods))
    out = dict.fromkeys(wanted, 0)
    if wanted:
        for counter in PublishCounter.batch_get([(skey, p) for p in wanted]):
            out[counter.period] = int(counter.count or 0)
    return out


# --- taking and giving back -----------------------------------------------------------------------

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


def _still_no_claim(tx: Transaction, content: Content, *, label: str) -> None:
    """The content points at a slot where no claim of it was found: none may have appeared since."""
    tx.check(SlotClaim, content.site_key, content.publish_slot,
             condition=SlotClaim.content_id.does_not_exist() | (SlotClaim.content_id != content.content_id),
             label=label)


def _reserve(content: Content, settings: PublishingSettings, *, key: str, at: datetime, periods: list[str],
             manual: bool, old_claim: SlotClaim | None = None) -> str:
    """One transaction: [release old_claim], claim the slot, count it, schedule the content.

    Returns "ok", "slot_taken", "d" / "w" / "m" (that limit is reached) or "content_changed".
    Periods the old claim already counts are not counted twice (a move within a week
    changes neither the week's nor the month's counter).
    """
    allowed = limits(settings)
    held = set(old_claim.periods) if old_claim is not None else set()
    for period in periods:
        if period not in held and allowed[period[0]] <= 0:
            return period[0]
    skey = content.site_key
    tx = Transaction("reserve a publishing time")
    if old_claim is not None:
        tx.delete(old_claim, condition=_still_held(old_claim, content), label="old_claim")
        for period in old_claim.periods:
            if period not in periods:
                _count(tx, skey, period, -1, label=f"old:{period}")
    elif content.publish_slot and content.publish_slot != key:  # at key itself the put's condition checks it
        _still_no_claim(tx, content, label="old_claim")
    tx.put(SlotClaim(skey, key, content_id=content.content_id, title=content.title[:200], periods=periods,
                     manual=manual), condition=SlotClaim.slot.does_not_exist(), label="slot")
    for period in periods:
        if period not in held:
            _count(tx, skey, period, +1, allowed[period[0]], label=period[0])
    actions, condition = transition_ops(
        content, {"site_status": "scheduled", "scheduled_publish_at": at},
        extra_actions=[Content.site_status_updated_at.set(utcnow()), Content.publish_slot.set(key),
                       Content.publish_error.remove()])
    tx.update(content, actions, condition=condition & (Content.status == "approved") & _same_slot(content),
              label="content")
    try:
        tx.commit()
    except ConditionsFailed as exc:
        failed = exc.labels
        if "content" in failed or "old_claim" in failed:
            return "content_changed"
        if "slot" in failed:
            return "slot_taken"
        for kind in ("d", "w", "m"):
            if kind in failed:
                return kind
        return "content_changed"  # an old counter would go below zero: the claim changed under us
    return "ok"


def limit_error(outcome: str) -> ApiError:
    if outcome in PERIOD_NAMES:
        name = PERIOD_NAMES[outcome]
        return Conflict(f"The site's {name} publishing limit is reached for that time; pick another time, "
                        "or raise the limit in the publishing settings.", code="publish_limit_reached",
                        details={"limit": name})
    if outcome == "slot_taken":
        return Conflict("Another article already has this time slot.", code="slot_taken")
    return Conflict("The content changed while it was being scheduled; reload it and try again.",
                    code="concurrent_change")


def _give_back(content: Content, claim: SlotClaim, tx: Transaction) -> None:
    tx.delete(claim, condition=_still_held(claim, content), label="claim")
    for period in claim.periods:
        _count(tx, content.site_key, period, -1, label=period)


def release(content: Content) -> None:
    """Unschedule: free the slot and its three counters, back to not_published."""
    if content.site_status not in ("scheduled", "failed"):
        raise Conflict("Only scheduled (or failed) content can be unscheduled.", code="content_not_scheduled",
                       details={"site_status": content.site_status})
    claim = claim_of(content)
    actions, condition = transition_ops(
        content, {"site_status": "not_published", "scheduled_publish_at": None},
        extra_actions=[Content.site_status_updated_at.set(utcnow()), Content.publish_slot.remove(),
                       Content.publish_lease_until.remove()])
    tx = Transaction("release a publishing time")
    tx.update(content, actions, condition=condition & _same_slot(content), label="content")
    if claim is not None:
        _give_back(content, claim, tx)
    elif content.publish_slot:
        _still_no_claim(tx, content, label="claim")
    try:
        tx.commit()
    except ConditionsFailed:
        raise Conflict("The content changed meanwhile (it may be publishing now); reload it.",
                       code="concurrent_change") from None


def release_for_deletion(content: Content) -> bool:
    """A content of a sector being deleted gives back its slot and counters, unless it was published
    (then the slot was used: the post stays in WordPress and the limits count it). Idempotent."""
    claim = claim_of(content)
    if claim is None or claim.state == "published" or content.site_status == "published":
        return False
    tx = Transaction("release a deleted content's publishing time")
    _give_back(content, claim, tx)
    try:
        tx.commit()
    except ConditionsFailed:
        return False
    return True


def claim_of(content: Content) -> SlotClaim | None:
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


def set_claim_state(content: Content, state: str) -> None:
    """Mirror the content's publishing state on its slot (the calendar shows it)."""
    claim = claim_of(content)
    if claim is not None:  # conditional: an update of a claim released meanwhile would write a bare one back
        with conditional():
            claim.update(actions=[SlotClaim.state.set(state)], condition=SlotClaim.content_id == content.content_id)


# --- the next free slot ----------------------------------------------------------------------------

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
    allowed = limits(settings)
    if min(allowed.values()) <= 0 or not settings.publish_days or not settings.publish_time_slots:
        return None
    tz = ZoneInfo(site.time_zone)
    skey = content.site_key
    taken = _taken_slots(skey, after)
    usage = _Usage(skey)
    full: set[str] = set()
    while True:
        jumped = False
        for slot in slots.iter_slots(after=after, time_zone=site.time_zone, publish_days=list(settings.publish_days),
                                     time_slots=list(settings.publish_time_slots)):
            if slot.key in taken:
                continue
            periods = list(slot.periods)
            used = usage(periods)
            blocked = next((p for p in periods if p in full or used[p] >= allowed[p[0]]), None)
            if blocked is None:
                outcome = _reserve(content, settings, key=slot.key, at=slot.at, periods=periods, manual=False)
                if outcome == "ok":
                    return slot.at
                if outcome == "slot_taken":
                    taken.add(slot.key)
                    continue
                if outcome == "content_changed":
                    raise limit_error(outcome)
                blocked = next(p for p in periods if p[0] == outcome)
            # Jump past the whole full period instead of trying each of its slots.
            full.add(blocked)
            after = slots.next_period_start(blocked, tz).astimezone(UTC) - timedelta(microseconds=1)
            jumped = True
            break
        if not jumped:
            return None


def take_next_slot(content: Content, *, not_before: datetime | None = None,
                   settings: PublishingSettings | None = None, site: Site | None = None,
                   gates: Gates | None = None) -> Content | None:
    """Give approved, unscheduled content the next free slot. None: no slot within the horizon.

    Content that is already scheduled is returned as it is (a repeated request changes nothing).
    """
    account_id, site_id = content.account_id, content.site_id
    site = site or get_site(account_id, site_id)
    settings = settings or get_settings(account_id, site_id)
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
    in_slot = is_slot_time(local, settings)
    key = slot_key(at) if in_slot else manual_key(at, content.content_id)
    old_claim = claim_of(content) if content.site_status in ("scheduled", "failed") else None
    if old_claim is not None and old_claim.slot == key:
        return content  # already exactly there
    outcome = _reserve(content, settings, key=key, at=at, periods=list(slots.periods_of(local.date())),
                       manual=not in_slot, old_claim=old_claim)
    if outcome != "ok":
        raise limit_error(outcome)
    content.refresh()
    return content


def take_time_now(content: Content, site: Site, settings: PublishingSettings) -> None:
    """"Publish now": a manual reservation at this second, inside today's, this week's and this
    month's limits. Scheduled content gives up its slot in the same write; if a limit is reached
    it keeps it."""
    now = utcnow().replace(microsecond=0)
    key = manual_key(now, content.content_id)
    old_claim = claim_of(content) if content.site_status == "scheduled" else None
    if old_claim is None or old_claim.slot != key:
        periods = list(slots.periods_of(now.astimezone(ZoneInfo(site.time_zone)).date()))
        outcome = _reserve(content, settings, key=key, at=now, periods=periods, manual=True, old_claim=old_claim)
        if outcome != "ok":
            raise limit_error(outcome)
