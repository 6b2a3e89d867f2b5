"""The Lambda handlers of the publisher: the publish queue's worker and the publishing tick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.registry import QueueDef


def publish_record_handler(max_receives: int) -> Callable[[str, int], str]:
    from chalicelib.observability import log_context
    from chalicelib.services import publishing

    def handle(body: str, receive_count: int) -> str:
        message = publishing.parse_message(body)  # malformed: raises, ends in the DLQ for a look
        with log_context(account_id=message["account_id"], content_id=message["content_id"]):
            return publishing.process_publish(message, receive_count=receive_count, max_receives=max_receives)

    return handle


def publish_worker(queue: QueueDef) -> Callable[[Any], dict]:
    return queue_worker(queue, publish_record_handler(queue.max_receive_count))


def tick(event: Any = None) -> dict[str, Any]:
    """EventBridge: slot approved content of every site, then queue what is due (no Scan)."""
    from chalicelib.observability import logger
    from chalicelib.services import publishing

    result = publishing.tick()
    logger.info("publishing tick", extra={"result": result})
    return result
