"""The Lambda handlers of the mail queue and of its dead letters: one e-mail per message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import registry
from chalicelib.events.sqs import queue_worker
from chalicelib.messages import MailMessage, UnsupportedMessage
from chalicelib.observability import log_context, logger, metric
from chalicelib.registry import QueueDef


def mail_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services import mail

    def handle(message: MailMessage, receive_count: int) -> str:
        # The message's data (one-time links) and address stay out of the log context.
        with log_context(account_id=message.account_id, mail_key=message.key, template=message.template):
            return mail.deliver(message)

    return queue_worker(queue, handle)


def mail_dead_letter_worker(queue: QueueDef) -> Callable[[Any], dict]:
    from chalicelib.services import mail

    work = registry.queue(str(queue.dead_letters_of))

    def handle(message: MailMessage, receive_count: int) -> str:
        with log_context(account_id=message.account_id, mail_key=message.key, template=message.template):
            return mail.fail_dead_letter(message, deliveries=work.max_receive_count)

    def unreadable(body: str, exc: UnsupportedMessage) -> str:
        # Unlike the other dead letters, a mail's body carries one-time links: it is not logged.
        logger.error("unreadable mail dead letter dropped", extra={"queue": queue.name, "error": str(exc)})
        metric("DeadLettersUnreadable", 1, "Count", queue=queue.key)
        return "unreadable"

    return queue_worker(queue, handle, unreadable=unreadable)
