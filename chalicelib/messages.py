"""Every message the product puts on a queue: one model per kind, one way to send, one way to read.

Each queue of the registry declares its message model (``QueueDef.message``): a stage's job
item, a publish, an automation event, a deletion's turn. A body is the model's JSON, carrying
``"v": VERSION``. ``send`` writes models to their queue in batches of 10 (SQS's limit per
call), refuses a model the queue does not carry or a version this code does not write, sends
again the entries SQS reports as ``Failed`` when the failure is SQS's (``SenderFault`` false:
throttling, an internal error), and raises ``SendFailed`` for what is still refused: a message
is never dropped silently. ``parse`` (called once, by the queue worker) reads a body into the
queue's model and refuses, by name, a version this code does not know (a message from a newer
deployment, or one written by hand), so it ends in the dead-letter queue for a look instead of
being half understood.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StrictInt, StringConstraints, ValidationError, model_validator

from chalicelib import aws

if TYPE_CHECKING:
    from chalicelib.registry import QueueDef

VERSION = 1
SQS_BATCH = 10
SEND_ATTEMPTS = 4

# An id in a message: a non-empty string, never coerced from a number.
Id = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=200)]


class SendFailed(RuntimeError):
    """SQS refused messages: the caller's work must not be reported as queued."""


class UnsupportedMessage(ValueError):
    """A body this code cannot read: not JSON, not an object, an unknown version or a missing field."""


class Message(BaseModel):
    """The envelope every message shares: its version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    v: int = VERSION


class StageItem(Message):
    """One job item of a generation stage (services.pipeline): the queue is the stage's."""

    stage: Id
    account_id: Id
    site_id: Id
    job_id: Id
    item_id: Id


class PublishItem(Message):
    """Publish one content item to its site's WordPress (services.publishing)."""

    account_id: Id
    site_id: Id
    content_id: Id


class AutomationEvent(Message):
    """Advance an automation run (services.automation): start a stage, or a job of it finished or
    failed an item (sent by the pipeline, services.pipeline.job_events)."""

    type: Literal["start_stage", "job_finished", "item_failed"]
    account_id: Id
    site_id: Id
    run_id: Id
    stage_index: StrictInt | None = None  # start_stage
    job_id: Id | None = None  # job_finished, item_failed
    stage: str | None = None
    item_id: str | None = None  # item_failed
    error: str | None = None
    error_code: str | None = None

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> AutomationEvent:
        needed = {"start_stage": "stage_index", "job_finished": "job_id", "item_failed": "job_id"}[self.type]
        if getattr(self, needed) is None:
            raise ValueError(f"a {self.type} event carries {needed}")
        return self


class DeletionTurn(Message):
    """One turn of a site's or sector's deletion (services.deletion); ``after``: the turns before it."""

    account_id: Id
    target: Id
    after: StrictInt = 0


class MailMessage(Message):
    """One e-mail to send (services.mail): a template of the package and its data, sent at most
    once per ``key`` within the account. ``data`` may carry one-time links: never logged."""

    account_id: Id
    key: Id
    to: Annotated[str, StringConstraints(strict=True, min_length=3, max_length=320)]
    template: Id
    data: dict[str, str] = {}


M = TypeVar("M", bound=Message)


def body(message: Message) -> str:
    """The JSON of one message (fields left unset are left out)."""
    return message.model_dump_json(exclude_none=True)


def send(queue: QueueDef, messages: Sequence[Message], *, delay_seconds: int = 0) -> int:
    """Put ``messages`` on ``queue``; returns how many were sent."""
    if not messages:
        return 0
    for message in messages:
        if not isinstance(message, queue.message):
            raise TypeError(f"{queue.key} carries {queue.message.__name__}, not {type(message).__name__}")
        if message.v != VERSION:
            raise ValueError(f"this code writes message version {VERSION}, not {message.v}")
    url = aws.queue_url(queue.name)
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
                raise SendFailed(f"SQS refused {len(ours)} message(s) for {queue.key}: "
                                 f"{ours[0].get('Code')}: {ours[0].get('Message')}")
            pending = {f["Id"]: pending[f["Id"]] for f in failed}
            if attempt < SEND_ATTEMPTS - 1:
                time.sleep(0.05 * 2 ** attempt)
        else:
            raise SendFailed(f"SQS kept refusing {len(pending)} message(s) for {queue.key} "
                             f"after {SEND_ATTEMPTS} attempts")
    return len(messages)


def parse(model: type[M], text: str) -> M:
    """A message body as ``model``, its version checked first; anything else is UnsupportedMessage."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise UnsupportedMessage("the message is not JSON") from None
    if not isinstance(data, dict):
        raise UnsupportedMessage("the message is not a JSON object")
    version = data.get("v")
    if version != VERSION:
        raise UnsupportedMessage(f"message version {version!r} is not supported: this code reads version {VERSION}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise UnsupportedMessage(_reason(exc)) from None


def _reason(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if not error["loc"]:  # a rule of the whole message
        return str(error["msg"]).removeprefix("Value error, ")
    name = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing" or (error["type"] == "string_too_short" and not error.get("input")):
        return f"the message lacks {name}"
    return f"the message's {name}: {error['msg']}"
