"""The Lambda handlers of the publisher: the publish queue's worker and the publishing tick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.messages import PublishItem
from chalicelib.observability import log_context, logger
from chalicelib.registry import QueueDef


def publish_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.publishing import worker

    def handle(message: PublishItem, receive_count: int) -> str:
        with log_context(account_id=message.account_id, content_id=message.content_id):
            return worker.process_publish(message, receive_count=receive_count,
                                          max_receives=queue.max_receive_count)

    return queue_worker(queue, handle)


def tick(event: Any = None) -> dict[str, Any]:
    """EventBridge: slot approved content of every site, then queue what is due (no Scan)."""
    from chalicelib.services.publishing import tick as publishing_tick

    result = publishing_tick.tick()
    logger.info("publishing tick", extra={"result": result})
    return result
