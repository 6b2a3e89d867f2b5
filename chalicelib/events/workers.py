"""The Lambda handlers behind the queues and schedules, built from the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import handle_batch, stage_record_handler
from chalicelib.registry import QueueDef

# The generation stages: each queue's messages are JobItems processed by services.jobs.
STAGE_QUEUE_KEYS = frozenset({"cluster_keywords", "generate_ideas", "create_tasks", "generate_content",
                              "generate_image_prompts", "generate_images"})


def stage_worker(queue: QueueDef) -> Callable[[Any], dict]:
    handle_record = stage_record_handler(queue.max_receive_count)

    def handler(event: Any) -> dict:
        return handle_batch(event, handle_record)

    handler.__name__ = queue.handler_name
    handler.__doc__ = f"SQS worker: {queue.description}."
    return handler
