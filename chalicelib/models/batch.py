"""Reading items of several tables in one round trip (BatchGetItem).

``Model.batch_get`` reads one table; ``get_many`` reads any items of any tables together, so
a request that needs its caller, account, switches and site pays one round trip for all.

    found = get_many([Key(User, account_id, user_id), Key(Account, account_id)])
    user = found[Key(User, account_id, user_id)]        # None: no such item
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.models import Model

MAX_KEYS = 100  # DynamoDB's limit for one BatchGetItem
UNPROCESSED_ATTEMPTS = 8


@dataclass(frozen=True)
class Key:
    """The key of one item: its model, hash key and (for a composite key) range key."""

    model: type[Model]
    hash_key: Any
    range_key: Any = None

    def serialized(self) -> dict[str, Any]:
        out = {}
        for attr, value in ((self.model._hash_key_attribute(), self.hash_key),
                            (self.model._range_key_attribute(), self.range_key)):
            if attr is not None:
                out[attr.attr_name] = {attr.attr_type: attr.serialize(value)}
        return out


def get_many(keys: Sequence[Key], *, consistent: bool = False) -> dict[Key, Model | None]:
    """Every item of ``keys`` (None where there is none), read in one BatchGetItem.

    Keys DynamoDB leaves unprocessed (throttling) are asked for again, with a short backoff.
    """
    wanted = list(dict.fromkeys(keys))
    if len(wanted) > MAX_KEYS:
        raise ValueError(f"{len(wanted)} keys; one BatchGetItem takes {MAX_KEYS}")
    found: dict[Key, Model | None] = dict.fromkeys(wanted)
    if not wanted:
        return found
    by_table: dict[str, list[Key]] = {}
    for key in wanted:
        by_table.setdefault(key.model.Meta.table_name, []).append(key)
    request = {table: {"Keys": [k.serialized() for k in table_keys], "ConsistentRead": consistent}
               for table, table_keys in by_table.items()}
    connection = wanted[0].model._get_connection().connection
    for attempt in range(UNPROCESSED_ATTEMPTS):
        data = connection.dispatch("BatchGetItem", {"RequestItems": request})
        for table, items in (data.get("Responses") or {}).items():
            _match(by_table[table], items, found)
        request = data.get("UnprocessedKeys") or {}
        if not request:
            return found
        time.sleep(random.uniform(0, min(0.5, 0.01 * 2 ** attempt)))
    raise RuntimeError("BatchGetItem kept leaving keys unprocessed")


def _match(keys: list[Key], items: list[dict[str, Any]], found: dict[Key, Model | None]) -> None:
    """Put each returned item (of one table) in the place of the key it answers."""
    model = keys[0].model
    names = [a.attr_name for a in (model._hash_key_attribute(), model._range_key_attribute()) if a is not None]
    by_identity = {_identity(k.serialized()): k for k in keys}
    for raw in items:
        key = by_identity[_identity({name: raw[name] for name in names})]
        found[key] = model.from_raw_data(raw)


def _identity(serialized: dict[str, Any]) -> tuple:
    return tuple(sorted((name, tuple(value.items())) for name, value in serialized.items()))
