"""Jobs: start a stage on chosen items, process each item exactly once, show progress.

Flow: ``create_job`` writes the Job and its JobItems, checks the credit estimate, and
sends one SQS message per item. ``process_message`` (called by the stage's queue handler)
claims the item with a lease, runs the stage, then finishes the item and bumps the job's
counters in one transaction conditional on the item's status: however often SQS delivers
a message, and whichever worker wins a race, an item is done (and charged) once.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib import messages, registry
from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import is_condition_failure
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.transactions import transact_write
from chalicelib.observability import logger
from chalicelib.services.activity import Gate, Gates
from chalicelib.timeutil import utcnow

MAX_ITEMS_PER_JOB = 1000
FINAL = ("done", "failed", "skipped")


class ItemFailed(Exception):
    """The item cannot succeed as it is (bad input, no credits...): fail it now, no retry."""

    def __init__(self, message: str, code: str = "item_failed") -> None:
        super().__init__(message)
        self.code = code


class ItemSkipped(Exception):
    """Nothing to do for this item (already done elsewhere, or no longer eligible)."""


class ItemBusy(Exception):
    """Another worker holds the item's lease: let SQS deliver it again later."""


class ItemHeld(Exception):
    """The item's account, site or sector is deactivated: the item waits, queued, unchanged;
    ``requeue_held_items`` sends it again once it is active."""


@dataclass
class ItemSpec:
    item_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    sector_id: str | None = None  # the sector of the record the item works on


@dataclass
class ItemContext:
    account_id: str
    site_id: str
    job: Job
    item: JobItem
    gates: Gates = field(default_factory=Gates)
    records: list[str] = field(default_factory=list)  # the records this delivery holds (services.claims)

    @property
    def charge_key(self) -> str:
        """Idempotency key of this item's credit charge: the business key, not the message."""
        return f"{self.job.job_id}#{self.item.item_id}"

    def require_open_sector(self, sector_id: str | None) -> None:
        """Before a stage works on a record: its sector deactivated -> held; being deleted -> skipped."""
        gate = self.gates.sector(self.account_id, self.site_id, sector_id)
        if gate.gone:
            raise ItemSkipped(gate.message)
        if not gate.open:
            raise ItemHeld(gate.message)


@dataclass
class ItemOutcome:
    """What a stage made of one item. Its credits are counted by the charge itself (stages._charge)."""

    result: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageDef:
    name: str
    queue_key: str
    operation: str | None
    select: Callable[[str, str, dict[str, Any]], list[ItemSpec]]
    run: Callable[[ItemContext], ItemOutcome]
    estimate: Callable[[str, str, list[ItemSpec]], dict[str, int]] = lambda *_: {}
    description: str = ""
    # What an item works on, claimed for its job (services.claims): the kind of record, and
    # the records of an item (by default the item itself; clustering: its keywords).
    record_kind: str = "record"
    records: Callable[[ItemSpec], list[str]] = lambda spec: [spec.item_id]
    # The payload changes for an item left with only some of its records (the others are held elsewhere).
    narrow: Callable[[ItemSpec, list[str]], dict[str, Any]] = lambda spec, records: {}

    def records_of(self, item: JobItem) -> list[str]:
        return self.records(ItemSpec(item.item_id, dict(item.payload or {})))


STAGES: dict[str, StageDef] = {}


def register_stage(stage: StageDef) -> StageDef:
    STAGES[stage.name] = stage
    return stage


def get_stage(name: str) -> StageDef:
    _load_stages()
    try:
        return STAGES[name]
    except KeyError:
        raise UnprocessableEntity(f"Unknown stage {name!r}; one of: {', '.join(sorted(STAGES))}.",
                                  details=[{"field": "stage", "message": "unknown stage"}]) from None


def _load_stages() -> None:
    if not STAGES:
        import chalicelib.services.stages  # noqa: F401 - registers every stage


# --- starting ----------------------------------------------------------------------------

