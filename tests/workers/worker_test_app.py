"""A test-only Chalice app: one SQS handler and one schedule, named as the registry expects.

The real app registers no queue or schedule handlers yet, so the worker loop and the clock
are proven on this one. Bodies steer the SQS handler:
``fail...`` is reported in batchItemFailures, ``raise-once:<tag>`` makes the whole
invocation raise the first time that tag is seen, ``bad-id`` answers with an itemIdentifier
that is not in the batch; anything else succeeds.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice, Rate

from chalicelib.registry import queue

app = Chalice(app_name="worker-test-app")

CLUSTER = queue("cluster_keywords")

events: list[dict[str, Any]] = []
contexts: list[Any] = []
ticks: list[dict[str, Any]] = []
_seen_raise_tags: set[str] = set()
_lock = threading.Lock()


def reset() -> None:
    with _lock:
        events.clear()
        contexts.clear()
        ticks.clear()
        _seen_raise_tags.clear()


@app.on_sqs_message(queue=CLUSTER.name, batch_size=CLUSTER.batch_size)
def worker_cluster_keywords(event: Any) -> dict[str, Any]:
    raw = event.to_dict()
    with _lock:
        events.append(raw)
        contexts.append(event.context)
    failures = []
    for record in raw["Records"]:
        body = record["body"]
        if body.startswith("raise-once:"):
            with _lock:
                first = body not in _seen_raise_tags
                _seen_raise_tags.add(body)
            if first:
                raise RuntimeError(f"transient failure for {body}")
        if body == "bad-id":
            failures.append({"itemIdentifier": "not-a-message-id"})
        elif body.startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


@app.schedule(Rate(5, unit=Rate.MINUTES))
def tick_publishing(event: Any) -> dict[str, Any]:
    raw = event.to_dict()
    with _lock:
        ticks.append(raw)
    return {"ticked": raw["id"]}


def not_registered_anywhere(event: Any) -> None:
    """A module function named like a handler but never registered: must be ignored."""


worker_generate_ideas = not_registered_anywhere
