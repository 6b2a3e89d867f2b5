"""Deleting a site or a sector: stopped at once, then everything it owns deleted in the background.

1. **Accepting** (``request_site_deletion`` / ``request_sector_deletion``, ``DELETE`` answers
   202): one transaction sets ``deleting_since`` on the site (or sector) and writes the
   ``Deletion`` a client polls; a site also frees its place under the plan's site limit in it.
   From then on no route changes the site, no job, publish or automation run starts or goes on
   (workers and ticks ask ``services.activity``; a publish's claim checks the flag in its own
   transaction). Then one message goes to the ``deletions`` queue, delayed by the grace period.
2. **Grace**: work that started before the flag (a worker, a tick, an API request) may still be
   writing; every function ends within its timeout, so the sweep starts ``grace_seconds()``
   after the flag and finds everything such work wrote.
3. **Sweep**: the rules of ``models.site_scope`` in dependency order (``plan``): children before
   their parent (job items before jobs, bodies and publishing records before content, keyword
   names before keywords), the files first, the site or sector itself last. Each rule walks
   its records page by page (GetItem or Query, never a Scan) and deletes them in batches;
   after each page the step, the cursor and the counts are saved on the Deletion.
4. **Resuming**: a worker holds the Deletion with a lease, works for a time budget and queues
   its own continuation. A worker that dies is replaced when SQS delivers its message again
   (its lease has expired by then); the next one goes on from the saved step and cursor.
   Deleting twice is harmless, so a page redone after a crash changes nothing. A message whose
   turn has passed (a duplicate) is dropped; ``DELETE`` again re-sends a stalled deletion.

Kept: the credit ledger (money history), and the Deletion itself for ``RETENTION`` after it
completed (its TTL). WordPress is never touched: published posts and their media stay there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.models import Model

from chalicelib import config, messages, registry
from chalicelib.errors import Conflict, NotFound
from chalicelib.ids import new_id
from chalicelib.messages import DeletionTurn
from chalicelib.models import site_scope as rules
from chalicelib.models.accounts import Account, Sector, Site, site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.deletions import RETENTION, Deletion, sector_target, site_target
from chalicelib.models.site_records import join_key
from chalicelib.models.transactions import Transaction
from chalicelib.models.writer import Content
from chalicelib.observability import logger
from chalicelib.services import media
from chalicelib.services.publishing import reservations
from chalicelib.services.sites import get_sector, get_site
from chalicelib.timeutil import utcnow

QUEUE = "deletions"
MAX_DEAD_LETTERS = 3
PAGE = 100
MAX_DELAY_SECONDS = 900  # SQS's longest message delay
FILES, SLOTS = "files", "slots"


class DeletionBusy(Exception):
    """Another worker holds the deletion: SQS delivers this message again later."""


class _Superseded(Exception):
    """This worker's lease was taken over (it ran past it): stop without writing more."""


def grace_seconds() -> int:
    """How long after the stop the sweep waits: the longest any function runs, plus a margin.

    ``DELETION_GRACE_SECONDS`` sets it instead (the tests, whose workers run one at a time).
    """
    configured = config.deletion_grace_seconds()
    if configured is not None:
        return configured
    return max([q.function_timeout for q in registry.QUEUES] + [s.function_timeout for s in registry.SCHEDULES]) + 60


# --- the plan: the rules, in the order they run ----------------------------------------------

@dataclass(frozen=True)
class Step:
    name: str  # a table's short name, or FILES / SLOTS
    model: type[Model] | None
    rule: Any


def short_name(model: type[Model]) -> str:
    return str(model.Meta.table_name).removeprefix(f"{config.resource_prefix()}-")


def scope_attr(kind: str) -> str:
    return "site_scope" if kind == "site" else "sector_scope"


