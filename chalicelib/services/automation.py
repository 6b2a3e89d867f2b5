"""Automation runs: the whole pipeline for a site, stage after stage, on a schedule or by hand.

A run walks ``RUN_STAGES`` in order. A job stage starts a Job of the generation pipeline
(fan-out: one SQS message per item) with the run's id on it; when the job's last item
finishes, the job completes exactly once (its counters are atomic, its completion
conditional) and tells the run through the ``automation_events`` queue (fan-in). The run
then advances exactly once: every change to a run is a save conditional on its
``version``, and an event that does not match the run's current stage and job changes
nothing. An inline stage (review, publish) is done by the event handler itself, with
operations that are no-ops when repeated.

Only one run per site is active (running or paused): starting one sets the config's
``active_run_id`` where it does not exist, in the same transaction as the run's put.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from chalicelib import messages
from chalicelib.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from chalicelib.ids import new_id
from chalicelib.models.accounts import site_key
from chalicelib.models.automation import (
    ACTIVE_STATUSES,
    SHARDS,
    AutomationConfig,
    AutomationRun,
    shard,
)
from chalicelib.models.conditions import is_condition_failure
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.transactions import transact_write
from chalicelib.observability import logger
from chalicelib.services import automation_schedule
from chalicelib.timeutil import iso, utcnow

MAX_DELAY_SECONDS = 900  # SQS's longest message delay
MAX_ERRORS_KEPT = 20
STALL_AFTER = timedelta(minutes=10)  # a stage with no job this long after it began is started again
CONFIG_FIELDS = ("clustering_limit", "ideas_limit", "content_limit", "image_limit", "publish_limit",
                 "delay_between_operations", "max_runtime", "auto_approve", "auto_publish", "stop_on_error",
                 "is_active", "frequency", "days_of_week", "day_of_month", "run_time")


@dataclass(frozen=True)
class RunStage:
    name: str
    limit_field: str
    job_stage: str | None  # the pipeline stage it runs as a job; None: done inline
    description: str


RUN_STAGES: tuple[RunStage, ...] = (
    RunStage("cluster_keywords", "clustering_limit", "cluster_keywords", "keywords -> clusters"),
    RunStage("generate_ideas", "ideas_limit", "generate_ideas", "clusters -> ideas"),
    RunStage("create_tasks", "content_limit", "create_tasks", "ideas -> tasks"),
    RunStage("generate_content", "content_limit", "generate_content", "tasks -> articles"),
    RunStage("generate_image_prompts", "image_limit", "generate_image_prompts", "articles -> image prompts"),
    RunStage("generate_images", "image_limit", "generate_images", "image prompts -> images"),
    RunStage("review", "content_limit", None, "articles -> review (approved with auto approve)"),
    RunStage("publish", "publish_limit", None, "approved articles -> publishing slots (with auto publish)"),
)


# --- config ------------------------------------------------------------------------------

def get_config(account_id: str, site_id: str) -> AutomationConfig:
    """The site's config; a site that never saved one gets the defaults (stored, so it can be locked)."""
    from chalicelib.services.sites import get_site

    try:
        return AutomationConfig.get(account_id, site_id)
    except AutomationConfig.DoesNotExist:
        get_site(account_id, site_id)
    config = AutomationConfig(account_id, site_id)
    try:
        config.save(condition=AutomationConfig.site_id.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return AutomationConfig.get(account_id, site_id, consistent_read=True)
    return config


def update_config(account_id: str, site_id: str, changes: dict[str, Any]) -> AutomationConfig:
    from chalicelib.services.sites import get_site

    site = get_site(account_id, site_id)
    config = get_config(account_id, site_id)
    merged = {name: getattr(config, name) for name in CONFIG_FIELDS}
    merged.update(changes)
    if merged["frequency"] == "weekly" and not merged["days_of_week"]:
        raise UnprocessableEntity("A weekly schedule needs at least one day in days_of_week.",
                                  code="days_required", details=[{"field": "days_of_week", "message": "required"}])
    actions = [getattr(AutomationConfig, name).set(value) for name, value in changes.items()]
    schedule_changed = any(name in changes for name in
                           ("is_active", "frequency", "days_of_week", "day_of_month", "run_time"))
    if schedule_changed:
        if merged["is_active"]:
            next_at = automation_schedule.next_run(
                frequency=merged["frequency"], run_time=merged["run_time"], time_zone=site.time_zone or "UTC",
                after=utcnow(), days_of_week=merged["days_of_week"], day_of_month=int(merged["day_of_month"]))
            actions += [AutomationConfig.next_run_at.set(next_at),
                        AutomationConfig.due_shard.set(shard(site_id, "due"))]
        else:
            actions += [AutomationConfig.next_run_at.remove(), AutomationConfig.due_shard.remove()]
    actions.append(AutomationConfig.updated_at.set(utcnow()))
    config.update(actions=actions, condition=AutomationConfig.site_id.exists())
    return config


def next_after(config: AutomationConfig, time_zone: str, after: datetime) -> datetime:
    return automation_schedule.next_run(
        frequency=config.frequency, run_time=config.run_time, time_zone=time_zone or "UTC", after=after,
        days_of_week=list(config.days_of_week or []), day_of_month=int(config.day_of_month or 1))


def _snapshot(config: AutomationConfig) -> dict[str, Any]:
    return {name: getattr(config, name) if not isinstance(getattr(config, name), list)
            else list(getattr(config, name)) for name in CONFIG_FIELDS}


# --- estimate ----------------------------------------------------------------------------

def estimate(account_id: str, site_id: str, config: AutomationConfig | dict[str, Any]) -> dict[str, int]:
    """Credits per type the run's stages cost at their limits, from the model prices."""
    from chalicelib.services.jobs import ItemSpec, get_stage

    limits = config if isinstance(config, dict) else _snapshot(config)
    total: dict[str, int] = {}
    for stage in RUN_STAGES:
        if stage.job_stage is None:
            continue
        count = int(limits[stage.limit_field])
        if count <= 0:
            continue
        if stage.job_stage == "cluster_keywords":
            items = [ItemSpec("estimate", {"keyword_ids": ["k"] * count})]
        else:
            items = [ItemSpec(f"estimate-{n}") for n in range(count)]
        for credit_type, amount in get_stage(stage.job_stage).estimate(account_id, site_id, items).items():
            total[credit_type] = total.get(credit_type, 0) + int(amount)
    return total


# --- starting ----------------------------------------------------------------------------

def start_run(account_id: str, site_id: str, *, trigger: str = "manual", user_id: str | None = None,
              config: AutomationConfig | None = None) -> AutomationRun:
    """Start a run now: 402 if the balance cannot cover the estimate, 409 if one is active."""
    from chalicelib.services import credits
    from chalicelib.services.modules import require_module_enabled

    config = config or get_config(account_id, site_id)
    require_module_enabled(account_id, "automation")
    snapshot = _snapshot(config)
    needed = estimate(account_id, site_id, snapshot)
    credits.require_credits(account_id, needed)
    if config.active_run_id:
        raise _active(config.active_run_id)
    now = utcnow()
    run_id = new_id()
    run = AutomationRun(site_key(account_id, site_id), run_id, account_id=account_id, site_id=site_id,
                        status="running", trigger=trigger, created_by=user_id, config=snapshot, estimate=needed,
                        stage_index=0, started_at=now, deadline=now + timedelta(seconds=int(config.max_runtime)),
                        active_shard=shard(run_id, "active"),
                        stages=[{"name": s.name, "description": s.description, "status": "pending", "job_id": None,
                                 "total": 0, "done": 0, "failed": 0, "skipped": 0, "credits": 0, "started_at": None,
                                 "finished_at": None, "note": None} for s in RUN_STAGES])
    try:
        with transact_write() as tx:
            tx.update(AutomationConfig(account_id, site_id),
                      actions=[AutomationConfig.active_run_id.set(run_id), AutomationConfig.last_run_id.set(run_id),
                               AutomationConfig.last_run_at.set(now), AutomationConfig.updated_at.set(now)],
                      condition=AutomationConfig.site_id.exists() & AutomationConfig.active_run_id.does_not_exist())
            tx.save(run, condition=AutomationRun.run_id.does_not_exist())
    except TransactWriteError as exc:
        if is_condition_failure(exc):
            current = AutomationConfig.get(account_id, site_id, consistent_read=True)
            raise _active(current.active_run_id or "unknown") from None
        raise
    _send({"type": "start_stage", "run_id": run_id, "stage_index": 0}, run)
    return run


def _active(run_id: str) -> Conflict:
    return Conflict("This site already has an active automation run; pause, resume or cancel it first.",
                    code="run_active", details={"active_run_id": run_id})


def _send(body: dict[str, Any], run: AutomationRun, *, delay: int = 0) -> None:
    messages.send("automation_events", [{"account_id": run.account_id, "site_id": run.site_id, **body}],
                  delay_seconds=min(MAX_DELAY_SECONDS, int(delay)) if delay > 0 else 0)


# --- reading -----------------------------------------------------------------------------

def get_run(account_id: str, site_id: str, run_id: str, *, consistent: bool = False) -> AutomationRun:
    try:
        return AutomationRun.get(site_key(account_id, site_id), run_id, consistent_read=consistent)
    except AutomationRun.DoesNotExist:
        raise NotFound("Automation run") from None


def progress(run: AutomationRun) -> list[dict[str, Any]]:
    """Per-stage totals; the current stage's are read live from its job (one GetItem)."""
    stages = [dict(s) for s in run.stages]
    if run.stage_job_id and run.stage_index < len(stages) and stages[run.stage_index]["status"] == "running":
        job = _job(run, run.stage_job_id)
        if job is not None:
            stages[run.stage_index].update(_job_totals(job))
    return stages


def _job(run: AutomationRun, job_id: str) -> Job | None:
    try:
        return Job.get(run.site_key, job_id, consistent_read=True)
    except Job.DoesNotExist:
        return None


def _job_totals(job: Job) -> dict[str, int]:
    done, failed, skipped = int(job.done), int(job.failed), int(job.skipped)
    return {"total": int(job.total), "done": done, "failed": failed, "skipped": skipped,
            "queued": max(0, int(job.total) - done - failed - skipped), "credits": int(job.credits_spent)}


# --- the run's state changes: read, decide, save on the version ---------------------------

def _mutate(run: AutomationRun, change: Callable[[AutomationRun], bool], *, attempts: int = 5) -> bool:
    """Apply ``change`` (returns False: nothing to do) and save on the version; re-read on a lost race."""
    for _ in range(attempts):
        if not change(run):
            return False
        try:
            run.save()
            return True
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            run.refresh(consistent_read=True)
    raise Conflict("The automation run is changing too fast; try again.", code="concurrent_change")


def _finish_run(run: AutomationRun, status: str, *, error: str | None = None, error_code: str | None = None,
                expected: tuple[str, ...] = ACTIVE_STATUSES) -> bool:
    """End the run and release the site's lock in one transaction. False if it is not in ``expected``."""
    for _ in range(5):
        if run.status not in expected:
            return False
        now = utcnow()
        run.status, run.finished_at, run.active_shard, run.updated_at = status, now, None, now
        if error:
            run.error, run.error_code = error[:1000], error_code
        try:
            with transact_write() as tx:
                tx.save(run)  # conditional on the version read, like every change to a run
                tx.update(AutomationConfig(run.account_id, run.site_id),
                          actions=[AutomationConfig.active_run_id.remove(), AutomationConfig.updated_at.set(now)],
                          condition=AutomationConfig.active_run_id == run.run_id)
            return True
        except TransactWriteError as exc:
            if not is_condition_failure(exc):
                raise
            run.refresh(consistent_read=True)
            config = AutomationConfig.get(run.account_id, run.site_id, consistent_read=True)
            if config.active_run_id != run.run_id and run.status in expected:
                # The lock is not ours (it was released already): end the run on its own.
                return _mutate(run, lambda r: _set_final(r, status, error, error_code, expected))
    raise Conflict("The automation run is changing too fast; try again.", code="concurrent_change")


def _set_final(run: AutomationRun, status: str, error: str | None, error_code: str | None,
               expected: tuple[str, ...]) -> bool:
    if run.status not in expected:
        return False
    run.status, run.finished_at, run.active_shard = status, utcnow(), None
    if error:
        run.error, run.error_code = error[:1000], error_code
    return True


# --- control -----------------------------------------------------------------------------

def pause_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    """No new item starts; items already being worked on finish. Resume continues from there."""
    from chalicelib.services import jobs

    run = get_run(account_id, site_id, run_id, consistent=True)

    def change(r: AutomationRun) -> bool:
        if r.status == "paused":
            return False
        if r.status != "running":
            raise _illegal(r, "paused")
        r.status = "paused"
        return True

    _mutate(run, change)
    if run.stage_job_id:
        jobs.pause_job(account_id, site_id, run.stage_job_id)
    return run


def resume_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    from chalicelib.services import jobs

    run = get_run(account_id, site_id, run_id, consistent=True)

    def change(r: AutomationRun) -> bool:
        if r.status == "running":
            return False
        if r.status != "paused":
            raise _illegal(r, "running")
        r.status = "running"
        return True

    _mutate(run, change)
    if run.status != "running":
        return run
    if not run.stage_job_id:
        _send({"type": "start_stage", "run_id": run.run_id, "stage_index": int(run.stage_index)}, run)
        return run
    job = jobs.resume_job(account_id, site_id, run.stage_job_id)
    if job.status in ("completed", "failed"):
        _stage_job_finished(run, job)  # it finished while the run was paused
    return run


def cancel_run(account_id: str, site_id: str, run_id: str) -> AutomationRun:
    """No new work starts; queued items of the current stage are skipped, in-flight ones finish."""
    run = get_run(account_id, site_id, run_id, consistent=True)
    if run.status not in ACTIVE_STATUSES:
        raise _illegal(run, "cancelled")
    if _finish_run(run, "cancelled", error="Cancelled by a user.", error_code="cancelled"):
        _stop_job(run)
    elif run.status not in ("cancelled",):
        raise _illegal(run, "cancelled")
    return run


def _stop_job(run: AutomationRun) -> None:
    from chalicelib.services import jobs

    if not run.stage_job_id:
        return
    try:
        jobs.cancel_job(run.account_id, run.site_id, run.stage_job_id)
    except (Conflict, NotFound):
        pass  # it had finished already


def _illegal(run: AutomationRun, wanted: str) -> Conflict:
    return Conflict(f"The run is {run.status}; it cannot become {wanted}.", code="illegal_transition",
                    details={"current_status": run.status})


# --- events: start a stage, a job finished, an item failed --------------------------------

def handle_event(message: dict[str, Any]) -> str:
    from chalicelib.services.activity import site_gate

    kind = message.get("type")
    gate = site_gate(message["account_id"], message["site_id"])
    if gate.gone:
        return "site_gone"  # being deleted: its runs go with it
    if not gate.open:
        return "held"  # deactivated: the run waits; the tick mends it once the site is active
    try:
        run = get_run(message["account_id"], message["site_id"], message["run_id"], consistent=True)
    except NotFound:
        logger.warning("event for a missing automation run; dropped", extra={"run_id": message.get("run_id")})
        return "missing"
    if kind == "start_stage":
        return start_stage(run, int(message["stage_index"]))
    if kind == "job_finished":
        job = _job(run, message["job_id"])
        return _stage_job_finished(run, job) if job is not None else "missing"
    if kind == "item_failed":
        return _item_failed(run, message)
    raise ValueError(f"unknown automation event type {kind!r}")


def parse_message(body: str) -> dict[str, Any]:
    return messages.parse(body, ("type", "account_id", "site_id", "run_id"))


def start_stage(run: AutomationRun, index: int) -> str:
    """Begin stage ``index`` of a running run, once: the job id is reserved on the run first."""
    if run.status != "running" or int(run.stage_index) != index:
        return "stale"
    if index >= len(RUN_STAGES):
        return "completed" if _finish_run(run, "completed", expected=("running",)) else "stale"
    stage = RUN_STAGES[index]
    if _limit(run, index) <= 0 and not run.stage_job_id:
        _advance(run, index, None, {"status": "skipped", "note": f"{stage.limit_field} is 0"})
        return "skipped"
    if stage.job_stage is None:
        return _run_inline(run, index)
    if not run.stage_job_id:
        job_id = new_id()

        def reserve(r: AutomationRun) -> bool:
            if r.status != "running" or int(r.stage_index) != index or r.stage_job_id:
                return False
            r.stage_job_id = job_id
            r.stages[index].update(status="running", job_id=job_id, started_at=iso(utcnow()))
            return True

        if not _mutate(run, reserve):
            if run.status != "running" or int(run.stage_index) != index or not run.stage_job_id:
                return "stale"
    return _create_stage_job(run, index)


def _create_stage_job(run: AutomationRun, index: int) -> str:
    from chalicelib.services import jobs

    stage = RUN_STAGES[index]
    assert stage.job_stage is not None and run.stage_job_id
    try:
        selection = _selection(run, index)
        job = jobs.create_job(run.account_id, run.site_id, stage.job_stage, selection, run_id=run.run_id,
                              check_credits=False, job_id=run.stage_job_id, user_id=run.created_by)
    except ApiError as exc:
        # items_claimed: other jobs (a person's) already work on everything this stage would take
        if exc.code in ("nothing_to_do", "items_claimed"):
            _advance(run, index, run.stage_job_id, {"status": "skipped", "note": exc.message})
            return "skipped"
        # Not a passing fault (a record gone, a module switched off...): retrying cannot help.
        run.stages[index]["status"] = "failed"
        if _finish_run(run, "failed", error=f"{stage.name} could not start: {exc.message}",
                       error_code=exc.code, expected=("running",)):
            return "failed"
        return "stale"
    if job.status in ("completed", "failed"):
        _stage_job_finished(run, job)
    return "started"


def _limit(run: AutomationRun, index: int) -> int:
    return int(run.config[RUN_STAGES[index].limit_field])


def _previous_job(run: AutomationRun, stage_name: str) -> str | None:
    for entry in run.stages:
        if entry["name"] == stage_name and entry.get("status") == "done":
            return entry.get("job_id")
    return None


def _done_items(run: AutomationRun, job_id: str | None) -> list[JobItem]:
    if not job_id:
        return []
    return list(JobItem.query(job_key(run.account_id, job_id), filter_condition=JobItem.status == "done"))


def _produced(run: AutomationRun, stage_name: str, key: str) -> list[str]:
    """Ids the run's earlier stage made (e.g. the task ids of its create_tasks job)."""
    return [i.result[key] for i in _done_items(run, _previous_job(run, stage_name)) if i.result.get(key)]


def _selection(run: AutomationRun, index: int) -> dict[str, Any]:
    """What a stage works on: what the run's previous stage made, else the site's waiting records."""
    name, limit = RUN_STAGES[index].name, _limit(run, index)
    if name == "cluster_keywords":
        return {"limit": limit}
    if name == "generate_ideas":
        return {"limit": limit, "ideas_per_cluster": 1}
    if name == "create_tasks":
        _approve_run_ideas(run)
        return {"limit": limit}
    if name == "generate_content":
        task_ids = _produced(run, "create_tasks", "task_id")[:limit]
        return {"task_ids": task_ids} if task_ids else {"limit": limit}
    if name in ("generate_image_prompts", "generate_images"):
        content_ids = _produced(run, "generate_content", "content_id")[:limit]
        return {"content_ids": content_ids} if content_ids else {"limit": limit}
    raise ValueError(name)


def _approve_run_ideas(run: AutomationRun) -> None:
    """The run's own ideas go on to tasks: it approves what its ideas stage made (pending ones)."""
    from chalicelib.models.planner import ContentIdea
    from chalicelib.models.site_records import join_key
    from chalicelib.services.planner import set_idea_status

    for item in _done_items(run, _previous_job(run, "generate_ideas")):
        for idea in ContentIdea.by_cluster_status.query(join_key(run.site_key, item.item_id, "pending")):
            try:
                set_idea_status(idea, "approved")
            except Conflict:
                continue  # changed meanwhile (approved, archived): leave it as the user set it


def _run_inline(run: AutomationRun, index: int) -> str:
    stage = RUN_STAGES[index]
    limit = _limit(run, index)
    content_ids = _produced(run, "generate_content", "content_id")[:limit]
    if stage.name == "review":
        outcome = _review(run, content_ids)
    else:
        outcome = _publish(run, content_ids)
    _advance(run, index, None, outcome)
    return "done"


def _review(run: AutomationRun, content_ids: list[str]) -> dict[str, Any]:
    from chalicelib.services import writer

    target = "approved" if run.config.get("auto_approve") else "review"
    done = failed = skipped = 0
    for content_id in content_ids:
        try:
            content = writer.get_content(run.account_id, run.site_id, content_id)
            if content.status == "draft":
                writer.set_content_status(content, "review")
            if target == "approved" and content.status == "review":
                writer.set_content_status(content, "approved")
            if content.status in ("review", "approved"):
                done += 1
            else:
                skipped += 1
        except (Conflict, NotFound):
            skipped += 1
        except ApiError:
            failed += 1
    note = ("articles approved (auto approve)" if target == "approved"
            else "articles wait for review (auto approve is off)")
    return {"status": "done", "total": len(content_ids), "done": done, "failed": failed, "skipped": skipped,
            "note": note}


def _publish(run: AutomationRun, content_ids: list[str]) -> dict[str, Any]:
    from chalicelib.services import publishing, writer

    if not run.config.get("auto_publish"):
        return {"status": "skipped", "total": 0, "note": "auto publish is off: approved articles wait for a person"}
    done = skipped = 0
    for content_id in content_ids:
        try:
            content = writer.get_content(run.account_id, run.site_id, content_id)
            if content.status != "approved":
                skipped += 1
                continue
            slotted = publishing.schedule_content(run.account_id, run.site_id, content_id)
            done, skipped = (done + 1, skipped) if slotted is not None else (done, skipped + 1)
        except (Conflict, NotFound):
            skipped += 1
    return {"status": "done", "total": len(content_ids), "done": done, "failed": 0, "skipped": skipped,
            "note": f"{done} article(s) given publishing slots"}


def _stage_job_finished(run: AutomationRun, job: Job) -> str:
    if job.status not in ("completed", "failed"):
        return "stale"
    if run.config.get("stop_on_error") and int(job.failed) > 0 and run.status == "running":
        return _fail_on_error(run, job.stage, None, f"{job.failed} item(s) of {job.stage} failed")
    totals = {"status": "done", **_job_totals(job)}
    return "advanced" if _advance(run, int(run.stage_index), job.job_id, totals) else "stale"


def _advance(run: AutomationRun, index: int, job_id: str | None, outcome: dict[str, Any]) -> bool:
    """Close stage ``index`` and move to the next, once; then start it (after the configured delay)."""
    now = utcnow()

    def change(r: AutomationRun) -> bool:
        if r.status != "running" or int(r.stage_index) != index or r.stage_job_id != job_id:
            return False
        entry = r.stages[index]
        entry.update({k: v for k, v in outcome.items() if k != "queued"}, finished_at=iso(now))
        entry["started_at"] = entry.get("started_at") or iso(now)
        r.credits_spent = sum(int(s.get("credits") or 0) for s in r.stages)
        r.stage_index = index + 1
        r.stage_job_id = None
        return True

    if not _mutate(run, change):
        return False
    from chalicelib.observability import metric

    metric("AutomationStagesFinished", 1, "Count", stage=RUN_STAGES[index].name)
    if index + 1 >= len(RUN_STAGES):
        _finish_run(run, "completed", expected=("running",))
    else:
        _send({"type": "start_stage", "run_id": run.run_id, "stage_index": index + 1}, run,
              delay=int(run.config.get("delay_between_operations") or 0))
    return True


def _item_failed(run: AutomationRun, message: dict[str, Any]) -> str:
    if run.status not in ACTIVE_STATUSES or run.stage_job_id != message.get("job_id"):
        return "stale"
    if run.config.get("stop_on_error") and run.status == "running":
        return _fail_on_error(run, message.get("stage", ""), message.get("item_id"), message.get("error", ""))
    error = {"stage": message.get("stage"), "item_id": message.get("item_id"), "error": message.get("error"),
             "code": message.get("error_code"), "at": iso(utcnow())}

    def change(r: AutomationRun) -> bool:
        if any(e.get("item_id") == error["item_id"] and e.get("stage") == error["stage"] for e in r.errors):
            return False  # the same failure delivered again
        r.errors = [*r.errors, error][-MAX_ERRORS_KEPT:]
        return True

    _mutate(run, change)
    return "recorded"


def _fail_on_error(run: AutomationRun, stage: str, item_id: str | None, error: str) -> str:
    where = f"item {item_id} of {stage}" if item_id else stage
    if run.stage_index < len(run.stages):
        run.stages[int(run.stage_index)]["status"] = "failed"
    if _finish_run(run, "failed", error=f"Stopped on error (stop_on_error): {where}: {error}",
                   error_code="stopped_on_error", expected=("running",)):
        _stop_job(run)
        return "failed"
    return "stale"


# --- the tick -----------------------------------------------------------------------------

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
    from chalicelib.services.activity import site_gate
    from chalicelib.services.sites import get_site

    gate = site_gate(account_id, site_id)
    if gate.gone:
        return "stale"  # being deleted: no more runs
    config = AutomationConfig.get(account_id, site_id, consistent_read=True)
    if not config.is_active or config.next_run_at is None or config.next_run_at > now:
        return "stale"
    site = get_site(account_id, site_id)
    following = next_after(config, site.time_zone, now)
    try:
        config.update(actions=[AutomationConfig.next_run_at.set(following)],
                      condition=AutomationConfig.next_run_at == config.next_run_at)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return "stale"  # another tick claimed this occurrence
        raise
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
    from chalicelib.services.activity import site_gate

    gate = site_gate(run.account_id, run.site_id)
    if gate.gone:
        return "stale"  # being deleted: the run goes with the site
    run = get_run(run.account_id, run.site_id, run.run_id, consistent=True)
    if run.status not in ACTIVE_STATUSES:
        return "stale"
    if run.deadline and run.deadline < now:
        limit = int(run.config.get("max_runtime") or 0)
        if _finish_run(run, "failed", error=f"The run passed its max runtime of {limit} s.",
                       error_code="max_runtime_exceeded"):
            _stop_job(run)
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
    job = _job(run, run.stage_job_id)
    if job is None:
        if run.updated_at and now - run.updated_at > STALL_AFTER:
            _create_stage_job(run, int(run.stage_index))
            return "mended"
        return "stale"
    if job.status in ("completed", "failed"):
        return "mended" if _stage_job_finished(run, job) == "advanced" else "stale"
    return "stale"


def run_view(run: AutomationRun) -> dict[str, Any]:
    stages = progress(run)
    current = RUN_STAGES[int(run.stage_index)].name if int(run.stage_index) < len(RUN_STAGES) else None
    live = sum(int(s.get("credits") or 0) for s in stages)
    return {"run_id": run.run_id, "site_id": run.site_id, "status": run.status, "trigger": run.trigger,
            "current_stage": current if run.status in ACTIVE_STATUSES else None, "stages": stages,
            "credits_spent": max(live, int(run.credits_spent or 0)), "estimate": run.estimate,
            "started_at": run.started_at, "finished_at": run.finished_at, "deadline": run.deadline,
            "error": run.error, "error_code": run.error_code, "errors": run.errors, "config": run.config,
            "created_at": run.created_at}
