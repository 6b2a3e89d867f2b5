"""SQS batch handling shared by every queue worker: each body parsed once, partial batch responses.

A record's body is read into its queue's message model (``QueueDef.message``) here, and only
here: a handler receives the typed message. A record that fails is reported back in
``batchItemFailures`` (the event source mapping has ReportBatchItemFailures), so one bad item
never re-runs the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import messages
from chalicelib.messages import Message, UnsupportedMessage
from chalicelib.observability import logger
from chalicelib.registry import QueueDef

Handle = Callable[[Any, int], Any]  # (the queue's message, its receive count) -> an outcome
Unreadable = Callable[[str, UnsupportedMessage], Any]


def _as_dict(event: Any) -> dict[str, Any]:
    return event.to_dict() if hasattr(event, "to_dict") else event


def handle_batch(event: Any, handle_record: Callable[[str, int], Any]) -> dict[str, list[dict[str, str]]]:
    """Call ``handle_record(body, receive_count)`` per record; report the ones that raised."""
    # Imported here: the batch utility costs ~100 ms of import, paid by workers only.
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    def record_handler(record: SQSRecord) -> Any:
        receive_count = int(record.attributes.approximate_receive_count or 1)
        return handle_record(record.body, receive_count)

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(event=_as_dict(event), record_handler=record_handler,
                                        processor=processor, context=None)
    failures = response.get("batchItemFailures", [])
    if failures:
        logger.info("batch had failures", extra={"failed": len(failures)})
    return {"batchItemFailures": failures}


def queue_worker(queue: QueueDef, handle: Handle, *, unreadable: Unreadable | None = None) -> Callable[[Any], dict]:
    """The Lambda handler of ``queue``: each record's body read into ``queue.message``, then ``handle``.

    A body the model refuses raises (the record is retried, then dead-lettered for a look),
    unless ``unreadable`` takes it: a dead-letter queue has nowhere further to send it.
    """

    def handle_record(text: str, receive_count: int) -> Any:
        try:
            message: Message = messages.parse(queue.message, text)
        except UnsupportedMessage as exc:
            if unreadable is None:
                raise
            return unreadable(text, exc)
        return handle(message, receive_count)

    def handler(event: Any) -> dict:
        return handle_batch(event, handle_record)

    handler.__name__ = queue.handler_name
    handler.__doc__ = f"SQS worker: {queue.description}."
    return handler
