"""A run's stages: start one (a job of the pipeline, or inline), close it, move to the next, once.

Each change goes through ``runs.save`` (conditional on the run's version), and each step
checks the run is still at the stage (and job) it was asked about, so a repeated or late
event changes nothing.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import ApiError, Conflict, NotFound
from chalicelib.ids import new_id
from chalicelib.messages import AutomationEvent
from chalicelib.models.automation import ACTIVE_STATUSES, AutomationRun
from chalicelib.models.jobs import Job, JobItem, job_key
from chalicelib.models.planner import ContentIdea
from chalicelib.models.site_records import join_key
from chalicelib.observability import metric
from chalicelib.services import account_events, event_names, modules, planner, writer
from chalicelib.services.automation.runs import (
    RUN_STAGES,
    finish_run,
    job_totals,
    save,
    send_start_stage,
    stop_job,
)
from chalicelib.services.pipeline import jobs
from chalicelib.services.pipeline.stages import get_stage
from chalicelib.services.publishing import scheduling
from chalicelib.timeutil import iso, utcnow

MAX_ERRORS_KEPT = 20


def start_stage(run: AutomationRun, index: int) -> str:
    """Begin stage ``index`` of a running run, once: the job id is reserved on the run first."""
    if run.status != "running" or int(run.stage_index) != index:
        return "stale"
    if index >= len(RUN_STAGES):
        return "completed" if finish_run(run, "completed", expected=("running",)) else "stale"
    stage = RUN_STAGES[index]
    if _limit(run, index) <= 0 and not run.stage_job_id:
        advance(run, index, None, {"status": "skipped", "note": f"{stage.limit_field} is 0"})
        return "skipped"
    module = get_stage(stage.name).module if stage.is_job else None
    if module and not run.stage_job_id and not modules.enabled_modules(run.account_id)[module]:
        advance(run, index, None, {"status": "skipped", "note": f"the {module} module is switched off"})
        return "skipped"
    if not stage.is_job:
        return _run_inline(run, index)
    if not run.stage_job_id:
        job_id = new_id()

        def reserve(r: AutomationRun) -> bool:
            if r.status != "running" or int(r.stage_index) != index or r.stage_job_id:
                return False
            r.stage_job_id = job_id
            r.stages[index].update(status="running", job_id=job_id, started_at=iso(utcnow()))
            return True

        if not save(run, reserve):
            if run.status != "running" or int(run.stage_index) != index or not run.stage_job_id:
                return "stale"
    return create_stage_job(run, index)


def create_stage_job(run: AutomationRun, index: int) -> str:
    """Create the job the run reserved for stage ``index`` (again: creating a reserved job is safe)."""
    stage = RUN_STAGES[index]
    assert stage.is_job and run.stage_job_id
    try:
        selection = _selection(run, index)
        job = jobs.create_job(run.account_id, run.site_id, stage.name, selection, run_id=run.run_id,
                              check_credits=False, job_id=run.stage_job_id, user_id=run.created_by)
    except ApiError as exc:
        # items_claimed: other jobs (a person's) already work on everything this stage would take
        if exc.code in ("nothing_to_do", "items_claimed"):
            advance(run, index, run.stage_job_id, {"status": "skipped", "note": exc.message})
            return "skipped"
        # Not a passing fault (a record gone, a module switched off...): retrying cannot help.
        run.stages[index]["status"] = "failed"
        if finish_run(run, "failed", error=f"{stage.name} could not start: {exc.message}",
                      error_code=exc.code, expected=("running",)):
            return "failed"
        return "stale"
    if job.status in ("completed", "failed"):
        stage_job_finished(run, job)
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
    if name in ("generate_image_prompts", "generate_images", "optimize_content", "link_content"):
        content_ids = _produced(run, "generate_content", "content_id")[:limit]
        return {"content_ids": content_ids} if content_ids else {"limit": limit}
    raise ValueError(name)


def _approve_run_ideas(run: AutomationRun) -> None:
    """The run's own ideas go on to tasks: it approves what its ideas stage made (pending ones)."""
    for item in _done_items(run, _previous_job(run, "generate_ideas")):
        for idea in ContentIdea.by_cluster_status.query(join_key(run.site_key, item.item_id, "pending")):
            try:
                planner.set_idea_status(idea, "approved")
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
    advance(run, index, None, outcome)
    return "done"


