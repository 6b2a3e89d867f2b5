"""The Lambda handlers of automation: the automation_events queue's worker and the automation tick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.registry import QueueDef


def automation_record_handler() -> Callable[[str, int], str]:
    from chalicelib.observability import log_context
    from chalicelib.services import automation

    def handle(body: str, receive_count: int) -> str:
        message = automation.parse_message(body)  # malformed: raises, ends in the DLQ for a look
        with log_context(account_id=message["account_id"], run_id=message["run_id"]):
            return automation.handle_event(message)

    return handle


def automation_worker(queue: QueueDef) -> Callable[[Any], dict]:
    return queue_worker(queue, automation_record_handler())


def tick(event: Any = None) -> dict[str, Any]:
    """EventBridge: start the due runs, fail the ones past their max runtime, mend stalled ones (no Scan)."""
    from chalicelib.observability import logger
    from chalicelib.services import automation

    result = automation.tick()
    logger.info("automation tick", extra={"result": result})
    return result
