"""The Lambda handler of the deletions queue: one turn of a site's or sector's deletion per message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.messages import DeletionTurn
from chalicelib.observability import log_context
from chalicelib.registry import QueueDef

# Half the function's time for deleting: the rest covers the page in hand and queuing the next turn.
BUDGET_SHARE = 0.5


def deletion_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services import deletion

    def handle(message: DeletionTurn, receive_count: int) -> str:
        with log_context(account_id=message.account_id, target=message.target):
            return deletion.process(message, budget_seconds=queue.function_timeout * BUDGET_SHARE)

    return queue_worker(queue, handle)
