"""The Lambda handlers of the dead-letter queues: account for the item each dead letter carried.

A dead letter is a message whose worker died (timed out, ran out of memory) on every one of
its deliveries, so nothing recorded an outcome: its item would stay ``running`` (a job item)
or ``publishing`` (an article) forever. The consumer fails the item with the reason
``worker_died``; the usual retry routes bring it back. A message whose item another worker
still holds with a live lease raises: it comes back after the DLQ's visibility timeout. A
dead letter is read with its work queue's message model (``QueueDef.message``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import registry
from chalicelib.events.sqs import queue_worker
from chalicelib.messages import (
    AccountEvent,
    DeletionTurn,
    PublishItem,
    StageItem,
    UnsupportedMessage,
    WebhookAttempt,
)
from chalicelib.observability import log_context, logger, metric
from chalicelib.registry import QueueDef


def _unreadable(queue: QueueDef) -> Callable[[str, UnsupportedMessage], str]:
    """A body no code can read names no item: log it whole (bodies carry ids only) and let it go."""

    def let_go(body: str, exc: UnsupportedMessage) -> str:
        logger.error("unreadable dead letter dropped",
                     extra={"queue": queue.name, "error": str(exc), "body": body[:2000]})
        metric("DeadLettersUnreadable", 1, "Count", queue=queue.key)
        return "unreadable"

    return let_go


def stage_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.pipeline import items

    work = registry.queue(str(queue.dead_letters_of))

    def handle(message: StageItem, receive_count: int) -> str:
        with log_context(account_id=message.account_id, job_id=message.job_id, stage=message.stage):
            return items.fail_dead_letter(message, deliveries=work.max_receive_count)

    return queue_worker(queue, handle, unreadable=_unreadable(queue))


def publish_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.publishing import worker

    work = registry.queue(str(queue.dead_letters_of))

    def handle(message: PublishItem, receive_count: int) -> str:
        with log_context(account_id=message.account_id, content_id=message.content_id):
            return worker.fail_dead_letter(message, deliveries=work.max_receive_count)

    return queue_worker(queue, handle, unreadable=_unreadable(queue))


def deletion_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    """A deletion turn whose worker died on every delivery: the deletion resumes from its saved step."""
    from chalicelib.services import deletion

    def handle(message: DeletionTurn, receive_count: int) -> str:
        with log_context(account_id=message.account_id, target=message.target):
            return deletion.resume_dead_letter(message)

    return queue_worker(queue, handle, unreadable=_unreadable(queue))


def account_event_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    """An account event whose fan-out died on every delivery: its record ends failed (worker_died)."""
    from chalicelib.services.notifications import fanout

    def handle(message: AccountEvent, receive_count: int) -> str:
        with log_context(account_id=message.account_id, event=message.event):
            return fanout.fail_dead_letter(message)

    return queue_worker(queue, handle, unreadable=_unreadable(queue))


def webhook_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    """A webhook attempt whose worker died on every delivery: the delivery ends failed (worker_died)."""
    from chalicelib.services.webhooks import delivery

    def handle(message: WebhookAttempt, receive_count: int) -> str:
        with log_context(account_id=message.account_id, endpoint_id=message.endpoint_id):
            return delivery.fail_dead_letter(message)

    return queue_worker(queue, handle, unreadable=_unreadable(queue))
