"""Jobs: start a stage on chosen items, show progress, retry, pause, resume, cancel.

``create_job`` writes the Job and its JobItems, checks the credit estimate, claims the
records its items work on (``claims``: two jobs never process one record) and sends one
message per item to the stage's queue; ``items.process_message`` handles each delivery.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import messages
from chalicelib.errors import Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.messages import StageItem
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.transactions import Transaction
from chalicelib.services import credits, sites
from chalicelib.services.activity import Gate, Gates
from chalicelib.services.pipeline import claims, items
from chalicelib.services.pipeline.stage import ItemSpec, StageDef
from chalicelib.services.pipeline.stages import get_stage
from chalicelib.timeutil import utcnow

MAX_ITEMS_PER_JOB = 1000


# --- starting ----------------------------------------------------------------------------

def create_job(account_id: str, site_id: str, stage_name: str, selection: dict[str, Any], *,
               user_id: str | None = None, run_id: str | None = None, check_credits: bool = True,
               job_id: str | None = None) -> Job:
    """Write the job and its items, then queue one message per item.

    With a ``job_id`` chosen by the caller (an automation run reserves it first), creating
    it again is safe: if the job exists, its still-queued items are sent again (a crash
    between writing and sending loses nothing) and the existing job is returned.
    """
    sites.get_site(account_id, site_id)
    stage = get_stage(stage_name)
    if job_id is not None:
        existing = _existing_job(account_id, site_id, job_id)
        if existing is not None:
            queued = [i.item_id for i in JobItem.query(job_key(account_id, job_id),
                                                       filter_condition=JobItem.status == "queued")]
            if queued and existing.status == "running":
                send_items(stage, account_id, site_id, job_id, queued)
            return existing
    specs = _in_open_sectors(account_id, site_id, selection, stage.select(account_id, site_id, selection))
    if not specs:
        raise UnprocessableEntity(f"There is nothing to {stage.description or stage.name} for this selection.",
                                  code="nothing_to_do")
    if len(specs) > MAX_ITEMS_PER_JOB:
        raise UnprocessableEntity(f"A job takes at most {MAX_ITEMS_PER_JOB} items; narrow the selection.",
                                  code="too_many_items")
    estimate = stage.estimate(account_id, site_id, specs)
    if check_credits and estimate:
        credits.require_credits(account_id, estimate)
    # Claims, then items, then the job last: until the job exists no message is acted on (a
    # message for a missing job is dropped), so a crash in between leaves nothing half-started
    # (claims whose job item does not exist count as free).
    reserved = job_id is not None
    job_id = job_id or new_id()
    runnable, held_elsewhere = _claim_records(stage, account_id, site_id, job_id, specs)
    if not runnable:
        holders = sorted({h for spec_holders in held_elsewhere.values() for h in spec_holders})
        raise Conflict(f"Other jobs are already working on every item of this selection ({', '.join(holders)}); "
                       "wait for them to finish.", code="items_claimed",
                       details={"held_by": [{"job_id": h} for h in holders]})
    new_items = []
    for spec in specs:
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
            with conditional():
                item.save(condition=JobItem.item_id.does_not_exist())
    else:
        with JobItem.batch_write() as batch:
            for item in new_items:
                batch.save(item)
    job = Job(site_key(account_id, site_id), job_id, account_id=account_id, site_id=site_id, stage=stage.name,
              total=len(specs), skipped=len(specs) - len(runnable), estimate=estimate, params=_json_safe(selection),
              created_by=user_id, run_id=run_id)
    with conditional() as write:
        job.save(condition=Job.job_id.does_not_exist())
    if not write.held:  # a concurrent creation of the same reserved job won
        return Job.get(job.site_key, job_id, consistent_read=True)
    send_items(stage, account_id, site_id, job_id, [s.item_id for s in specs if s.item_id in runnable])
    return job


def _in_open_sectors(account_id: str, site_id: str, selection: dict[str, Any],
                     specs: list[ItemSpec]) -> list[ItemSpec]:
    """No job works on a deactivated sector (or one being deleted): records a client chose there
    are a 409; records a filter found there are left out (they wait for their sector)."""
    gates = Gates()
    closed: dict[str, Gate] = {}
    for spec in specs:
        if spec.sector_id and spec.sector_id not in closed:
            gate = gates.sector(account_id, site_id, spec.sector_id)
            if not gate.open:
                closed[spec.sector_id] = gate
    chosen = any(name.endswith("_ids") and selection.get(name) for name in selection)
    if closed and (chosen or selection.get("sector_id") in closed):
        sector_id, gate = next(iter(closed.items()))
        raise Conflict(f"Sector {sector_id}: {gate.message} Leave its records out of the job.",
                       code=gate.code or "sector_inactive", details={"sector_ids": sorted(closed)})
    return [spec for spec in specs if spec.sector_id not in closed]


def _claim_records(stage: StageDef, account_id: str, site_id: str, job_id: str,
                   specs: list[ItemSpec]) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Claim every item's records for the job. Returns (item id -> payload changes, for the items
    left with something to do; item id -> ids of the jobs holding some of its records)."""
    records = {spec.item_id: stage.records(spec) for spec in specs}
    claimed = claims.claim(account_id, site_id, stage.record_kind,
                           {r: item_id for item_id, rs in records.items() for r in rs}, job_id)
    held = set(claimed.held)
    runnable: dict[str, dict[str, Any]] = {}
    elsewhere: dict[str, list[str]] = {}
    for spec in specs:
        mine = [r for r in records[spec.item_id] if r in held]
        holders = sorted({claimed.taken[r].job_id for r in records[spec.item_id] if r in claimed.taken})
        if holders:
            elsewhere[spec.item_id] = holders
        if mine:
            runnable[spec.item_id] = stage.narrow(spec, mine) if len(mine) < len(records[spec.item_id]) else {}
    return runnable, elsewhere


