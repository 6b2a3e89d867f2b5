"""Every message the product puts on a queue: one envelope version, one way to send, one way to read.

A body is a JSON object carrying ``"v": VERSION``. ``send`` writes bodies to a registry queue
in batches of 10 (SQS's limit per call), sends again the entries SQS reports as ``Failed``
when the failure is SQS's (``SenderFault`` false: throttling, an internal error), and raises
``SendFailed`` for what is still refused: a message is never dropped silently. ``parse``
reads a body back and refuses, by name, a version this code does not know (a message from a
newer deployment, or one written by hand), so it ends in the dead-letter queue for a look
instead of being half understood.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from chalicelib import aws, registry

VERSION = 1
SQS_BATCH = 10
SEND_ATTEMPTS = 4


class SendFailed(RuntimeError):
    """SQS refused messages: the caller's work must not be reported as queued."""


class UnsupportedMessage(ValueError):
    """A body this code cannot read: not JSON, not an object, an unknown version or a missing field."""


def body(fields: dict[str, Any]) -> str:
    """The JSON of one message: ``fields`` in the current envelope."""
    return json.dumps({"v": VERSION, **fields})


def send(queue_key: str, messages: Sequence[dict[str, Any]], *, delay_seconds: int = 0) -> int:
    """Put ``messages`` on the registry queue ``queue_key``; returns how many were sent."""
    if not messages:
        return 0
    url = aws.queue_url(registry.queue(queue_key).name)
    sqs = aws.client("sqs")
    for start in range(0, len(messages), SQS_BATCH):
        pending = {str(n): body(m) for n, m in enumerate(messages[start:start + SQS_BATCH])}
        for attempt in range(SEND_ATTEMPTS):
            entries = [{"Id": i, "MessageBody": b, **({"DelaySeconds": delay_seconds} if delay_seconds else {})}
                       for i, b in pending.items()]
            failed = sqs.send_message_batch(QueueUrl=url, Entries=entries).get("Failed") or []
            if not failed:
                break
            ours = [f for f in failed if f.get("SenderFault")]
            if ours:  # a bad message: sending it again changes nothing
                raise SendFailed(f"SQS refused {len(ours)} message(s) for {queue_key}: "
                                 f"{ours[0].get('Code')}: {ours[0].get('Message')}")
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
            if attempt < SEND_ATTEMPTS - 1:
                time.sleep(0.05 * 2 ** attempt)
        else:
            raise SendFailed(f"SQS kept refusing {len(pending)} message(s) for {queue_key} "
                             f"after {SEND_ATTEMPTS} attempts")
    return len(messages)


def parse(text: str, required: Sequence[str]) -> dict[str, Any]:
    """A message body as a dict, its version checked and ``required`` fields non-empty strings."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise UnsupportedMessage("the message is not JSON") from None
    if not isinstance(data, dict):
        raise UnsupportedMessage("the message is not a JSON object")
    version = data.get("v")
    if version != VERSION:
        raise UnsupportedMessage(f"message version {version!r} is not supported: this code reads version {VERSION}")
    for name in required:
        if not isinstance(data.get(name), str) or not data[name]:
            raise UnsupportedMessage(f"the message lacks {name}")
    return data
