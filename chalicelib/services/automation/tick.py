"""The automation schedule: start due runs, fail runs past their max runtime, mend runs whose events were lost.

Due configs and active runs are read from sharded sparse indexes (one Query per shard), never a Scan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.errors import ApiError, Conflict
from chalicelib.models.automation import ACTIVE_STATUSES, AutomationConfig, AutomationRun
from chalicelib.models.conditions import conditional
from chalicelib.models.shards import SHARDS
from chalicelib.observability import logger
from chalicelib.services.activity import site_gate
from chalicelib.services.automation.advance import create_stage_job, stage_job_finished, start_stage
from chalicelib.services.automation.config import next_after
from chalicelib.services.automation.control import start_run
from chalicelib.services.automation.runs import RUN_STAGES, finish_run, get_run, job_of, stop_job
from chalicelib.services.sites import get_site
from chalicelib.timeutil import utcnow

STALL_AFTER = timedelta(minutes=10)  # a stage with no job this long after it began is started again


def tick(now: datetime | None = None) -> dict[str, Any]:
    """Start due runs; fail runs past their max runtime; mend runs whose events were lost."""
    now = now or utcnow()
    result = {"started": 0, "skipped": 0, "timed_out": 0, "mended": 0, "errors": 0}
    for shard_no in range(SHARDS):
        for key in AutomationConfig.due.query(f"due#{shard_no}", AutomationConfig.next_run_at <= now):
            try:
                outcome = _start_due(key.account_id, key.site_id, now)
            except Exception as exc:  # noqa: BLE001 - one site must not stop the others
                result["errors"] += 1
                logger.warning("starting a due run failed", extra={"site_id": key.site_id, "error": str(exc)[:300]})
                continue
            if outcome in result:
                result[outcome] += 1
    for shard_no in range(SHARDS):
        for run in AutomationRun.active.query(f"active#{shard_no}"):
            try:
                outcome = _check_active(run, now)
            except Exception as exc:  # noqa: BLE001
                result["errors"] += 1
                logger.warning("checking a run failed", extra={"run_id": run.run_id, "error": str(exc)[:300]})
                continue
            if outcome in result:
                result[outcome] += 1
    return result


def _start_due(account_id: str, site_id: str, now: datetime) -> str:
    """Claim this occurrence (move next_run_at on, conditionally), then start: one tick wins."""
    gate = site_gate(account_id, site_id)
    if gate.gone:
        return "stale"  # being deleted: no more runs
    config = AutomationConfig.get(account_id, site_id, consistent_read=True)
    if not config.is_active or config.next_run_at is None or config.next_run_at > now:
        return "stale"
    site = get_site(account_id, site_id)
    following = next_after(config, site.time_zone, now)
    with conditional() as claimed:
        config.update(actions=[AutomationConfig.next_run_at.set(following)],
                      condition=AutomationConfig.next_run_at == config.next_run_at)
    if not claimed.held:
        return "stale"  # another tick claimed this occurrence
    try:
        if not gate.open:
            raise Conflict(f"Skipped: {gate.message}", code=gate.code or "site_inactive")
        start_run(account_id, site_id, trigger="schedule", config=config)
    except ApiError as exc:
        reason = exc.message
        if exc.code == "run_active":
            reason = f"Skipped: run {exc.details.get('active_run_id')} is still active."
        config.update(actions=[AutomationConfig.last_skip_reason.set(reason[:500]),
                               AutomationConfig.last_skipped_at.set(now)])
        logger.info("due automation run skipped", extra={"site_id": site_id, "reason": reason[:300]})
        return "skipped"
    if config.last_skip_reason:
        config.update(actions=[AutomationConfig.last_skip_reason.remove()])
    return "started"


def _check_active(run: AutomationRun, now: datetime) -> str:
    gate = site_gate(run.account_id, run.site_id)
    if gate.gone:
        return "stale"  # being deleted: the run goes with the site
    run = get_run(run.account_id, run.site_id, run.run_id, consistent=True)
    if run.status not in ACTIVE_STATUSES:
        return "stale"
    if run.deadline and run.deadline < now:
        limit = int(run.config.get("max_runtime") or 0)
        if finish_run(run, "failed", error=f"The run passed its max runtime of {limit} s.",
                      error_code="max_runtime_exceeded"):
            stop_job(run)
            return "timed_out"
        return "stale"
    if run.status != "running" or int(run.stage_index) >= len(RUN_STAGES) or not gate.open:
        return "stale"  # a deactivated site's run waits: mended once it is active again
    # Mend what lost messages would leave stuck: a stage never started, a finish never told.
    if not run.stage_job_id:
        if run.updated_at and now - run.updated_at > STALL_AFTER:
            start_stage(run, int(run.stage_index))
            return "mended"
        return "stale"
    job = job_of(run, run.stage_job_id)
    if job is None:
        if run.updated_at and now - run.updated_at > STALL_AFTER:
            create_stage_job(run, int(run.stage_index))
            return "mended"
        return "stale"
    if job.status in ("completed", "failed"):
        return "mended" if stage_job_finished(run, job) == "advanced" else "stale"
    return "stale"