def _review(run: AutomationRun, content_ids: list[str]) -> dict[str, Any]:
    target = "approved" if run.config.get("auto_approve") else "review"
    done = failed = skipped = 0
    for content_id in content_ids:
        try:
            content = writer.get_content(run.account_id, run.site_id, content_id)
            if content.status == "draft":
                writer.set_content_status(content, "review")
                if target == "review":
                    account_events.emit(run.account_id, event_names.CONTENT_REVIEW,
                                        {"content_id": content_id, "title": content.title, "run_id": run.run_id},
                                        key=content_id, site_id=run.site_id)
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
    if not run.config.get("auto_publish"):
        return {"status": "skipped", "total": 0, "note": "auto publish is off: approved articles wait for a person"}
    done = skipped = 0
    for content_id in content_ids:
        try:
            content = writer.get_content(run.account_id, run.site_id, content_id)
            if content.status != "approved":
                skipped += 1
                continue
            slotted = scheduling.schedule_content(run.account_id, run.site_id, content_id)
            done, skipped = (done + 1, skipped) if slotted is not None else (done, skipped + 1)
        except (Conflict, NotFound):
            skipped += 1
    return {"status": "done", "total": len(content_ids), "done": done, "failed": 0, "skipped": skipped,
            "note": f"{done} article(s) given publishing slots"}


def stage_job_finished(run: AutomationRun, job: Job) -> str:
    """The job of the run's current stage is over: close the stage (or stop, with stop_on_error)."""
    if job.status not in ("completed", "failed"):
        return "stale"
    if run.config.get("stop_on_error") and int(job.failed) > 0 and run.status == "running":
        return _fail_on_error(run, job.stage, None, f"{job.failed} item(s) of {job.stage} failed")
    totals = {"status": "done", **job_totals(job)}
    return "advanced" if advance(run, int(run.stage_index), job.job_id, totals) else "stale"


def advance(run: AutomationRun, index: int, job_id: str | None, outcome: dict[str, Any]) -> bool:
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

    if not save(run, change):
        return False
    metric("AutomationStagesFinished", 1, "Count", stage=RUN_STAGES[index].name)
    if index + 1 >= len(RUN_STAGES):
        finish_run(run, "completed", expected=("running",))
    else:
        send_start_stage(run, index + 1, delay=int(run.config.get("delay_between_operations") or 0))
    return True


def item_failed(run: AutomationRun, event: AutomationEvent) -> str:
    """An item of the current stage's job failed: recorded on the run (or the run stops, with stop_on_error)."""
    if run.status not in ACTIVE_STATUSES or run.stage_job_id != event.job_id:
        return "stale"
    if run.config.get("stop_on_error") and run.status == "running":
        return _fail_on_error(run, event.stage or "", event.item_id, event.error or "")
    error = {"stage": event.stage, "item_id": event.item_id, "error": event.error, "code": event.error_code,
             "at": iso(utcnow())}

    def change(r: AutomationRun) -> bool:
        if any(e.get("item_id") == error["item_id"] and e.get("stage") == error["stage"] for e in r.errors):
            return False  # the same failure delivered again
        r.errors = [*r.errors, error][-MAX_ERRORS_KEPT:]
        return True

    save(run, change)
    return "recorded"


def _fail_on_error(run: AutomationRun, stage: str, item_id: str | None, error: str) -> str:
    where = f"item {item_id} of {stage}" if item_id else stage
    if run.stage_index < len(run.stages):
        run.stages[int(run.stage_index)]["status"] = "failed"
    if finish_run(run, "failed", error=f"Stopped on error (stop_on_error): {where}: {error}",
                  error_code="stopped_on_error", expected=("running",)):
        stop_job(run)
        return "failed"
    return "stale"
