"""The Lambda handlers of account events: the fan-out worker, webhook deliveries, the groups' and the weekly
digest's ticks.

Their dead-letter consumers are in events.dead_letters, beside the others."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.events.sqs import queue_worker
from chalicelib.messages import AccountEvent, WebhookAttempt
from chalicelib.observability import log_context, logger
from chalicelib.registry import QueueDef


def account_event_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.notifications import fanout

    def handle(message: AccountEvent, receive_count: int) -> str:
        with log_context(account_id=message.account_id, event=message.event):
            return fanout.handle(message)

    return queue_worker(queue, handle)


def webhook_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services.webhooks import delivery

    def handle(message: WebhookAttempt, receive_count: int) -> str:
        with log_context(account_id=message.account_id, endpoint_id=message.endpoint_id):
            return delivery.process(message)

    return queue_worker(queue, handle)


def digest_tick(event: Any = None) -> dict[str, Any]:
    """EventBridge, hourly: e-mail the weekly digests that are due (a Query per shard; no Scan)."""
    from chalicelib.services.notifications import digest

    result = digest.tick()
    logger.info("weekly digest tick", extra={"result": result})
    return result


def groups_tick(event: Any = None) -> dict[str, Any]:
    """EventBridge, every 5 minutes: e-mail the notification groups whose window closed (no Scan)."""
    from chalicelib.services.notifications import fanout

    result = fanout.close_due_groups()
    logger.info("notification groups tick", extra={"result": result})
    return result
