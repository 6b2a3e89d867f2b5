"""SQS batch handling shared by every stage worker: partial batch responses.

A record that fails is reported back in ``batchItemFailures`` (the event source mapping
has ReportBatchItemFailures), so one bad item never re-runs the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.observability import logger


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


def queue_worker(queue: Any, handle_record: Callable[[str, int], Any]) -> Callable[[Any], dict]:
    """The Lambda handler of ``queue`` (a QueueDef): its batches, each record through ``handle_record``."""

    def handler(event: Any) -> dict:
        return handle_batch(event, handle_record)

    handler.__name__ = queue.handler_name
    handler.__doc__ = f"SQS worker: {queue.description}."
    return handler


def stage_record_handler(max_receives: int) -> Callable[[str, int], str]:
    from chalicelib.services import jobs

    def handle(body: str, receive_count: int) -> str:
        message = jobs.parse_message(body)
        return jobs.process_message(message, receive_count=receive_count, max_receives=max_receives)

    return handle
