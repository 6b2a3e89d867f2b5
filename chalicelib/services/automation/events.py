"""The automation_events queue's messages: start a stage, a stage's job finished, an item of it failed."""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.messages import AutomationEvent
from chalicelib.observability import logger
from chalicelib.services.activity import site_gate
from chalicelib.services.automation.advance import item_failed, stage_job_finished, start_stage
from chalicelib.services.automation.runs import get_run, job_of


def handle_event(event: AutomationEvent) -> str:
    gate = site_gate(event.account_id, event.site_id)
    if gate.gone:
        return "site_gone"  # being deleted: its runs go with it
    if not gate.open:
        return "held"  # deactivated: the run waits; the tick mends it once the site is active
    try:
        run = get_run(event.account_id, event.site_id, event.run_id, consistent=True)
    except NotFound:
        logger.warning("event for a missing automation run; dropped", extra={"run_id": event.run_id})
        return "missing"
    if event.type == "start_stage":
        return start_stage(run, int(event.stage_index or 0))
    if event.type == "job_finished":
        job = job_of(run, str(event.job_id))
        return stage_job_finished(run, job) if job is not None else "missing"
    return item_failed(run, event)
