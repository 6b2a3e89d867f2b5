"""Queue an e-mail, and send it at most once per event key.

``enqueue`` renders the template once (a missing value fails the caller, not the worker) and
puts a ``MailMessage`` on the ``mail`` queue. ``deliver`` (the queue's worker) claims the
event's ``MailDelivery`` record with a conditional write before calling the provider and marks
it ``sent`` after, so SQS's at-least-once delivery never sends twice: a second delivery finds
the record sent (or claimed, its lease live, and comes back later). A provider that is down
leaves the record ``retrying`` and raises, so SQS delivers it again; a refusal for good (a bad
address) ends it ``failed`` with the provider's reason. A message whose worker died on every
delivery ends ``failed`` (``worker_died``) through the dead-letter consumer.
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import config, messages, registry
from chalicelib.messages import MailMessage
from chalicelib.models.conditions import conditional
from chalicelib.models.mail import MailDelivery
from chalicelib.observability import logger, metric
from chalicelib.services.mail import outbox, templates
from chalicelib.services.mail import providers as mail_providers
from chalicelib.services.mail.providers import Outgoing, Rejected, Unavailable
from chalicelib.timeutil import utcnow

QUEUE = "mail"
RETENTION_SECONDS = 90 * 24 * 3600  # the record outlives every redelivery of its message (DLQ: 14 days)
SENDING, SENT, RETRYING, FAILED = "sending", "sent", "retrying", "failed"


def enqueue(account_id: str, to: str, template: str, data: dict[str, str], key: str) -> None:
    """Send ``template`` filled with ``data`` to ``to``, once for ``key`` (unique in the account:
    name the event, e.g. ``invite:<id>:<n>``)."""
    templates.render(template, data)  # raises TemplateError now, while the caller can still tell
    message = MailMessage(account_id=account_id, key=key, to=to, template=template,
                          data={k: str(v) for k, v in data.items()})
    messages.send(registry.queue(QUEUE), [message])


def claim(message: MailMessage) -> bool:
    """Take the event's record for sending: True unless it was sent, failed for good, or another
    delivery holds it under a live lease."""
    now = _epoch(utcnow())
    lease = registry.queue(QUEUE).function_timeout + 30
    with conditional() as write:
        MailDelivery(message.account_id, message.key).update(
            actions=[MailDelivery.status.set(SENDING), MailDelivery.claimed_until.set(now + lease),
                     MailDelivery.attempts.add(1), MailDelivery.template.set(message.template),
                     MailDelivery.to.set(message.to), MailDelivery.expires_epoch.set(now + RETENTION_SECONDS),
                     MailDelivery.created_at.set(MailDelivery.created_at | utcnow()),
                     MailDelivery.error_code.remove(), MailDelivery.error.remove()],
            condition=(MailDelivery.key.does_not_exist() | (MailDelivery.status == RETRYING)
                       | ((MailDelivery.status == SENDING) & (MailDelivery.claimed_until < now))),
        )
    return write.held


def deliver(message: MailMessage) -> str:
    """Send one queued e-mail unless its key was sent already; returns what happened."""
    record = MailDelivery(message.account_id, message.key)
    if not claim(message):
        current = MailDelivery.get(message.account_id, message.key, consistent_read=True)
        if current.status == SENDING:  # another delivery is sending it: SQS brings this one back
            raise Unavailable(f"mail {message.key} is being sent by another delivery")
        metric("MailDuplicates", 1, "Count", template=message.template)
        return f"already {current.status}"

    outgoing = Outgoing(sender=config.mail_from(), to=message.to,
                        mail=templates.render(message.template, dict(message.data)), key=message.key)
    try:
        provider = mail_providers.configured()
        provider_message_id = provider.send(outgoing)
    except Rejected as exc:
        _end(record, FAILED, "mail_rejected", str(exc))
        logger.warning("mail rejected", extra={"template": message.template, "mail_key": message.key,
                                               "error": str(exc)})
        metric("MailRejected", 1, "Count", template=message.template)
        return FAILED
    except Unavailable as exc:
        _end(record, RETRYING, "mail_provider_unavailable", str(exc))
        raise
    record.update(actions=[MailDelivery.status.set(SENT), MailDelivery.provider.set(provider.name),
                           MailDelivery.provider_message_id.set(provider_message_id),
                           MailDelivery.sent_at.set(utcnow()), MailDelivery.claimed_until.set(0)])
    outbox.write(outgoing, provider=provider.name, provider_message_id=provider_message_id)
    metric("MailSent", 1, "Count", template=message.template)
    return SENT


def fail_dead_letter(message: MailMessage, *, deliveries: int) -> str:
    """The message's worker died on every delivery: its record ends failed, unless it was sent."""
    now = _epoch(utcnow())
    record = MailDelivery(message.account_id, message.key)
    with conditional() as write:
        record.update(
            actions=[MailDelivery.status.set(FAILED), MailDelivery.error_code.set("worker_died"),
                     MailDelivery.error.set(f"The mail worker stopped on each of {deliveries} deliveries."),
                     MailDelivery.template.set(message.template), MailDelivery.to.set(message.to),
                     MailDelivery.created_at.set(MailDelivery.created_at | utcnow()),
                     MailDelivery.expires_epoch.set(now + RETENTION_SECONDS)],
            condition=MailDelivery.key.does_not_exist() | (MailDelivery.status != SENT),
        )
    return FAILED if write.held else f"already {SENT}"


def get_delivery(account_id: str, key: str) -> MailDelivery | None:
    try:
        return MailDelivery.get(account_id, key, consistent_read=True)
    except MailDelivery.DoesNotExist:
        return None


def _end(record: MailDelivery, status: str, code: str, error: str) -> None:
    record.update(actions=[MailDelivery.status.set(status), MailDelivery.error_code.set(code),
                           MailDelivery.error.set(error[:500]), MailDelivery.claimed_until.set(0)])


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())
