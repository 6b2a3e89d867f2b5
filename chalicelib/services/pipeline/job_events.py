"""Fan-in: tell the automation run that started a job about its failed items and its end (via its queue)."""

from __future__ import annotations

from chalicelib import messages, registry
from chalicelib.messages import AutomationEvent
from chalicelib.models.jobs import Job


def _send(event: AutomationEvent) -> None:
    messages.send(registry.queue("automation_events"), [event])


def job_finished(job: Job) -> None:
    _send(AutomationEvent(type="job_finished", account_id=job.account_id, site_id=job.site_id, job_id=job.job_id,
                          run_id=job.run_id, stage=job.stage))


def item_failed(job: Job, item_id: str, error: str, error_code: str) -> None:
    _send(AutomationEvent(type="item_failed", account_id=job.account_id, site_id=job.site_id, job_id=job.job_id,
                          run_id=job.run_id, stage=job.stage, item_id=item_id, error=error[:500],
                          error_code=error_code))
