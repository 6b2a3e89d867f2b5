"""What a person does with a site's runs: start one now, pause, resume, cancel."""

from __future__ import annotations

from datetime import timedelta

from chalicelib.errors import Conflict
from chalicelib.ids import new_id
from chalicelib.models.accounts import site_key
from chalicelib.models.automation import ACTIVE_STATUSES, AutomationConfig, AutomationRun
from chalicelib.models.shards import shard
from chalicelib.models.transactions import ConditionsFailed, Transaction
from chalicelib.services import credits
from chalicelib.services.automation.advance import stage_job_finished
from chalicelib.services.automation.config import estimate, get_config, snapshot
from chalicelib.services.automation.runs import (
    RUN_STAGES,
    finish_run,
    get_run,
    illegal,
    save,
    send_start_stage,
    stop_job,
)
from chalicelib.services.modules import require_module_enabled
from chalicelib.services.pipeline import jobs
from chalicelib.timeutil import utcnow


def start_run(account_id: str, site_id: str, *, trigger: str = "manual", user_id: str | None = None,
              config: AutomationConfig | None = None) -> AutomationRun:
    """Start a run now: 402 if the balance cannot cover the estimate, 409 if one is active."""
    config = config or get_config(account_id, site_id)
    require_module_enabled(account_id, "automation")
    kept = snapshot(config)
    needed = estimate(account_id, site_id, kept)
    credits.require_credits(account_id, needed)
    if config.active_run_id:
        raise _active(config.active_run_id)
    now = utcnow()
    run_id = new_id()
    run = AutomationRun(site_key(account_id, site_id), run_id, account_id=account_id, site_id=site_id,
                        status="running", trigger=trigger, created_by=user_id, config=kept, estimate=needed,
                        stage_index=0, started_at=now, deadline=now + timedelta(seconds=int(config.max_runtime)),
                        active_shard=shard(run_id, "active"),
                        stages=[{"name": s.name, "description": s.description, "status": "pending", "job_id": None,
                                 "total": 0, "done": 0, "failed": 0, "skipped": 0, "credits": 0, "started_at": None,
                                 "finished_at": None, "note": None} for s in RUN_STAGES])
    tx = Transaction("start an automation run")
    tx.update(AutomationConfig(account_id, site_id),
              [AutomationConfig.active_run_id.set(run_id), AutomationConfig.last_run_id.set(run_id),
               AutomationConfig.last_run_at.set(now)],
              condition=AutomationConfig.site_id.exists() & AutomationConfig.active_run_id.does_not_exist(),
              label="lock")
    tx.put(run, condition=AutomationRun.run_id.does_not_exist(), label="run")
    try:
        tx.commit()
    except ConditionsFailed:
        current = AutomationConfig.get(account_id, site_id, consistent_read=True)
        raise _active(current.active_run_id or "unknown") from None
    send_start_stage(run, 0)
    return run


def _active(run_id: str) -> Conflict:
    return Conflict("This site already has an active automation run; pause, resume or cancel it first.",
                    code="run_active", details={"active_run_id": run_id})


def _move(run: AutomationRun, current: str, wanted: str) -> AutomationRun:
    """``current`` -> ``wanted`` (already ``wanted``: nothing to do; anything else: 409)."""

    def change(r: AutomationRun) -> bool:
        if r.status == wanted:
            return False
        if r.status != current:
            raise illegal(r, wanted)
        r.status = wanted
        return True

    save(run, change)
    return run


def pause_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    """No new item starts; items already being worked on finish. Resume continues from there."""
    run = _move(get_run(account_id, site_id, run_id, consistent=True), "running", "paused")
    if run.stage_job_id:
        jobs.pause_job(account_id, site_id, run.stage_job_id)
    return run


def resume_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    run = _move(get_run(account_id, site_id, run_id, consistent=True), "paused", "running")
    if run.status != "running":
        return run
    if not run.stage_job_id:
        send_start_stage(run, int(run.stage_index))
        return run
    job = jobs.resume_job(account_id, site_id, run.stage_job_id)
    if job.status in ("completed", "failed"):
        stage_job_finished(run, job)  # it finished while the run was paused
    return run


def cancel_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    """No new work starts; queued items of the current stage are skipped, in-flight ones finish."""
    run = get_run(account_id, site_id, run_id, consistent=True)
    if run.status not in ACTIVE_STATUSES:
        raise illegal(run, "cancelled")
    if finish_run(run, "cancelled", error="Cancelled by a user.", error_code="cancelled"):
        stop_job(run)
    elif run.status not in ("cancelled",):
        raise illegal(run, "cancelled")
    return run