def _existing_job(account_id: str, site_id: str, job_id: str) -> Job | None:
    try:
        return Job.get(site_key(account_id, site_id), job_id, consistent_read=True)
    except Job.DoesNotExist:
        return None


def send_items(stage: StageDef, account_id: str, site_id: str, job_id: str, item_ids: list[str]) -> None:
    messages.send(stage.work_queue, [StageItem(stage=stage.name, account_id=account_id, site_id=site_id,
                                               job_id=job_id, item_id=item_id) for item_id in item_ids])


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


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
        tx = Transaction("retry a failed job item")
        tx.update(item, [JobItem.status.set("queued")], condition=JobItem.status == "failed", label="item")
        tx.update(Job(job.site_key, job.job_id), [Job.failed.add(-1), Job.status.set("running"),
                                                  Job.finished_at.remove()], label="job")
        with conditional() as write:
            tx.commit()
        if write.held:
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
    with conditional() as write:
        job.update(actions=[Job.status.set("paused")], condition=Job.status == "running")
    return write.held


def resume_job(account_id: str, site_id: str, job_id: str) -> Job:
    """Run a paused job on: its queued items are sent again; items finished meanwhile stay finished."""
    job = get_job(account_id, site_id, job_id)
    with conditional() as write:
        job.update(actions=[Job.status.set("running")], condition=Job.status == "paused")
    if not write.held:
        job.refresh(consistent_read=True)
        if job.status != "running":
            return job
    # Status first, then the read: an item dropped while paused is still queued when read here.
    queued = [i.item_id for i in JobItem.query(job_key(account_id, job_id), consistent_read=True,
                                               filter_condition=JobItem.status == "queued")]
    if queued:
        send_items(get_stage(job.stage), account_id, site_id, job_id, queued)
    items.maybe_complete(job.site_key, job_id)  # every item may have finished while it was paused
    job.refresh(consistent_read=True)
    return job


def cancel_job(account_id: str, site_id: str, job_id: str) -> Job:
    job = get_job(account_id, site_id, job_id)
    with conditional(otherwise=lambda: Conflict(
            f"The job is {job.status}; only a running job can be cancelled.", code="illegal_transition",
            details={"current_status": job.status})):
        job.update(actions=[Job.status.set("cancelled"), Job.finished_at.set(utcnow())],
                   condition=Job.status.is_in("running", "paused"))
    return job
