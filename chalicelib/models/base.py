"""What every table shares: naming, region, on-demand billing, timestamps.

Each model declares ``Meta = table_meta("name")``; the resource registry collects the
models, and both the local stack and the cloud template create tables from them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pynamodb.attributes import Attribute, UTCDateTimeAttribute
from pynamodb.constants import MAP, NUMBER, STRING
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib import config
from chalicelib.models.connection import MAX_RETRY_ATTEMPTS, SharedClientModel
from chalicelib.timeutil import utcnow


def table_name(short_name: str) -> str:
    return f"{config.resource_prefix()}-{short_name}"


def table_meta(short_name: str, **extra: Any) -> type:
    """A PynamoDB ``Meta`` for the table ``<prefix>-<short_name>``.

    ``host`` is left unset on purpose: PynamoDB then honours ``AWS_ENDPOINT_URL``, which
    is how the local stack points the very same models at moto or DynamoDB Local.
    """
    attrs = {
        "table_name": table_name(short_name),
        "region": config.region(),
        "billing_mode": "PAY_PER_REQUEST",
        "max_retry_attempts": MAX_RETRY_ATTEMPTS,
        **extra,
    }
    return type("Meta", (), attrs)


def index_meta(index_name: str, projection: Any) -> type:
    return type("Meta", (), {"index_name": index_name, "projection": projection})


class TimestampedModel(SharedClientModel):
    """Adds created_at / updated_at; updated_at moves on every save and every update."""

    created_at = UTCDateTimeAttribute(default=utcnow)
    updated_at = UTCDateTimeAttribute(default=utcnow)

    def save(self, *args: Any, **kwargs: Any) -> Any:
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)

    def update(self, actions: Any, *args: Any, **kwargs: Any) -> Any:
        return super().update(stamped(type(self), actions), *args, **kwargs)


def stamped(model: type[Model], actions: Sequence[Action]) -> list[Action]:
    """``actions`` plus ``updated_at = now`` for a timestamped model that does not set it itself."""
    actions = list(actions)
    attr = getattr(model, "updated_at", None)
    if attr is None or any(_touches(action, "updated_at") for action in actions):
        return actions
    return [*actions, attr.set(utcnow())]


def _touches(action: Action, name: str) -> bool:
    path = action.values[0] if action.values else None
    return getattr(path, "path", [None])[0] == name


class FigureMapAttribute(Attribute[dict]):
    """A flat dict of numbers and strings, stored as a DynamoDB map (``M``), read as a plain dict.

    A map, not a JSON string, so one figure can be added to in place (``Content.cost["credits"].add(3)``)
    inside another write's transaction. A legacy JSON string (``JSONAttribute``) is still read.
    """

    attr_type = MAP

    def serialize(self, value: dict) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, item in (value or {}).items():
            if isinstance(item, bool) or not isinstance(item, (int, float, Decimal, str)):
                raise ValueError(f"{self.attr_name}.{key}: only numbers and strings, not {type(item).__name__}")
            out[key] = {STRING: item} if isinstance(item, str) else {NUMBER: str(item)}
        return out

    def deserialize(self, value: Any) -> dict:
        if isinstance(value, str):  # written by JSONAttribute before
            return json.loads(value) or {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            if NUMBER in item:
                number = Decimal(item[NUMBER])
                out[key] = int(number) if number == number.to_integral_value() else float(number)
            elif STRING in item:
                out[key] = item[STRING]
        return out

    def get_value(self, value: dict[str, Any]) -> Any:
        return value[STRING] if STRING in value else super().get_value(value)