def plan(kind: str) -> list[Step]:
    """Every table's rule for a ``site`` or ``sector`` deletion: files (and for a sector, its
    slots) first, then children before their parents, the site or sector itself last."""
    attr = scope_attr(kind)
    declared = [(m, getattr(m, attr, None)) for m in registry.table_models()]
    found = [(m, r) for m, r in declared if r is not None and r.deletes]
    last = [Step(short_name(m), m, r) for m, r in found if isinstance(r, rules.Itself)]
    rest = [(m, r) for m, r in found if not isinstance(r, rules.Itself)]
    ordered: list[Step] = []
    while rest:
        for index, (model, rule) in enumerate(rest):
            if not any(getattr(other, "parent", None) is model for _, other in rest):
                ordered.append(Step(short_name(model), model, rule))
                del rest[index]
                break
        else:
            raise ValueError(f"the {attr} rules' parents form a cycle: {[short_name(m) for m, _ in rest]}")
    first = [Step(SLOTS, None, SLOTS)] if kind == "sector" else []
    return [*first, Step(FILES, None, FILES), *ordered, *last]


# --- accepting a deletion ------------------------------------------------------------------------

def request_site_deletion(account_id: str, site_id: str, *, user_id: str | None = None) -> Deletion:
    """Stop the site and queue its deletion; again while it runs: the same deletion (re-sent)."""
    site = get_site(account_id, site_id, include_deleting=True)
    target = site_target(site_id)
    if site.deleting_since is None:
        now = utcnow()
        deletion = Deletion(account_id, target, kind="site", site_id=site_id, requested_by=user_id,
                            sweep_after=now + timedelta(seconds=grace_seconds()))
        tx = Transaction("accept a site's deletion")
        tx.update(Site(account_id, site_id), [Site.deleting_since.set(now)],
                  condition=Site.site_id.exists() & Site.deleting_since.does_not_exist(), label="site")
        # The plan's site counter is freed now: the site takes nothing new from here on.
        tx.update(Account(account_id), [Account.site_count.add(-1)], label="account")
        tx.put(deletion, condition=Deletion.target.does_not_exist(), label="deletion")
        with conditional():  # a concurrent DELETE won: its deletion is read below
            tx.commit()
    return _accepted(account_id, target, "Site")


def request_sector_deletion(account_id: str, site_id: str, sector_id: str, *, cascade: bool,
                            user_id: str | None = None) -> Deletion:
    """Stop the sector and queue its deletion with its records. Without ``cascade`` a sector that
    has records is a 409 ``sector_not_empty`` (nothing is deleted by surprise)."""
    get_site(account_id, site_id)
    sector = get_sector(account_id, site_id, sector_id)
    target = sector_target(site_id, sector_id)
    if sector.deleting_since is None:
        if not cascade:
            owned = sector_records(account_id, site_id, sector_id)
            if owned:
                raise Conflict("The sector has records; DELETE it with ?cascade=true to delete them with it.",
                               code="sector_not_empty", details={"has": owned})
        now = utcnow()
        deletion = Deletion(account_id, target, kind="sector", site_id=site_id, sector_id=sector_id,
                            requested_by=user_id, sweep_after=now + timedelta(seconds=grace_seconds()))
        tx = Transaction("accept a sector's deletion")
        tx.update(Sector(site_key(account_id, site_id), sector_id), [Sector.deleting_since.set(now)],
                  condition=Sector.sector_id.exists() & Sector.deleting_since.does_not_exist(), label="sector")
        tx.put(deletion, condition=Deletion.target.does_not_exist(), label="deletion")
        with conditional():  # a concurrent DELETE won: its deletion is read below
            tx.commit()
    return _accepted(account_id, target, "Sector")


def sector_records(account_id: str, site_id: str, sector_id: str) -> list[str]:
    """The tables in which the sector has at least one record (one Query of one item each)."""
    target = _Target(account_id, site_id, sector_id)
    return [step.name for step in plan("sector") if step.model is not None
            and isinstance(step.rule, rules.SectorIndex | rules.SectorPartition)
            and _walk(step.model, step.rule, target, None, 1)[0]]


def _accepted(account_id: str, target: str, what: str) -> Deletion:
    try:
        deletion = Deletion.get(account_id, target, consistent_read=True)
    except Deletion.DoesNotExist:
        raise NotFound(what) from None
    if deletion.status != "completed":
        if int(deletion.dead_letters or 0):
            deletion.update(actions=[Deletion.dead_letters.set(0)])  # asked again: resume it as new
        _send(deletion, delay=_seconds_until(deletion.sweep_after))
    return deletion


