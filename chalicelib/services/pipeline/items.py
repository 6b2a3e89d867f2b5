"""One delivery of one job item: claim it, run its stage, finish and count it once.

``process_message`` (called by the stage's queue worker) claims the item with a lease, runs
the stage, then finishes the item and bumps the job's counters in one transaction
conditional on the item's status: however often SQS delivers a message, and whichever
worker wins a race, an item is done (and charged) once.
"""

from __future__ import annotations

import traceback
from datetime import timedelta

from pynamodb.expressions.condition import Condition

from chalicelib.errors import ApiError
from chalicelib.messages import StageItem
from chalicelib.models.accounts import site_key
from chalicelib.models.conditions import conditional
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.transactions import Transaction
from chalicelib.observability import log_context, logger, metric
from chalicelib.services import account_events, event_names
from chalicelib.services.activity import Gates
from chalicelib.services.pipeline import claims, job_events
from chalicelib.services.pipeline.stage import (
    FINAL,
    ItemBusy,
    ItemContext,
    ItemFailed,
    ItemHeld,
    ItemSkipped,
    StageDef,
)
from chalicelib.services.pipeline.stages import get_stage
from chalicelib.timeutil import utcnow

WORKER_DIED = "worker_died"
_OUTCOME_METRIC = {"done": "ItemsProcessed", "failed": "ItemsFailed", "skipped": "ItemsSkipped"}


def process_message(message: StageItem, *, receive_count: int, max_receives: int) -> str:
    """Handle one delivery. Returns the outcome; raises to have SQS deliver it again."""
    with log_context(account_id=message.account_id, job_id=message.job_id, stage=message.stage):
        outcome = _process(message, receive_count=receive_count, max_receives=max_receives)
    if outcome in _OUTCOME_METRIC:
        metric(_OUTCOME_METRIC[outcome], 1, "Count", stage=message.stage)
    return outcome


def _process(message: StageItem, *, receive_count: int, max_receives: int) -> str:
    account_id, site_id, job_id, item_id = message.account_id, message.site_id, message.job_id, message.item_id
    stage = get_stage(message.stage)
    gates = Gates()
    gate = gates.site(account_id, site_id)
    if gate.gone:
        return "site_gone"  # the site is being deleted: the job goes with it
    if not gate.open:
        return "held"  # stays queued; jobs.requeue_held_items sends it when the site is active again
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
        return "paused"  # the item stays queued; jobs.resume_job sends it again
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
    lease = timedelta(seconds=stage.work_queue.function_timeout)
    with conditional(otherwise=lambda: ItemBusy(f"item {item.item_id} is being worked on elsewhere")):
        item.update(
            actions=[JobItem.status.set("running"), JobItem.lease_until.set(now + lease), JobItem.attempts.add(1)],
            condition=(JobItem.status == "queued") | ((JobItem.status == "running") & (JobItem.lease_until < now)),
        )


def _hold(item: JobItem) -> None:
    """Back to queued, attempt not counted against it: the item waits for its sector."""
    with conditional():
        item.update(actions=[JobItem.status.set("queued"), JobItem.lease_until.remove(), JobItem.attempts.add(-1)],
                    condition=JobItem.status == "running")


def _hold_records(stage: StageDef, ctx: ItemContext) -> bool:
    """Before planning or charging: claim the item's records again (renew, or take over a claim
    nobody holds). Records another live job item holds are left out; none left: skipped, naming it."""
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
    stage = get_stage(job.stage)
    claims.release(job.account_id, job.site_id, stage.record_kind, stage.records_of(item), job.job_id)


def _release(item: JobItem, reason: str, code: str) -> None:
    """Give a failed attempt back to the queue: visible as queued with its last error."""
    with conditional():
        item.update(actions=[JobItem.status.set("queued"), JobItem.error.set(reason), JobItem.error_code.set(code),
                             JobItem.lease_until.remove()], condition=JobItem.status == "running")


_COUNTER = {"done": Job.done, "failed": Job.failed, "skipped": Job.skipped}


def _finish(item: JobItem, job: Job, status: str, *, result: dict | None = None,
            error: str | None = None, error_code: str | None = None, only_if: Condition | None = None) -> bool:
    """Move the item to a final status and count it on the job, once. (Credits are not counted
    here: the charge counts them on the job and the item in its own transaction.)"""
    item_actions = [JobItem.status.set(status), JobItem.finished_at.set(utcnow()), JobItem.lease_until.remove()]
    if result is not None:
        item_actions.append(JobItem.result.set(result))
    if error:
        item_actions += [JobItem.error.set(error[:1000]), JobItem.error_code.set(error_code or "error")]
    elif status == "done":
        item_actions += [JobItem.error.remove(), JobItem.error_code.remove()]
    condition = JobItem.status.is_in("running", "queued")
    tx = Transaction("finish a job item")
    tx.update(item, item_actions, condition=condition if only_if is None else condition & only_if, label="item")
    tx.update(Job(job.site_key, job.job_id), [_COUNTER[status].add(1)], condition=Job.job_id.exists(), label="job")
    with conditional() as write:
        tx.commit()
    if not write.held:
        return False  # another delivery finished it first
    # A crash before this leaves claims whose item is final: they count as free (pipeline.claims).
    _release_records(job, item)
    if status == "failed" and job.run_id:
        job_events.item_failed(job, item.item_id, error or "failed", error_code or "error")
    if status == "failed" and job.stage == "generate_content":
        account_events.emit(job.account_id, event_names.CONTENT_FAILED,
                            {"task_id": item.item_id, "job_id": job.job_id, "run_id": job.run_id,
                             "reason": (error or "failed")[:500], "error_code": error_code or "error"},
                            key=f"{job.job_id}:{item.item_id}", site_id=job.site_id)
    maybe_complete(job.site_key, job.job_id)
    return True


def maybe_complete(site_key_value: str, job_id: str) -> None:
    """Complete the job once every item is final (whoever finishes the last one, or resumes it)."""
    job = Job.get(site_key_value, job_id, consistent_read=True)
    if job.status != "running" or job.done + job.failed + job.skipped < job.total:
        return
    final = "failed" if job.failed == job.total else "completed"
    with conditional() as write:
        job.update(actions=[Job.status.set(final), Job.finished_at.set(utcnow())], condition=Job.status == "running")
    if write.held and job.run_id:  # else someone else completed it
        job_events.job_finished(job)


# --- dead letters ------------------------------------------------------------------------

def fail_dead_letter(message: StageItem, *, deliveries: int) -> str:
    """Account for a dead letter of a stage queue: its worker died on every delivery.

    The item is failed with the reason ``worker_died`` (its job can then complete, and an
    automation run waiting on it moves on; the retry route brings it back). An item that is
    final already is left as it is; one another worker holds with a live lease raises
    ItemBusy, so the dead letter comes back later. Safe to run twice: the failure is a
    conditional write on the state that was read.
    """
    account_id, site_id, job_id, item_id = message.account_id, message.site_id, message.job_id, message.item_id
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
