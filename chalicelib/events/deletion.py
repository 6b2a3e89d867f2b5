"""The Lambda handler of the deletions queue: one turn of a site's or sector's deletion per message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.registry import QueueDef

# Half the function's time for deleting: the rest covers the page in hand and queuing the next turn.
BUDGET_SHARE = 0.5


def deletion_record_handler(queue: QueueDef) -> Callable[[str, int], str]:
    from chalicelib.observability import log_context
    from chalicelib.services import deletion

    def handle(body: str, receive_count: int) -> str:
        message = deletion.parse_message(body)  # malformed: raises, ends in the DLQ for a look
        with log_context(account_id=message["account_id"], target=message["target"]):
            return deletion.process(message, budget_seconds=queue.function_timeout * BUDGET_SHARE)

    return handle


def deletion_worker(queue: QueueDef) -> Callable[[Any], dict]:
    return queue_worker(queue, deletion_record_handler(queue))