def create_job(account_id: str, site_id: str, stage_name: str, selection: dict[str, Any], *,
               user_id: str | None = None, run_id: str | None = None, check_credits: bool = True,
               job_id: str | None = None) -> Job:
    """Write the job and its items, then queue one message per item.

    With a ``job_id`` chosen by the caller (an automation run reserves it first), creating
    it again is safe: if the job exists, its still-queued items are sent again (a crash
    between writing and sending loses nothing) and the existing job is returned.
    """
    from chalicelib.services import credits
    from chalicelib.services.sites import get_site

    get_site(account_id, site_id)
    stage = get_stage(stage_name)
    if job_id is not None:
        existing = _existing_job(account_id, site_id, job_id)
        if existing is not None:
            queued = [i.item_id for i in JobItem.query(job_key(account_id, job_id),
                                                       filter_condition=JobItem.status == "queued")]
            if queued and existing.status == "running":
                send_items(stage, account_id, site_id, job_id, queued)
            return existing
    items = _in_open_sectors(account_id, site_id, selection, stage.select(account_id, site_id, selection))
    if not items:
        raise UnprocessableEntity(f"There is nothing to {stage.description or stage.name} for this selection.",
                                  code="nothing_to_do")
    if len(items) > MAX_ITEMS_PER_JOB:
        raise UnprocessableEntity(f"A job takes at most {MAX_ITEMS_PER_JOB} items; narrow the selection.",
                                  code="too_many_items")
    estimate = stage.estimate(account_id, site_id, items)
    if check_credits and estimate:
        credits.require_credits(account_id, estimate)
    # Claims, then items, then the job last: until the job exists no message is acted on (a
    # message for a missing job is dropped), so a crash in between leaves nothing half-started
    # (claims whose job item does not exist count as free).
    reserved = job_id is not None
    job_id = job_id or new_id()
    runnable, held_elsewhere = _claim_records(stage, account_id, site_id, job_id, items)
    if not runnable:
        holders = sorted({h for spec_holders in held_elsewhere.values() for h in spec_holders})
        raise Conflict(f"Other jobs are already working on every item of this selection ({', '.join(holders)}); "
                       "wait for them to finish.", code="items_claimed",
                       details={"held_by": [{"job_id": h} for h in holders]})
    new_items = []
    for spec in items:
        item = JobItem(job_key(account_id, job_id), spec.item_id, account_id=account_id, site_id=site_id,
                       job_id=job_id, stage=stage.name, payload=spec.payload)
        if spec.item_id not in runnable:
            holders = ", ".join(held_elsewhere[spec.item_id])
            item.status, item.finished_at = "skipped", utcnow()
            item.error, item.error_code = f"Job {holders} is already working on it.", "items_claimed"
        elif held_elsewhere.get(spec.item_id):
            item.payload = {**spec.payload, **runnable[spec.item_id],
                            "held_elsewhere": held_elsewhere[spec.item_id]}
        new_items.append(item)
    if reserved:
        # Two deliveries may create a reserved job at once: never overwrite an item the other's
        # job has started on (small jobs: automation stages are bounded by their limits).
        for item in new_items:
            try:
                item.save(condition=JobItem.item_id.does_not_exist())
            except PutError as exc:
                if not is_condition_failure(exc):
                    raise
    else:
        with JobItem.batch_write() as batch:
            for item in new_items:
                batch.save(item)
    job = Job(site_key(account_id, site_id), job_id, account_id=account_id, site_id=site_id, stage=stage.name,
              total=len(items), skipped=len(items) - len(runnable), estimate=estimate, params=_json_safe(selection),
              created_by=user_id, run_id=run_id)
    try:
        job.save(condition=Job.job_id.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):  # a concurrent creation of the same reserved job won
            return Job.get(job.site_key, job_id, consistent_read=True)
        raise
    send_items(stage, account_id, site_id, job_id, [s.item_id for s in items if s.item_id in runnable])
    return job