def get_deletion(account_id: str, target: str, what: str) -> Deletion:
    try:
        return Deletion.get(account_id, target)
    except Deletion.DoesNotExist:
        raise NotFound(f"{what} deletion") from None


def _seconds_until(when: datetime) -> float:
    return max(0.0, (when - utcnow()).total_seconds())


def _send(deletion: Deletion, *, delay: float = 0) -> None:
    """Queue (a turn of) the deletion. ``after``: the turn it continues (see ``_claim``)."""
    turn = DeletionTurn(account_id=deletion.account_id, target=deletion.target, after=int(deletion.invocations or 0))
    messages.send(registry.queue(QUEUE), [turn],
                  delay_seconds=min(MAX_DELAY_SECONDS, int(delay) + 1) if delay > 0 else 0)


def _unfinished(message: DeletionTurn) -> Deletion | str:
    """The deletion a message is about, or why there is nothing to do: missing, or duplicate (it completed)."""
    try:
        deletion = Deletion.get(message.account_id, message.target, consistent_read=True)
    except Deletion.DoesNotExist:
        return "missing"
    return "duplicate" if deletion.status == "completed" else deletion


def resume_dead_letter(message: DeletionTurn) -> str:
    """A turn whose worker died on every delivery: queue the deletion again, to go on from its saved
    step, at most ``MAX_DEAD_LETTERS`` times; then it waits, shown ``stalled``, for ``DELETE`` again."""
    deletion = _unfinished(message)
    if isinstance(deletion, str):
        return deletion
    seen = int(deletion.dead_letters or 0)
    if seen >= MAX_DEAD_LETTERS:
        logger.error("deletion stalled: its worker keeps dying", extra={"target": deletion.target})
        return "stalled"
    with conditional() as write:
        deletion.update(actions=[Deletion.dead_letters.set(seen + 1)], condition=Deletion.dead_letters == seen)
    if not write.held:
        return "duplicate"  # another delivery of this dead letter resumed it
    _send(deletion)
    return "resumed"


# --- running it ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    account_id: str
    site_id: str
    sector_id: str | None = None


def process(message: DeletionTurn, *, budget_seconds: float) -> str:
    """One turn: claim the deletion, run steps for ``budget_seconds``, then queue the next turn.

    Returns completed / continued / waiting (grace not over) / duplicate / missing / stale
    (a turn that has passed); raises ``DeletionBusy`` while another worker holds it.
    """
    deletion = _unfinished(message)
    if isinstance(deletion, str):
        return deletion
    now = utcnow()
    if now < deletion.sweep_after:
        _send(deletion, delay=_seconds_until(deletion.sweep_after))
        return "waiting"
    attempt_id = _claim(deletion, now, message.after)
    if attempt_id is None:
        return "stale"
    deadline = time.monotonic() + budget_seconds
    target = _Target(deletion.account_id, deletion.site_id, deletion.sector_id)
    steps = plan(deletion.kind)
    try:
        while int(deletion.step) < len(steps):
            if _run_page(steps[int(deletion.step)], deletion, target):
                deletion.step = int(deletion.step) + 1
                deletion.cursor = None
            _save_progress(deletion, attempt_id)
            if int(deletion.step) < len(steps) and time.monotonic() > deadline:
                _send(deletion)  # the next turn first: if this worker dies now, its lease lapses
                _release(deletion, attempt_id)
                return "continued"
        _complete(deletion, attempt_id)
    except _Superseded:
        return "superseded"
    logger.info("deletion completed", extra={"target": deletion.target, "counts": deletion.counts})
    return "completed"


def _lease() -> timedelta:
    return timedelta(seconds=registry.queue(QUEUE).function_timeout)


