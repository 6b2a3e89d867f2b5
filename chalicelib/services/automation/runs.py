"""Automation runs: what a run walks through, reading one, and the writes every change to one goes through.

Every change to a run is read-decide-save conditional on its ``version`` (``save``, under the
data layer's one retry policy); ending a run releases the site's lock in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import messages, registry
from chalicelib.errors import Conflict, NotFound
from chalicelib.messages import AutomationEvent
from chalicelib.models.accounts import site_key
from chalicelib.models.automation import ACTIVE_STATUSES, AutomationConfig, AutomationRun
from chalicelib.models.jobs import Job
from chalicelib.models.transactions import ConditionsFailed, Transaction, optimistic
from chalicelib.services import account_events, event_names
from chalicelib.services.pipeline import jobs
from chalicelib.timeutil import utcnow

MAX_DELAY_SECONDS = 900  # SQS's longest message delay


@dataclass(frozen=True)
class RunStage:
    name: str  # a pipeline stage (chalicelib.registry.STAGE_NAMES) when ``is_job``
    limit_field: str
    is_job: bool  # runs as a job of the pipeline stage of that name; else done inline
    description: str


RUN_STAGES: tuple[RunStage, ...] = (
    RunStage("cluster_keywords", "clustering_limit", True, "keywords -> clusters"),
    RunStage("generate_ideas", "ideas_limit", True, "clusters -> ideas"),
    RunStage("create_tasks", "content_limit", True, "ideas -> tasks"),
    RunStage("generate_content", "content_limit", True, "tasks -> articles"),
    RunStage("generate_image_prompts", "image_limit", True, "articles -> image prompts"),
    RunStage("generate_images", "image_limit", True, "image prompts -> images"),
    RunStage("optimize_content", "optimize_limit", True, "articles -> optimized (optimizer module)"),
    RunStage("link_content", "link_limit", True, "articles -> internal links (linker module)"),
    RunStage("review", "content_limit", False, "articles -> review (approved with auto approve)"),
    RunStage("publish", "publish_limit", False, "approved articles -> publishing slots (with auto publish)"),
)


# --- reading -----------------------------------------------------------------------------

def get_run(account_id: str, site_id: str, run_id: str, *, consistent: bool = False) -> AutomationRun:
    try:
        return AutomationRun.get(site_key(account_id, site_id), run_id, consistent_read=consistent)
    except AutomationRun.DoesNotExist:
        raise NotFound("Automation run") from None


def job_of(run: AutomationRun, job_id: str) -> Job | None:
    try:
        return Job.get(run.site_key, job_id, consistent_read=True)
    except Job.DoesNotExist:
        return None


def job_totals(job: Job) -> dict[str, int]:
    done, failed, skipped = int(job.done), int(job.failed), int(job.skipped)
    return {"total": int(job.total), "done": done, "failed": failed, "skipped": skipped,
            "queued": max(0, int(job.total) - done - failed - skipped), "credits": int(job.credits_spent)}


def progress(run: AutomationRun) -> list[dict[str, Any]]:
    """Per-stage totals; the current stage's are read live from its job (one GetItem)."""
    stages = [dict(s) for s in run.stages]
    if run.stage_job_id and run.stage_index < len(stages) and stages[run.stage_index]["status"] == "running":
        job = job_of(run, run.stage_job_id)
        if job is not None:
            stages[run.stage_index].update(job_totals(job))
    return stages


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


# --- changing a run: read, decide, save on the version ------------------------------------

def save(run: AutomationRun, change: Callable[[AutomationRun], bool]) -> bool:
    """Apply ``change`` (returns False: nothing to do) and save on the version; re-read on a lost race."""
    tries = 0

    def attempt() -> bool:
        nonlocal tries
        if tries:  # the save lost a race: decide again on what the run is now
            run.refresh(consistent_read=True)
        tries += 1
        if not change(run):
            return False
        run.save()
        return True

    return optimistic(attempt, what="automation run")


def _set_final(run: AutomationRun, status: str, error: str | None, error_code: str | None,
               expected: tuple[str, ...]) -> bool:
    if run.status not in expected:
        return False
    run.status, run.finished_at, run.active_shard = status, utcnow(), None
    if error:
        run.error, run.error_code = error[:1000], error_code
    return True


def finish_run(run: AutomationRun, status: str, *, error: str | None = None, error_code: str | None = None,
               expected: tuple[str, ...] = ACTIVE_STATUSES) -> bool:
    """End the run and release the site's lock in one transaction. False if it is not in ``expected``."""

    def attempt() -> bool:
        if not _set_final(run, status, error, error_code, expected):
            return False
        tx = Transaction("end an automation run")
        tx.put(run, label="run")  # conditional on the version read, like every change to a run
        tx.update(AutomationConfig(run.account_id, run.site_id), [AutomationConfig.active_run_id.remove()],
                  condition=AutomationConfig.active_run_id == run.run_id, label="lock")
        try:
            tx.commit()
        except ConditionsFailed:
            run.refresh(consistent_read=True)
            config = AutomationConfig.get(run.account_id, run.site_id, consistent_read=True)
            if config.active_run_id != run.run_id and run.status in expected:
                # The lock is not ours (it was released already): end the run on its own.
                return save(run, lambda r: _set_final(r, status, error, error_code, expected))
            raise  # the run changed meanwhile: decide again on what it is now
        return True

    ended = optimistic(attempt, what="automation run")
    if run.status == status and status in _RUN_EVENTS:
        # Also when this call found the run ended already (a retried worker): the event's key
        # makes a second emission a no-op, and a first one lost to a crash is sent now.
        account_events.emit(run.account_id, _RUN_EVENTS[status],
                            {"run_id": run.run_id, "error": run.error, "error_code": run.error_code,
                             "credits_spent": int(run.credits_spent or 0), "trigger": run.trigger},
                            key=run.run_id, site_id=run.site_id)
    return ended


_RUN_EVENTS = {"completed": event_names.RUN_COMPLETED, "failed": event_names.RUN_FAILED}


def send_start_stage(run: AutomationRun, index: int, *, delay: int = 0) -> None:
    """Queue the start of stage ``index`` (after ``delay`` seconds, at most SQS's longest delay)."""
    event = AutomationEvent(type="start_stage", account_id=run.account_id, site_id=run.site_id, run_id=run.run_id,
                            stage_index=index)
    messages.send(registry.queue("automation_events"), [event],
                  delay_seconds=min(MAX_DELAY_SECONDS, int(delay)) if delay > 0 else 0)


def stop_job(run: AutomationRun) -> None:
    """Cancel the job of the run's current stage, if it has one still running."""
    if not run.stage_job_id:
        return
    try:
        jobs.cancel_job(run.account_id, run.site_id, run.stage_job_id)
    except (Conflict, NotFound):
        pass  # it had finished already


def illegal(run: AutomationRun, wanted: str) -> Conflict:
    return Conflict(f"The run is {run.status}; it cannot become {wanted}.", code="illegal_transition",
                    details={"current_status": run.status})