def _in_open_sectors(account_id: str, site_id: str, selection: dict[str, Any],
                     items: list[ItemSpec]) -> list[ItemSpec]:
    """No job works on a deactivated sector (or one being deleted): records a client chose there
    are a 409; records a filter found there are left out (they wait for their sector)."""
    gates = Gates()
    closed: dict[str, Gate] = {}
    for spec in items:
        if spec.sector_id and spec.sector_id not in closed:
            gate = gates.sector(account_id, site_id, spec.sector_id)
            if not gate.open:
                closed[spec.sector_id] = gate
    chosen = any(name.endswith("_ids") and selection.get(name) for name in selection)
    if closed and (chosen or selection.get("sector_id") in closed):
        sector_id, gate = next(iter(closed.items()))
        raise Conflict(f"Sector {sector_id}: {gate.message} Leave its records out of the job.",
                       code=gate.code or "sector_inactive", details={"sector_ids": sorted(closed)})
    return [spec for spec in items if spec.sector_id not in closed]


def _claim_records(stage: StageDef, account_id: str, site_id: str, job_id: str,
                   items: list[ItemSpec]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Claim every item's records for the job. Returns (item id -> payload changes, for the items
    left with something to do; item id -> ids of the jobs holding some of its records)."""
    from chalicelib.services import claims

    records = {spec.item_id: stage.records(spec) for spec in items}
    claimed = claims.claim(account_id, site_id, stage.record_kind,
                           {r: item_id for item_id, rs in records.items() for r in rs}, job_id)
    held = set(claimed.held)
    runnable: dict[str, dict[str, Any]] = {}
    elsewhere: dict[str, list[str]] = {}
    for spec in items:
        mine = [r for r in records[spec.item_id] if r in held]
        jobs = sorted({claimed.taken[r].job_id for r in records[spec.item_id] if r in claimed.taken})
        if jobs:
            elsewhere[spec.item_id] = jobs
        if mine:
            runnable[spec.item_id] = stage.narrow(spec, mine) if len(mine) < len(records[spec.item_id]) else {}
    return runnable, elsewhere


def _existing_job(account_id: str, site_id: str, job_id: str) -> Job | None:
    try:
        return Job.get(site_key(account_id, site_id), job_id, consistent_read=True)
    except Job.DoesNotExist:
        return None


def send_items(stage: StageDef, account_id: str, site_id: str, job_id: str, item_ids: list[str]) -> None:
    messages.send(stage.queue_key, [{"stage": stage.name, "account_id": account_id, "site_id": site_id,
                                     "job_id": job_id, "item_id": item_id} for item_id in item_ids])


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


# --- processing --------------------------------------------------------------------------

def parse_message(body: str) -> dict[str, str]:
    return messages.parse(body, ("stage", "account_id", "site_id", "job_id", "item_id"))


_OUTCOME_METRIC = {"done": "ItemsProcessed", "failed": "ItemsFailed", "skipped": "ItemsSkipped"}


def process_message(message: dict[str, str], *, receive_count: int, max_receives: int) -> str:
    """Handle one delivery. Returns the outcome; raises to have SQS deliver it again."""
    from chalicelib.observability import log_context, metric

    with log_context(account_id=message["account_id"], job_id=message["job_id"], stage=message["stage"]):
        outcome = _process(message, receive_count=receive_count, max_receives=max_receives)
    if outcome in _OUTCOME_METRIC:
        metric(_OUTCOME_METRIC[outcome], 1, "Count", stage=message["stage"])
    return outcome


def _process(message: dict[str, str], *, receive_count: int, max_receives: int) -> str:
    account_id, site_id = message["account_id"], message["site_id"]
    job_id, item_id = message["job_id"], message["item_id"]
    stage = get_stage(message["stage"])
    gates = Gates()
    gate = gates.site(account_id, site_id)
    if gate.gone:
        return "site_gone"  # the site is being deleted: the job goes with it
    if not gate.open:
        return "held"  # stays queued; requeue_held_items sends it when the site is active again
    try:
        item = JobItem.get(job_key(account_id, job_id), item_id, consistent_read=True)
        job = Job.get(site_key(account_id, site_id), job_id)
    except (JobItem.DoesNotExist, Job.DoesNotExist):
        logger.warning("message for a missing job item; dropped", extra={"job_id": job_id, "item_id": item_id})
        return "missing"
    if item.status in FINAL:
        return "duplicate"
    if job.status == "cancelled":
        _finish(item, job, "skipped", error="The job was cancelled.", error_code="cancelled")
        return "skipped"
    if job.status == "paused":
        return "paused"  # the item stays queued; resume_job sends it again
    _claim(item, stage)
    ctx = ItemContext(account_id, site_id, job, item, gates)
    if not _hold_records(stage, ctx):
        return "skipped"
    try:
        outcome = stage.run(ctx)
    except ItemHeld:
        _hold(item)
        return "held"
    except ItemSkipped as exc:
        _finish(item, job, "skipped", error=str(exc) or None, error_code="skipped")
        return "skipped"
    except ItemFailed as exc:
        _finish(item, job, "failed", error=str(exc), error_code=exc.code)
        return "failed"
    except ApiError as exc:  # e.g. insufficient credits, a record gone missing
        _finish(item, job, "failed", error=exc.message, error_code=exc.code)
        return "failed"
    except Exception as exc:  # transient or unknown: retry until the DLQ bound
        reason, code = _describe(exc)
        if receive_count >= max_receives:
            _finish(item, job, "failed", error=f"Gave up after {receive_count} attempts: {reason}", error_code=code)
            return "failed"
        _release(item, reason, code)
        raise
    _finish(item, job, "done", result=outcome.result)
    return "done"


def _describe(exc: Exception) -> tuple[str, str]:
    code = getattr(exc, "code", None) or type(exc).__name__
    message = str(exc) or type(exc).__name__
    if not getattr(exc, "code", None):
        logger.warning("stage error", extra={"error": message, "trace": traceback.format_exc(limit=5)})
    return message[:500], str(code)


def _claim(item: JobItem, stage: StageDef) -> None:
    now = utcnow()
    lease = timedelta(seconds=registry.queue(stage.queue_key).function_timeout)
    try:
        item.update(
            actions=[JobItem.status.set("running"), JobItem.lease_until.set(now + lease),
                     JobItem.attempts.add(1), JobItem.updated_at.set(now)],
            condition=(JobItem.status == "queued") | ((JobItem.status == "running") & (JobItem.lease_until < now)),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise ItemBusy(f"item {item.item_id} is being worked on elsewhere") from None
        raise


def _hold(item: JobItem) -> None:
    """Back to queued, attempt not counted against it: the item waits for its sector."""
    try:
        item.update(actions=[JobItem.status.set("queued"), JobItem.lease_until.remove(), JobItem.attempts.add(-1),
                             JobItem.updated_at.set(utcnow())], condition=JobItem.status == "running")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


def _hold_records(stage: StageDef, ctx: ItemContext) -> bool:
    """Before planning or charging: claim the item's records again (renew, or take over a claim
    nobody holds). Records another live job item holds are left out; none left: skipped, naming it."""
    from chalicelib.services import claims

    records = stage.records_of(ctx.item)
    claimed = claims.claim(ctx.account_id, ctx.site_id, stage.record_kind,
                           dict.fromkeys(records, ctx.item.item_id), ctx.job.job_id)
    held = set(claimed.held)
    ctx.records = [r for r in records if r in held]
    if ctx.records:
        return True
    holders = ", ".join(sorted(claimed.holders())) or "another job"
    _finish(ctx.item, ctx.job, "skipped", error=f"Job {holders} is already working on it.", error_code="items_claimed")
    return False


def _release_records(job: Job, item: JobItem) -> None:
    from chalicelib.services import claims

    stage = get_stage(job.stage)
    claims.release(job.account_id, job.site_id, stage.record_kind, stage.records_of(item), job.job_id)


def _release(item: JobItem, reason: str, code: str) -> None:
    """Give a failed attempt back to the queue: visible as queued with its last error."""
    try:
        item.update(actions=[JobItem.status.set("queued"), JobItem.error.set(reason), JobItem.error_code.set(code),
                             JobItem.lease_until.remove(), JobItem.updated_at.set(utcnow())],
                    condition=JobItem.status == "running")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


_COUNTER = {"done": Job.done, "failed": Job.failed, "skipped": Job.skipped}


def _finish(item: JobItem, job: Job, status: str, *, result: dict | None = None,
            error: str | None = None, error_code: str | None = None, only_if: Condition | None = None) -> bool:
    """Move the item to a final status and count it on the job, once. (Credits are not counted
    here: the charge counts them on the job and the item in its own transaction.)"""
    now = utcnow()
    item_actions = [JobItem.status.set(status), JobItem.finished_at.set(now), JobItem.updated_at.set(now),
                    JobItem.lease_until.remove()]
    if result is not None:
        item_actions.append(JobItem.result.set(result))
    if error:
        item_actions += [JobItem.error.set(error[:1000]), JobItem.error_code.set(error_code or "error")]
    elif status == "done":
        item_actions += [JobItem.error.remove(), JobItem.error_code.remove()]
    job_actions = [_COUNTER[status].add(1), Job.updated_at.set(now)]
    try:
        with transact_write() as tx:
            condition = JobItem.status.is_in("running", "queued")
            tx.update(item, actions=item_actions, condition=condition if only_if is None else condition & only_if)
            tx.update(Job(job.site_key, job.job_id), actions=job_actions, condition=Job.job_id.exists())
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            return False  # another delivery finished it first
        raise
    # A crash before this leaves claims whose item is final: they count as free (services.claims).
    _release_records(job, item)
    if status == "failed" and job.run_id:
        from chalicelib.services import job_events

        job_events.item_failed(job, item.item_id, error or "failed", error_code or "error")
    _maybe_complete(job.site_key, job.job_id)
    return True


def _maybe_complete(site_key_value: str, job_id: str) -> None:
    job = Job.get(site_key_value, job_id, consistent_read=True)
    if job.status != "running" or job.done + job.failed + job.skipped < job.total:
        return
    final = "failed" if job.failed == job.total else "completed"
    try:
        job.update(actions=[Job.status.set(final), Job.finished_at.set(utcnow())],
                   condition=Job.status == "running")
    except UpdateError as exc:
        if is_condition_failure(exc):
            return  # someone else completed it
        raise
    if job.run_id:
        from chalicelib.services import job_events

        job_events.job_finished(job)


# --- dead letters ------------------------------------------------------------------------

WORKER_DIED = "worker_died"


def fail_dead_letter(message: dict[str, str], *, deliveries: int) -> str:
    """Account for a dead letter of a stage queue: its worker died on every delivery.

    The item is failed with the reason ``worker_died`` (its job can then complete, and an
    automation run waiting on it moves on; the retry route brings it back). An item that is
    final already is left as it is; one another worker holds with a live lease raises
    ItemBusy, so the dead letter comes back later. Safe to run twice: the failure is a
    conditional write on the state that was read.
    """
    account_id, site_id, job_id, item_id = (message["account_id"], message["site_id"], message["job_id"],
                                            message["item_id"])
    try:
        item = JobItem.get(job_key(account_id, job_id), item_id, consistent_read=True)
        job = Job.get(site_key(account_id, site_id), job_id)
    except (JobItem.DoesNotExist, Job.DoesNotExist):
        return "missing"
    if item.status in FINAL:
        return "final"
    now = utcnow()
    if item.status == "running" and item.lease_until is not None and item.lease_until > now:
        raise ItemBusy(f"item {item_id} is held by a worker until {item.lease_until.isoformat()}")
    expired = (JobItem.status == "queued") | (JobItem.lease_until.does_not_exist() | (JobItem.lease_until <= now))
    reason = (f"The worker stopped on each of its {deliveries} deliveries (it timed out or crashed) before it "
              f"recorded an outcome. Retry the item: POST /v1/sites/{site_id}/jobs/{job_id}/retry.")
    if _finish(item, job, "failed", error=reason, error_code=WORKER_DIED, only_if=expired):
        logger.warning("dead letter: item failed", extra={"job_id": job_id, "item_id": item_id})
        return "failed"
    item.refresh(consistent_read=True)
    if item.status in FINAL:
        return "final"
    raise ItemBusy(f"item {item_id} was claimed again meanwhile")


# --- reading and retrying ----------------------------------------------------------------

def get_job(account_id: str, site_id: str, job_id: str) -> Job:
    try:
        return Job.get(site_key(account_id, site_id), job_id)
    except Job.DoesNotExist:
        raise NotFound("Job") from None


def retry_failed(account_id: str, site_id: str, job_id: str, item_ids: list[str] | None = None) -> list[str]:
    """Queue failed items again. Returns the ids that were re-queued."""
    job = get_job(account_id, site_id, job_id)
    if job.status == "cancelled":
        raise Conflict("The job was cancelled; start a new one.", code="job_cancelled")
    if item_ids:
        candidates = []
        for item_id in item_ids:
            try:
                candidates.append(JobItem.get(job_key(account_id, job_id), item_id))
            except JobItem.DoesNotExist:
                raise NotFound(f"Item {item_id} of this job") from None
    else:
        candidates = list(JobItem.query(job_key(account_id, job_id), filter_condition=JobItem.status == "failed"))
    requeued = []
    for item in candidates:
        if item.status != "failed":
            continue
        try:
            with transact_write() as tx:
                tx.update(item, actions=[JobItem.status.set("queued"), JobItem.updated_at.set(utcnow())],
                          condition=JobItem.status == "failed")
                tx.update(Job(job.site_key, job.job_id), actions=[Job.failed.add(-1), Job.status.set("running"),
                                                                  Job.finished_at.remove()])
        except TransactWriteError as exc:
            if is_condition_failure(exc):
                continue
            raise
        requeued.append(item.item_id)
    if requeued:
        send_items(get_stage(job.stage), account_id, site_id, job_id, requeued)
    return requeued


def requeue_held_items(account_id: str, site_id: str) -> int:
    """Send the queued items of the site's running jobs again (after the site, a sector or the
    account is active again): what the workers held goes on. Items queued for another reason
    are sent twice at worst, which changes nothing (each item is claimed once)."""
    sent = 0
    for job in Job.query(site_key(account_id, site_id), filter_condition=Job.status == "running"):
        queued = [i.item_id for i in JobItem.query(job_key(account_id, job.job_id), consistent_read=True,
                                                   filter_condition=JobItem.status == "queued")]
        if queued:
            send_items(get_stage(job.stage), account_id, site_id, job.job_id, queued)
            sent += len(queued)
    return sent


def pause_job(account_id: str, site_id: str, job_id: str) -> bool:
    """Stop starting items: deliveries for a paused job leave their item queued. False if not running."""
    job = get_job(account_id, site_id, job_id)
    try:
        job.update(actions=[Job.status.set("paused"), Job.updated_at.set(utcnow())], condition=Job.status == "running")
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def resume_job(account_id: str, site_id: str, job_id: str) -> Job:
    """Run a paused job on: its queued items are sent again; items finished meanwhile stay finished."""
    job = get_job(account_id, site_id, job_id)
    try:
        job.update(actions=[Job.status.set("running"), Job.updated_at.set(utcnow())], condition=Job.status == "paused")
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        job.refresh(consistent_read=True)
        if job.status != "running":
            return job
    # Status first, then the read: an item dropped while paused is still queued when read here.
    queued = [i.item_id for i in JobItem.query(job_key(account_id, job_id), consistent_read=True,
                                               filter_condition=JobItem.status == "queued")]
    if queued:
        send_items(get_stage(job.stage), account_id, site_id, job_id, queued)
    _maybe_complete(job.site_key, job_id)  # every item may have finished while it was paused
    job.refresh(consistent_read=True)
    return job


def cancel_job(account_id: str, site_id: str, job_id: str) -> Job:
    job = get_job(account_id, site_id, job_id)
    try:
        job.update(actions=[Job.status.set("cancelled"), Job.finished_at.set(utcnow())],
                   condition=Job.status.is_in("running", "paused"))
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"The job is {job.status}; only a running job can be cancelled.",
                           code="illegal_transition", details={"current_status": job.status}) from None
        raise
    return job