def _claim(deletion: Deletion, now: datetime, after: int) -> str | None:
    """Take the deletion for one turn. A message may take it when the lease it finds was
    released by the turn it continues (``after`` = the turns so far), or when the lease has
    lapsed (its holder died: any message takes over). None: this message's turn has passed."""
    attempt_id = new_id()
    free = Deletion.lease_until.does_not_exist() & (Deletion.invocations == after)
    with conditional() as write:
        deletion.update(actions=[Deletion.lease_until.set(now + _lease()), Deletion.attempt_id.set(attempt_id),
                                 Deletion.status.set("deleting"), Deletion.invocations.add(1),
                                 Deletion.started_at.set(deletion.started_at or now)],
                        condition=(Deletion.status != "completed") & (free | (Deletion.lease_until < now)))
    if not write.held:
        deletion.refresh(consistent_read=True)
        if deletion.status != "completed" and deletion.lease_until and deletion.lease_until >= now:
            raise DeletionBusy(f"{deletion.target} is held by another worker") from None
        return None
    return attempt_id


def _save_progress(deletion: Deletion, attempt_id: str) -> None:
    cursor = Deletion.cursor.set(deletion.cursor) if deletion.cursor else Deletion.cursor.remove()
    _held_update(deletion, attempt_id, [Deletion.step.set(int(deletion.step)), cursor,
                                        Deletion.counts.set(dict(deletion.counts))])


def _release(deletion: Deletion, attempt_id: str) -> None:
    _held_update(deletion, attempt_id, [Deletion.lease_until.remove()])


def _complete(deletion: Deletion, attempt_id: str) -> None:
    now = utcnow()
    _held_update(deletion, attempt_id, [
        Deletion.status.set("completed"), Deletion.finished_at.set(now), Deletion.lease_until.remove(),
        Deletion.cursor.remove(), Deletion.expires_epoch.set(int((now + RETENTION).timestamp()))])


def _held_update(deletion: Deletion, attempt_id: str, actions: list) -> None:
    with conditional(otherwise=_Superseded):
        deletion.update(actions=actions, condition=Deletion.attempt_id == attempt_id)


def _count(deletion: Deletion, name: str, n: int) -> None:
    if n:
        counts = dict(deletion.counts or {})
        counts[name] = int(counts.get(name, 0)) + n
        deletion.counts = counts


# --- one page of one step -------------------------------------------------------------------------

def _run_page(step: Step, deletion: Deletion, target: _Target) -> bool:
    """Delete one page of the step's records; True when the step has nothing left."""
    if step.rule == FILES:
        return _files_page(deletion, target)
    if step.rule == SLOTS:
        return _slots_page(deletion, target)
    assert step.model is not None
    rule = step.rule
    if isinstance(rule, rules.Itself):
        _delete_itself(step.model, target)
        _count(deletion, step.name, 1)
        return True
    if isinstance(rule, rules.ChildrenOf | rules.ChildOf):
        parents, cursor = _walk(rule.parent, getattr(rule.parent, scope_attr(deletion.kind)), target,
                                deletion.cursor, PAGE)
        _count(deletion, step.name, _delete_children(step.model, rule, parents))
        deletion.cursor = cursor
        return cursor is None
    items, cursor = _walk(step.model, rule, target, deletion.cursor, PAGE)
    owner = getattr(rule, "owner_attr", None)
    if owner:
        items = [i for i in items if getattr(i, owner, None) == target.account_id]
    _count(deletion, step.name, _delete_items(step.model, items))
    deletion.cursor = cursor
    if cursor is None and isinstance(rule, rules.Partition) and not owner:
        # The walk is over: anything written behind it (it should not be) starts it again.
        return not _walk(step.model, rule, target, None, 1)[0]
    return cursor is None


