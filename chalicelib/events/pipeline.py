"""The Lambda handler of every generation stage's queue: one job item per message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.messages import StageItem
from chalicelib.registry import QueueDef


def stage_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.pipeline import items

    def handle(message: StageItem, receive_count: int) -> str:
        return items.process_message(message, receive_count=receive_count, max_receives=queue.max_receive_count)

    return queue_worker(queue, handle)
