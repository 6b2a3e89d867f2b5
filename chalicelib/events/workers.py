"""The Lambda handlers behind the queues and schedules, built from the registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker, stage_record_handler
from chalicelib.registry import QueueDef

# The generation stages: each queue's messages are JobItems processed by services.jobs.
STAGE_QUEUE_KEYS = frozenset({"cluster_keywords", "generate_ideas", "create_tasks", "generate_content",
                              "generate_image_prompts", "generate_images"})


def stage_worker(queue: QueueDef) -> Callable[[Any], dict]:
    return queue_worker(queue, stage_record_handler(queue.max_receive_count))