def _walk(model: type[Model], rule: Any, target: _Target, cursor: dict | None,
          limit: int) -> tuple[list[Model], dict | None]:
    """A page of the records ``rule`` finds, from ``cursor``; and where the next page starts."""
    a, s = target.account_id, target.site_id
    if isinstance(rule, rules.Item):
        if cursor is not None:
            return [], None
        try:
            return [model.get(a, s, consistent_read=True)], None
        except model.DoesNotExist:
            return [], None
    if isinstance(rule, rules.Partition):
        results = model.query(rule.key(a, s), consistent_read=True, limit=limit, last_evaluated_key=cursor)
    elif isinstance(rule, rules.SectorPartition):
        results = model.query(rule.key(a, s, str(target.sector_id)), consistent_read=True, limit=limit,
                              last_evaluated_key=cursor)
    elif isinstance(rule, rules.SectorIndex):
        results = getattr(model, rule.index).query(join_key(site_key(a, s), target.sector_id), limit=limit,
                                                   last_evaluated_key=cursor)
    else:
        raise TypeError(f"{short_name(model)}: a {type(rule).__name__} rule cannot list records")
    items = list(results)
    return items, results.last_evaluated_key


def _delete_items(model: type[Model], items: list[Model]) -> int:
    if items:
        with model.batch_write() as batch:
            for item in items:
                batch.delete(item)
    return len(items)


def _delete_children(model: type[Model], rule: Any, parents: list[Model]) -> int:
    deleted = 0
    if isinstance(rule, rules.ChildOf):
        keys = list(dict.fromkeys(rule.key(p) for p in parents))
        return _delete_items(model, list(model.batch_get(keys))) if keys else 0
    for parent in parents:
        while True:
            children = list(model.query(rule.key(parent), consistent_read=True, limit=PAGE))
            if not children:
                break
            deleted += _delete_items(model, children)
    return deleted


def _delete_itself(model: type[Model], target: _Target) -> None:
    if model is Site:
        item: Model = Site(target.account_id, target.site_id)
        condition = Site.deleting_since.exists()
    elif model is Sector:
        item = Sector(site_key(target.account_id, target.site_id), str(target.sector_id))
        condition = Sector.deleting_since.exists()
    else:
        raise TypeError(f"{short_name(model)} cannot be the deleted record itself")
    with conditional():  # deleted already (a turn redone after a crash)
        item.delete(condition=condition)


def _files_page(deletion: Deletion, target: _Target) -> bool:
    if target.sector_id is None:
        deleted = media.delete_prefix(media.site_prefix(target.account_id, target.site_id))
        _count(deletion, FILES, deleted)
        return deleted == 0
    contents, cursor = _walk(Content, Content.sector_scope, target, deletion.cursor, PAGE)
    for content in contents:
        prefix = media.content_prefix(target.account_id, target.site_id, content.content_id)
        while (deleted := media.delete_prefix(prefix)) > 0:
            _count(deletion, FILES, deleted)
    deletion.cursor = cursor
    return cursor is None


def _slots_page(deletion: Deletion, target: _Target) -> bool:
    """A sector's unpublished content gives its publishing slots back before it is deleted."""
    contents, cursor = _walk(Content, Content.sector_scope, target, deletion.cursor, PAGE)
    _count(deletion, SLOTS, sum(1 for c in contents if c.site_status != "not_published"
                                and reservations.release_for_deletion(c)))
    deletion.cursor = cursor
    return cursor is None


# --- what a client sees -------------------------------------------------------------------------------

def view(deletion: Deletion) -> dict[str, Any]:
    steps = plan(deletion.kind)
    step = min(int(deletion.step), len(steps))
    base = f"/v1/sites/{deletion.site_id}"
    path = f"{base}/sectors/{deletion.sector_id}" if deletion.kind == "sector" else base
    expires = (datetime.fromtimestamp(int(deletion.expires_epoch), tz=UTC)
               if deletion.expires_epoch else None)
    return {"kind": deletion.kind, "site_id": deletion.site_id, "sector_id": deletion.sector_id,
            "status": deletion.status, "requested_at": deletion.created_at, "sweep_after": deletion.sweep_after,
            "started_at": deletion.started_at, "finished_at": deletion.finished_at, "expires_at": expires,
            "steps_done": step, "steps_total": len(steps),
            "stalled": deletion.status != "completed" and int(deletion.dead_letters or 0) >= MAX_DEAD_LETTERS,
            "current_step": steps[step].name if deletion.status != "completed" and step < len(steps) else None,
            "deleted": {k: int(v) for k, v in sorted((deletion.counts or {}).items())},
            "poll": f"{path}/deletion"}
