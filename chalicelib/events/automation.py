"""The Lambda handlers of automation: the automation_events queue's worker and the automation tick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.messages import AutomationEvent
from chalicelib.observability import log_context, logger
from chalicelib.registry import QueueDef


def automation_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.automation import events

    def handle(message: AutomationEvent, receive_count: int) -> str:
        with log_context(account_id=message.account_id, run_id=message.run_id):
            return events.handle_event(message)

    return queue_worker(queue, handle)


def tick(event: Any = None) -> dict[str, Any]:
    """EventBridge: start the due runs, fail the ones past their max runtime, mend stalled ones (no Scan)."""
    from chalicelib.services.automation import tick as automation_tick

    result = automation_tick.tick()
    logger.info("automation tick", extra={"result": result})
    return result
