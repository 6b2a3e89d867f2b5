"""What Lambda would hand a function: the registered handler, a context object, event shapes.

Shared by the worker loop (SQS) and the clock (EventBridge schedules). Handlers are looked
up on the Chalice app exactly as the cloud wires them: a handler counts only if the app has
registered an event source of the right kind under that name.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, SQSEventConfig

# moto's fixed account id; any 12 digits would do locally.
LOCAL_ACCOUNT_ID = "123456789012"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    """The attributes and method of Lambda's context object that handlers and Powertools read."""

    function_name: str
    timeout_seconds: int = 300
    memory_limit_in_mb: int = 512
    region: str = "us-east-1"
    account_id: str = LOCAL_ACCOUNT_ID
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/{self.aws_request_id}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class AppHandlers:
    """The Chalice app and its registered event handlers, from an app module or an app object."""

    def __init__(self, app_or_module: ModuleType | Chalice) -> None:
        self.module: ModuleType | None = None
        if isinstance(app_or_module, Chalice):
            self.app = app_or_module
        else:
            self.module = app_or_module
            app = getattr(app_or_module, "app", None)
            if not isinstance(app, Chalice):
                app = next((v for v in vars(app_or_module).values() if isinstance(v, Chalice)), None)
            if app is None:
                raise TypeError(f"{app_or_module!r} holds no Chalice app")
            self.app = app

    @property
    def stage(self) -> str:
        from chalicelib import config

        return config.stage()

    def function_name(self, handler_name: str) -> str:
        # The name `chalice deploy` gives the Lambda function: <app>-<stage>-<handler>.
        return f"{self.app.app_name}-{self.stage}-{handler_name}"

    def _handler(self, name: str) -> Handler | None:
        handler = getattr(self.module, name, None) if self.module is not None else None
        if handler is None:
            handler = self.app.handler_map.get(name)
        return handler if callable(handler) else None

    def sqs_handler(self, name: str) -> tuple[Handler, SQSEventConfig] | None:
        for source in self.app.event_sources:
            if isinstance(source, SQSEventConfig) and source.name == name:
                handler = self._handler(name)
                return (handler, source) if handler is not None else None
        return None

    def schedule_handler(self, name: str) -> tuple[Handler, ScheduledEventConfig] | None:
        for source in self.app.event_sources:
            if isinstance(source, ScheduledEventConfig) and source.name == name:
                handler = self._handler(name)
                return (handler, source) if handler is not None else None
        return None


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """An SQS API message attribute in the shape Lambda puts in the event (camelCase, base64)."""

    def b64(data: bytes | str) -> str:
        return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()

    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues", [])],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = b64(value["BinaryValue"])
    return out


def sqs_record(message: dict[str, Any], *, queue_arn: str, region: str) -> dict[str, Any]:
    """One record of an SQS event, from a ReceiveMessage result, as Lambda builds it."""
    body = message.get("Body", "")
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {k: _message_attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def scheduled_event(*, rule_name: str, region: str, when: str, account_id: str = LOCAL_ACCOUNT_ID) -> dict[str, Any]:
    """The event EventBridge sends a target of a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": when,
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account_id}:rule/{rule_name}"],
        "detail": {},
    }
